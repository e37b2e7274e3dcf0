import { describe, expect, it } from 'vitest';
import { type IvfEntry, IvfIndex } from './ivf-index.ts';
import { DIMENSION, ReferenceGallery, nearbyUnitVector, randomUnitVector } from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

/** `subjects` people with 1–3 templates each, clustered around a per-person identity. */
function population(subjects: number, seed: number): { entries: IvfEntry[]; identities: Float32Array[] } {
  const random = seededRandom(seed);
  const entries: IvfEntry[] = [];
  const identities: Float32Array[] = [];
  let templateId = 1;
  for (let s = 0; s < subjects; s++) {
    const identity = randomUnitVector(random);
    identities.push(identity);
    const count = 1 + Math.floor(random() * 3);
    for (let t = 0; t < count; t++) entries.push({ templateId: templateId++, subjectId: `subject-${s}`, vector: nearbyUnitVector(random, identity, 0.5) });
  }
  return { entries, identities };
}

function referenceOf(entries: readonly IvfEntry[]): ReferenceGallery {
  const reference = new ReferenceGallery();
  for (const { subjectId, vector } of entries) reference.enrol('p', subjectId, vector);
  return reference;
}

describe('IvfIndex', () => {
  const { entries, identities } = population(1500, 11);

  it('is exact with one list: the same answer as a brute-force comparison, for every topK', () => {
    const index = IvfIndex.exact(DIMENSION);
    for (const entry of entries) index.add(entry);
    const reference = referenceOf(entries);
    const random = seededRandom(12);
    for (const topK of [1, 5, 50, 5000]) {
      const probe = randomUnitVector(random);
      const expected = reference.rank('p', probe).slice(0, topK);
      const actual = index.search(probe, topK);
      expect(actual.map((m) => m.subjectId)).toEqual(expected.map((m) => m.subjectId));
      actual.forEach((match, rank) => expect(match.similarity).toBeCloseTo(expected[rank].similarity, 5));
    }
  });

  it('scanning every list of a trained index is exact; more lists scanned never find fewer mates', () => {
    const index = IvfIndex.train(DIMENSION, entries, { lists: 16, probes: 4 });
    expect(index.listCount).toBe(16);
    expect(index.size).toBe(entries.length);
    const reference = referenceOf(entries);
    const random = seededRandom(13);
    const mateFirst = new Map<number, number>([[1, 0], [4, 0], [16, 0]]);
    let exactMateFirst = 0;
    for (let q = 0; q < 40; q++) {
      const mate = `subject-${Math.floor(random() * identities.length)}`;
      const probe = nearbyUnitVector(random, identities[Number(mate.slice(8))], 0.8);
      const exact = reference.rank('p', probe);
      if (exact[0].subjectId === mate) exactMateFirst++;
      expect(index.search(probe, 5, 16).map((m) => m.subjectId)).toEqual(exact.slice(0, 5).map((m) => m.subjectId));
      for (const probes of mateFirst.keys()) if (index.search(probe, 1, probes)[0]?.subjectId === mate) mateFirst.set(probes, mateFirst.get(probes)! + 1);
    }
    // A scanned list is scanned exactly, so widening the scan can only add the mate, never lose it.
    expect(mateFirst.get(16)).toBe(exactMateFirst);
    expect(mateFirst.get(1)).toBeLessThanOrEqual(mateFirst.get(4)!);
    expect(mateFirst.get(4)).toBeLessThanOrEqual(mateFirst.get(16)!);
    // The quantiser is not useless: one list of 16 finds far more mates than the 1/16 a random list would.
    expect(mateFirst.get(1)).toBeGreaterThan(exactMateFirst / 4);
  });

  it('deletes move one vector: the survivors are still found, the removed never, and re-adds work', () => {
    const index = IvfIndex.train(DIMENSION, entries, { lists: 8, probes: 8 });
    const removed = entries.filter((entry) => entry.subjectId.endsWith('7'));
    index.remove(removed.map((entry) => entry.templateId));
    index.remove([999_999]);
    const survivors = entries.filter((entry) => !entry.subjectId.endsWith('7'));
    expect(index.size).toBe(survivors.length);
    const reference = referenceOf(survivors);
    const random = seededRandom(14);
    for (let q = 0; q < 10; q++) {
      const probe = randomUnitVector(random);
      expect(index.search(probe, 10).map((m) => m.subjectId)).toEqual(reference.rank('p', probe).slice(0, 10).map((m) => m.subjectId));
    }
    // Every survivor is still its own best match: the (list, slot) map followed each moved vector.
    for (const entry of survivors.filter((_, i) => i % 50 === 0)) expect(index.search(entry.vector, 1)[0]).toEqual({ subjectId: entry.subjectId, similarity: expect.closeTo(1, 5) });
    for (const entry of removed.slice(0, 20)) expect(index.has(entry.templateId)).toBe(false);
    index.add(removed[0]);
    expect(index.search(removed[0].vector, 1)[0].subjectId).toBe(removed[0].subjectId);
    expect(() => index.add(removed[0])).toThrow(/already indexed/);
    expect([...index.entries()]).toHaveLength(survivors.length + 1);
  });

  it('trains an exact index when there are too few templates for lists', () => {
    const few = entries.slice(0, 20);
    const index = IvfIndex.train(DIMENSION, few, { lists: 64, probes: 4 });
    expect(index.listCount).toBe(1);
    expect(index.search(few[3].vector, 1)[0].subjectId).toBe(few[3].subjectId);
    expect(IvfIndex.exact(DIMENSION).search(few[0].vector, 3)).toEqual([]);
  });
});
