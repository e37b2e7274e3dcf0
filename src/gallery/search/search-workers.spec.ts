import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IvfEntry } from '../ivf-index.ts';
import { DIMENSION, ReferenceGallery, nearbyUnitVector, randomUnitVector } from '../../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../../tools/seeded-random.ts';
import { TemplateCipher } from '../../security/template-cipher.ts';
import { SearchWorkers } from './search-workers.ts';

/** `subjects` people, two templates each, ids with gaps as after deletions. */
function population(subjects: number, seed: number): IvfEntry[] {
  const random = seededRandom(seed);
  return Array.from({ length: subjects }, (_, s) => {
    const identity = randomUnitVector(random);
    return [0, 1].map((t) => ({ templateId: 5 * (2 * s + t) + 1, subjectId: `subject-${s}`, source: 'enrol', vector: nearbyUnitVector(random, identity, 0.5) }));
  }).flat();
}

describe('SearchWorkers (partition shards owned by worker threads)', () => {
  const entries = population(2000, 21);
  let workers: SearchWorkers;
  let reference: ReferenceGallery;

  beforeAll(async () => {
    // probeFraction 1: every list is scanned, so the answers must be exact
    workers = await SearchWorkers.start({ dimension: DIMENSION, workers: 2, templateKey: TemplateCipher.generate().exportKey(), probeFraction: 1 });
    await workers.build('p', entries, entries.length, { lists: 8, probes: 8 });
    expect(workers.size('p')).toBe(4000);
    expect(workers.stats('p')).toEqual({ size: 2000, lists: 8, exact: false });
    reference = new ReferenceGallery();
    for (const { subjectId, vector } of entries) reference.enrol('p', subjectId, vector);
  });
  afterAll(() => workers.close());

  it('merges the shards into the exact answer when every list is scanned, for several topK', async () => {
    const random = seededRandom(22);
    for (const topK of [1, 5, 40]) {
      const probe = randomUnitVector(random);
      const expected = reference.rank('p', probe).slice(0, topK);
      const actual = await workers.search('p', probe, topK);
      expect(actual.map((m) => m.subjectId)).toEqual(expected.map((m) => m.subjectId));
      actual.forEach((match, rank) => expect(match.similarity).toBeCloseTo(expected[rank].similarity, 5));
    }
    expect(await workers.search('p', randomUnitVector(random), 0)).toEqual([]);
    expect(await workers.search('elsewhere', randomUnitVector(random), 5)).toEqual([]);
  });

  it('applies adds and deletes in the order sent: a search right after sees them', async () => {
    const random = seededRandom(23);
    const newcomer: IvfEntry = { templateId: 1_000_000, subjectId: 'newcomer', source: 'eid', vector: randomUnitVector(random) };
    const adding = workers.add('p', [newcomer]);
    expect((await workers.search('p', newcomer.vector, 1))[0]).toEqual({ subjectId: 'newcomer', similarity: expect.closeTo(1, 5) });
    expect((await workers.search('p', newcomer.vector, 3, new Set(['eid']))).map((m) => m.subjectId)).toEqual(['newcomer']);
    await adding;
    expect(workers.size('p')).toBe(entries.length + 1);

    // One subject's two templates were dealt to different shards: the delete reaches both.
    const gone = entries.filter((entry) => entry.subjectId === 'subject-7');
    const removing = workers.remove('p', [...gone.map((entry) => entry.templateId), newcomer.templateId]);
    for (const entry of gone) expect((await workers.search('p', entry.vector, 5)).map((m) => m.subjectId)).not.toContain('subject-7');
    await removing;
    expect(workers.size('p')).toBe(entries.length - 2);
    const readding = workers.add('p', gone);
    expect((await workers.search('p', gone[0].vector, 1))[0].subjectId).toBe('subject-7');
    await readding;
  });

  it('leaves the event loop free while the shards scan', async () => {
    // Every search is exact over all 4,000 templates; a main-thread scan would run no other callback until done.
    let turns = 0;
    let searching = true;
    const beat = () => {
      turns++;
      if (searching) setImmediate(beat);
    };
    const searches = Array.from({ length: 20 }, () => workers.search('p', randomUnitVector(seededRandom(24)), 10));
    setImmediate(beat);
    await Promise.all(searches);
    searching = false;
    expect(turns).toBeGreaterThan(1);
    expect(workers.healthy).toBe(true);
  });

  it.runIf(process.platform === 'linux')('runs its threads niced, so the main thread is scheduled first on a busy host', () => {
    // field 19 of /proc/<pid>/task/<tid>/stat, counted after the parenthesised thread name
    const niceness = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    expect(niceness.filter((nice) => nice === 10).length).toBeGreaterThanOrEqual(2);
    expect(niceness[0]).toBe(0);
  });
});
