import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IvfEntry } from '../ivf-index.ts';
import { DIMENSION, ReferenceGallery, nearbyUnitVector, randomUnitVector } from '../../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../../tools/seeded-random.ts';
import { ShardedIndex } from './sharded-index.ts';

/** `subjects` people, two templates each, ids with gaps as after deletions. */
function population(subjects: number, seed: number): IvfEntry[] {
  const random = seededRandom(seed);
  return Array.from({ length: subjects }, (_, s) => {
    const identity = randomUnitVector(random);
    return [0, 1].map((t) => ({ templateId: 5 * (2 * s + t) + 1, subjectId: `subject-${s}`, vector: nearbyUnitVector(random, identity, 0.5) }));
  }).flat();
}

describe('ShardedIndex (shards owned by worker threads)', () => {
  const entries = population(2000, 21);
  let index: ShardedIndex;
  let reference: ReferenceGallery;

  beforeAll(async () => {
    index = await ShardedIndex.start({ dimension: DIMENSION, shards: 2 });
    const stats = await index.build(entries, entries.length, { lists: 8, probes: 8 });
    expect(stats).toEqual([
      { size: 2000, lists: 8 },
      { size: 2000, lists: 8 },
    ]);
    reference = new ReferenceGallery();
    for (const { subjectId, vector } of entries) reference.enrol('p', subjectId, vector);
  });
  afterAll(() => index.close());

  it('merges the shards into the exact answer when every list is scanned, for several topK', async () => {
    const random = seededRandom(22);
    for (const topK of [1, 5, 40]) {
      const probe = randomUnitVector(random);
      const expected = reference.rank('p', probe).slice(0, topK);
      const actual = await index.search(probe, topK);
      expect(actual.map((m) => m.subjectId)).toEqual(expected.map((m) => m.subjectId));
      actual.forEach((match, rank) => expect(match.similarity).toBeCloseTo(expected[rank].similarity, 5));
    }
    expect(await index.search(randomUnitVector(random), 0)).toEqual([]);
  });

  it('applies adds and deletes in the order sent: a search right after sees them', async () => {
    const random = seededRandom(23);
    const newcomer: IvfEntry = { templateId: 1_000_000, subjectId: 'newcomer', vector: randomUnitVector(random) };
    const adding = index.add([newcomer]);
    expect((await index.search(newcomer.vector, 1))[0]).toEqual({ subjectId: 'newcomer', similarity: expect.closeTo(1, 5) });
    await adding;
    expect(index.size).toBe(entries.length + 1);

    // One subject's two templates were dealt to different shards: the delete reaches both.
    const gone = entries.filter((entry) => entry.subjectId === 'subject-7');
    const removing = index.remove([...gone.map((entry) => entry.templateId), newcomer.templateId]);
    for (const entry of gone) expect((await index.search(entry.vector, 5)).map((m) => m.subjectId)).not.toContain('subject-7');
    await removing;
    expect(index.size).toBe(entries.length - 2);
    const readding = index.add(gone);
    expect((await index.search(gone[0].vector, 1))[0].subjectId).toBe('subject-7');
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
    const searches = Array.from({ length: 20 }, () => index.search(randomUnitVector(seededRandom(24)), 10));
    setImmediate(beat);
    await Promise.all(searches);
    searching = false;
    expect(turns).toBeGreaterThan(1);
    expect(index.healthy).toBe(true);
  });
});
