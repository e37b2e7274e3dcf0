import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Template } from '../pipeline/types.ts';
import type { Gallery } from './gallery.ts';
import { openGallery } from './index.ts';
import { searchConfigSchema, type SearchConfig } from './search/search-config.ts';
import {
  DIMENSION,
  ReferenceGallery,
  populate,
  probes,
  rebuiltPartitions,
  recordingLogger,
  specCipher,
  temporaryDataDir,
} from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

// What the SQLite store adds to the gallery contract (gallery.spec.ts): partitions above
// search.approximateAbove are searched through inverted lists in the search workers.

const TOP_KS = [1, 5, 20, 1000];
// Trained lists need 32 templates each per shard: at 300 templates a shard of 150 gets 4 lists.
const LISTS_REACHED = 300;

let dataDir: string;
let removeDataDir: () => void;
let gallery: Gallery | undefined;
let reference: ReferenceGallery;

beforeEach(() => {
  ({ dataDir, remove: removeDataDir } = temporaryDataDir());
  reference = new ReferenceGallery();
});

afterEach(async () => {
  await gallery?.close();
  gallery = undefined;
  removeDataDir();
});

async function openWith(search: Partial<SearchConfig>) {
  await gallery?.close();
  const { logger, entries } = recordingLogger();
  gallery = await openGallery({ dataDir, flushDelayMs: 60_000, logger, cipher: specCipher(), dimension: DIMENSION, search: searchConfigSchema.parse(search) });
  return { gallery, entries };
}

async function expectAllSearches(partitions: readonly string[], probeSet: readonly Template[]): Promise<void> {
  for (const partition of partitions) {
    for (const probe of probeSet) for (const topK of TOP_KS) await reference.expectSearch(gallery!, partition, probe, topK);
    expect(await gallery!.templateCounts(partition)).toEqual({ sqlite: reference.templateCount(partition), index: reference.templateCount(partition) });
  }
  expect(await gallery!.isHealthy()).toBe(true);
}

describe('approximate search (inverted lists above search.approximateAbove)', () => {
  it('trains lists when a partition reaches the size, deletes from them, answers exactly with every list scanned, and reloads them after a restart', async () => {
    // probeFraction 1: every list is scanned, so the answers must equal brute force
    const settings = { approximateAbove: LISTS_REACHED, probeFraction: 1, listsPerShard: 4 };
    const { gallery: opened, entries } = await openWith(settings);
    const random = seededRandom(31);
    const identities = await populate(opened, reference, random, { partitions: ['big', 'forced'], subjectsPerPartition: 160, maxTemplatesPerSubject: 4 });
    expect(reference.templateCount('big')).toBeGreaterThan(LISTS_REACHED);
    expect(entries.filter((entry) => entry.msg.startsWith('training inverted lists')).map((entry) => entry.partition)).toEqual(['big', 'forced']);
    // deletes after training: each moves one vector within its list
    for (const subjectId of reference.subjectIds('big').filter((_, i) => i % 7 === 0)) {
      expect(await opened.deleteSubject('big', subjectId)).toBe(true);
      reference.deleteSubject('big', subjectId);
    }
    await expectAllSearches(['big'], probes(random, identities, 6));

    const reopened = await openWith({ ...settings, exactPartitions: ['forced'] });
    expect(reopened.entries.find((entry) => entry.msg === 'loaded search index' && entry.partition === 'big')).toMatchObject({ lists: 4 });
    // configured exact now: the saved lists are the wrong kind, so it is rebuilt with one list per shard
    expect(rebuiltPartitions(reopened.entries)).toEqual(['forced']);
    await expectAllSearches(['big', 'forced'], probes(random, identities, 6));
  });

  it('scans fewer lists with a lower probeFraction and still finds a probe equal to an enrolled template', async () => {
    const settings = { approximateAbove: 1, probeFraction: 0.25, listsPerShard: 8 };
    const { gallery: opened } = await openWith(settings);
    await populate(opened, reference, seededRandom(32), { partitions: ['wide'], subjectsPerPartition: 600, maxTemplatesPerSubject: 1 });
    const reopened = await openWith(settings);
    // Enrolled one at a time from the first template, the partition was too small to train; the restart builds the lists.
    expect(rebuiltPartitions(reopened.entries)).toEqual(['wide']);
    expect(reopened.entries.find((entry) => entry.msg === 'built search index')).toMatchObject({ partition: 'wide', lists: 8 });
    // Such a probe lies in its template's own list, the list nearest to it: always scanned.
    for (const subjectId of reference.subjectIds('wide').slice(0, 40)) {
      const [template] = reference.templates('wide', subjectId)!;
      expect((await reopened.gallery.search('wide', template, 1))[0]).toEqual({ subjectId, similarity: expect.closeTo(1, 5) });
    }
  });
});
