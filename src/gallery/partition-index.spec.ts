import { describe, expect, it } from 'vitest';
import type { IndexedTemplate } from './gallery-repository.ts';
import { PartitionIndex } from './partition-index.ts';
import { DIMENSION, randomUnitVector } from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

/** Templates with gaps in their ids (as after deletions) and several per subject. */
function templates(count: number, seed: number): IndexedTemplate[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({ templateId: 3 * i + 1, subjectId: `subject-${i % 700}`, source: i % 3 === 0 ? 'eid' : 'enrol', vector: randomUnitVector(random) }));
}

describe('PartitionIndex.build (the rebuild from SQLite, through a serialised flat index)', () => {
  it('answers exactly as an index filled one add() at a time, across several write batches', () => {
    const all = templates(2500, 1);
    const built = PartitionIndex.build(DIMENSION, all, all.length);
    const added = PartitionIndex.empty(DIMENSION);
    added.add(all);

    expect(built.size).toBe(all.length);
    expect(built.templateIdsInOrder).toEqual(all.map((t) => t.templateId));
    const random = seededRandom(2);
    for (let probe = 0; probe < 5; probe++) {
      const query = randomUnitVector(random);
      const fromBuild = built.search(query, 10);
      const fromAdd = added.search(query, 10);
      expect(fromBuild.map((m) => m.subjectId)).toEqual(fromAdd.map((m) => m.subjectId));
      fromBuild.forEach((match, rank) => expect(match.similarity).toBeCloseTo(fromAdd[rank].similarity, 6));
    }
    // A stored template is its own best match.
    expect(built.search(all[1234].vector, 1)).toEqual([{ subjectId: all[1234].subjectId, similarity: expect.closeTo(1, 5) }]);
  });

  it('builds an empty index that later appends extend', () => {
    const index = PartitionIndex.build(DIMENSION, [], 0);
    expect(index.size).toBe(0);
    const [first] = templates(1, 3);
    index.add([first]);
    expect(index.search(first.vector, 1)).toEqual([{ subjectId: first.subjectId, similarity: expect.closeTo(1, 5) }]);
  });

  it('refuses templates out of id order: positions must follow template ids', () => {
    const [a, b] = templates(2, 4);
    expect(() => PartitionIndex.build(DIMENSION, [b, a], 2)).toThrow(/positions must follow id order/);
  });
});

describe('PartitionIndex.search limited to sources', () => {
  it('ranks subjects by their best template of those sources only, as a brute-force scan over them does', () => {
    const all = templates(3000, 5);
    const index = PartitionIndex.build(DIMENSION, all, all.length);
    const random = seededRandom(6);
    for (let probe = 0; probe < 5; probe++) {
      const query = randomUnitVector(random);
      const best = new Map<string, number>();
      for (const t of all.filter((template) => template.source === 'eid')) {
        const similarity = t.vector.reduce((sum, v, i) => sum + v * query[i], 0);
        if (similarity > (best.get(t.subjectId) ?? -Infinity)) best.set(t.subjectId, similarity);
      }
      const expected = [...best].sort((a, b) => b[1] - a[1]).slice(0, 10);
      const found = index.search(query, 10, new Set(['eid']));
      expect(found.map((m) => m.subjectId)).toEqual(expected.map(([subjectId]) => subjectId));
      found.forEach((match, rank) => expect(match.similarity).toBeCloseTo(expected[rank][1], 5));
    }
  });

  it('finds nobody when no template has a named source, and forgets the sources of removed templates', () => {
    const all = templates(30, 7);
    const index = PartitionIndex.build(DIMENSION, all, all.length);
    expect(index.search(all[0].vector, 5, new Set(['selfie']))).toEqual([]);
    index.remove(all.filter((t) => t.source === 'eid').map((t) => t.templateId));
    expect(index.search(all[1].vector, 50, new Set(['eid']))).toEqual([]);
    expect(index.search(all[1].vector, 1, new Set(['enrol']))[0].subjectId).toBe(all[1].subjectId);
  });
});
