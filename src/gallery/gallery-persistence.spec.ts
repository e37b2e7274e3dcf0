import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Template } from '../pipeline/types.ts';
import type { Gallery } from './gallery.ts';
import {
  ReferenceGallery,
  SPEC_TEMPLATE_KEY,
  WARN,
  loadedPartitions,
  openTestGallery,
  populate,
  probes,
  randomUnitVector,
  rebuiltPartitions,
  recordingLogger,
  temporaryDataDir,
} from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

const PARTITIONS = ['alpha', 'beta'];

let dataDir: string;
let removeDataDir: () => void;
let reference: ReferenceGallery;
let probeSet: Template[];
let open: Gallery[];

const indexFile = (partition: string) => join(dataDir, 'indexes', `${partition}.faiss`);
const sidecarFile = (partition: string) => join(dataDir, 'indexes', `${partition}.json`);

/** Opens the data directory, remembering the gallery so afterEach closes it, and what it logged. */
async function reopen(flushDelayMs?: number) {
  const { logger, entries } = recordingLogger();
  const gallery = await openTestGallery(dataDir, logger, flushDelayMs);
  open.push(gallery);
  return { gallery, entries };
}

async function close(gallery: Gallery): Promise<void> {
  await gallery.close();
  open = open.filter((other) => other !== gallery);
}

async function expectReferenceResults(gallery: Gallery): Promise<void> {
  for (const partition of PARTITIONS) {
    for (const probe of probeSet) await reference.expectSearch(gallery, partition, probe, 10);
  }
  expect(await gallery.isHealthy()).toBe(true);
}

function searchAll(gallery: Gallery) {
  return Promise.all(PARTITIONS.map((partition) => Promise.all(probeSet.map((probe) => gallery.search(partition, probe, 10)))));
}

beforeEach(async () => {
  ({ dataDir, remove: removeDataDir } = temporaryDataDir());
  open = [];
  reference = new ReferenceGallery();
  const random = seededRandom(21);
  const { gallery } = await reopen();
  const identities = await populate(gallery, reference, random, { partitions: PARTITIONS, subjectsPerPartition: 40, maxTemplatesPerSubject: 4 });
  // Holes in the id sequence: the saved mapping must survive deletes.
  for (const subjectId of ['alpha-subject-0', 'alpha-subject-17', 'beta-subject-39']) {
    await gallery.deleteSubject(subjectId.split('-')[0], subjectId);
    reference.deleteSubject(subjectId.split('-')[0], subjectId);
  }
  probeSet = probes(random, identities, 10);
  await close(gallery);
});

afterEach(async () => {
  for (const gallery of open) await gallery.close();
  removeDataDir();
});

describe('restart', () => {
  it('loads saved indexes without a rebuild and answers exactly as before', async () => {
    const first = await reopen();
    expect(rebuiltPartitions(first.entries)).toEqual([]);
    expect(loadedPartitions(first.entries)).toEqual(PARTITIONS);
    await expectReferenceResults(first.gallery);
    const before = await searchAll(first.gallery);
    await close(first.gallery);

    const second = await reopen();
    expect(second.entries.filter((entry) => entry.level >= WARN)).toEqual([]);
    expect(await searchAll(second.gallery)).toEqual(before);
  });

  it('saves changed indexes after the flush delay, without close()', async () => {
    const random = seededRandom(22);
    const writer = (await reopen(10)).gallery;
    const sidecarBefore = readFileSync(sidecarFile('alpha'), 'utf8');
    const template = randomUnitVector(random);
    await writer.enrol('alpha', 'late-subject', { template, modelId: 'test-model', quality: 1, source: 'enrol' });
    reference.enrol('alpha', 'late-subject', template);
    await expect.poll(() => readFileSync(sidecarFile('alpha'), 'utf8'), { timeout: 2000 }).not.toBe(sidecarBefore);

    // A second process opening the same directory now finds current indexes.
    const reader = await reopen();
    expect(rebuiltPartitions(reader.entries)).toEqual([]);
    await expectReferenceResults(reader.gallery);
  });
});

