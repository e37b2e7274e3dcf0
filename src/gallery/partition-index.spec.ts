import { describe, expect, it } from 'vitest';
import type { IndexedTemplate } from './gallery-repository.ts';
import { PartitionIndex } from './partition-index.ts';
import { DIMENSION, randomUnitVector, seededRandom } from './spec-support.ts';

/** Templates with gaps in their ids (as after deletions) and several per subject. */
function templates(count: number, seed: number): IndexedTemplate[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({ templateId: 3 * i + 1, subjectId: `subject-${i % 700}`, vector: randomUnitVector(random) }));
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
