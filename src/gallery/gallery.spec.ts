import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quietLogger } from '../../test/helpers/quiet-logger.ts';
import type { Gallery } from './gallery.ts';
import { describeGalleryContract } from '../../test/helpers/gallery-contract.ts';
import { filesUnder, openTestGallery, randomUnitVector, temporaryDataDir } from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

let dataDir: string;
let removeDataDir: () => void;

describe('SQLite + FAISS', () => {
  describeGalleryContract({
    create: async () => {
      ({ dataDir, remove: removeDataDir } = temporaryDataDir());
      return openTestGallery(dataDir, quietLogger);
    },
    open: () => openTestGallery(dataDir, quietLogger),
    stored: async () => filesUnder(dataDir),
    destroy: async () => removeDataDir(),
  });
});

describe('SQLite + FAISS files', () => {
  let gallery: Gallery;

  beforeEach(async () => {
    ({ dataDir, remove: removeDataDir } = temporaryDataDir());
    gallery = await openTestGallery(dataDir, quietLogger);
  });

  afterEach(async () => {
    await gallery.close();
    removeDataDir();
  });

  it('saves a 64-character partition name as the index file name', async () => {
    await gallery.enrol('a'.repeat(64), 's', { template: randomUnitVector(seededRandom(10)), modelId: 'test-model', quality: 0.9, source: 'enrol' });
    await gallery.flush();
    expect(existsSync(join(dataDir, 'indexes', `${'a'.repeat(64)}.0.ivf`))).toBe(true);
  });
});