describe('damaged or stale index files are rebuilt from SQLite', () => {
  const damage: Record<string, { reason: RegExp; apply: () => void }> = {
    'deleted index file': { reason: /index file missing/, apply: () => rmSync(indexFile('alpha')) },
    'deleted sidecar': { reason: /no saved index/, apply: () => rmSync(sidecarFile('alpha')) },
    'truncated index file': {
      reason: /bytes/,
      apply: () => truncateSync(indexFile('alpha'), Math.floor(readFileSync(indexFile('alpha')).length / 2)),
    },
    'one corrupted byte in the vectors': {
      reason: /does not open/,
      apply: () => {
        const bytes = readFileSync(indexFile('alpha'));
        bytes[bytes.length - 100] ^= 0x40;
        writeFileSync(indexFile('alpha'), bytes);
      },
    },
    'garbage sidecar': { reason: /unreadable sidecar/, apply: () => writeFileSync(sidecarFile('alpha'), '{"format":') },
  };

  it.each(Object.keys(damage))('%s', async (name) => {
    damage[name].apply();
    const { gallery, entries } = await reopen();
    const warnings = entries.filter((entry) => entry.level >= WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ partition: 'alpha', msg: 'rebuilt FAISS index from SQLite' });
    expect(warnings[0].reason).toMatch(damage[name].reason);
    // Rejected at once, not at the next flush: a later state of the partition must not match it by chance.
    expect(existsSync(sidecarFile('alpha'))).toBe(false);
    expect(loadedPartitions(entries)).toEqual(['beta']);
    await expectReferenceResults(gallery);
    await close(gallery);

    // The rebuilt index was saved: the next start loads it.
    expect(rebuiltPartitions((await reopen()).entries)).toEqual([]);
  });

  it('an index saved before the last writes (crash before the flush)', async () => {
    const saved = join(dataDir, 'saved-before');
    mkdirSync(saved);
    for (const file of [indexFile('alpha'), sidecarFile('alpha')]) copyFileSync(file, join(saved, file.split('/').at(-1)!));

    const random = seededRandom(23);
    const { gallery } = await reopen();
    const template = randomUnitVector(random);
    await gallery.enrol('alpha', 'after-flush', { template, modelId: 'test-model', quality: 1, source: 'enrol' });
    reference.enrol('alpha', 'after-flush', template);
    await gallery.deleteSubject('alpha', 'alpha-subject-5');
    reference.deleteSubject('alpha', 'alpha-subject-5');
    await close(gallery);
    // What a SIGKILL before the flush would have left: the old index beside the newer SQLite.
    for (const file of [indexFile('alpha'), sidecarFile('alpha')]) copyFileSync(join(saved, file.split('/').at(-1)!), file);

    const restarted = await reopen();
    expect(rebuiltPartitions(restarted.entries)).toEqual(['alpha']);
    expect(restarted.entries.find((entry) => entry.level >= WARN)?.reason).toMatch(/stale/);
    await expectReferenceResults(restarted.gallery);
    expect((await restarted.gallery.search('alpha', template, 1))[0].subjectId).toBe('after-flush');
  });

  it('removes unfinished writes and files of partitions SQLite does not have', async () => {
    const stray = ['ghost.faiss', 'ghost.json', 'alpha.faiss.tmp', 'beta.json.tmp'];
    for (const file of stray) writeFileSync(join(dataDir, 'indexes', file), 'leftover');
    writeFileSync(join(dataDir, 'indexes', 'NOTES.txt'), 'not ours');
    const { gallery, entries } = await reopen();
    expect(rebuiltPartitions(entries)).toEqual([]);
    expect(await gallery.partitions()).toEqual(PARTITIONS);
    for (const file of stray) expect(existsSync(join(dataDir, 'indexes', file)), file).toBe(false);
    expect(existsSync(join(dataDir, 'indexes', 'NOTES.txt'))).toBe(true);
  });
});

describe('SIGKILL', () => {
  // A separate process enrols and then dies by SIGKILL: no close(), no flush, nothing after the last return.
  const child = `
    const { openGallery } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)});
    const { quietLogger } = await import(${JSON.stringify(new URL('../../test/helpers/quiet-logger.ts', import.meta.url).pathname)});
    const { TemplateCipher } = await import(${JSON.stringify(new URL('../security/template-cipher.ts', import.meta.url).pathname)});
    const [dataDir, count] = process.argv.slice(-2);
    const gallery = await openGallery({ dataDir, flushDelayMs: 60000, logger: quietLogger, cipher: new TemplateCipher(Buffer.from(${JSON.stringify(SPEC_TEMPLATE_KEY)}, 'base64')), dimension: 512 });
    for (let i = 0; i < Number(count); i++) {
      const template = new Float32Array(512);
      template[i % 512] = 1;
      await gallery.enrol('alpha', 'killed-' + i, { template, modelId: 'test-model', quality: 1, source: 'enrol' });
    }
    process.kill(process.pid, 'SIGKILL');
  `;

  it('keeps every returned enrol, and the stale index is rebuilt', async () => {
    const enrols = 25;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, dataDir, String(enrols)], {
      encoding: 'utf8',
    });
    expect(result.signal, result.stderr).toBe('SIGKILL');

    const { gallery, entries } = await reopen();
    expect(rebuiltPartitions(entries)).toEqual(['alpha']);
    expect(await gallery.templateCounts('alpha')).toEqual({
      sqlite: reference.templateCount('alpha') + enrols,
      index: reference.templateCount('alpha') + enrols,
    });
    for (let i = 0; i < enrols; i++) {
      const template = new Float32Array(512);
      template[i % 512] = 1;
      expect(await gallery.subjectTemplates('alpha', `killed-${i}`)).toEqual([{ template, source: 'enrol' }]);
      expect((await gallery.search('alpha', template, 1))[0]).toEqual({ subjectId: `killed-${i}`, similarity: 1 });
    }
  });
});
