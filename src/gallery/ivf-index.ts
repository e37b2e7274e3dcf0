import type { SubjectMatch } from './gallery.ts';

/** One template as the index sees it: vectors are L2-normalised, so inner product is cosine. */
export interface IvfEntry {
  templateId: number;
  subjectId: string;
  vector: Float32Array;
}

export interface IvfSettings {
  /** inverted lists (k-means centroids); 1 makes the index an exact flat scan */
  lists: number;
  /** lists scanned per search; `lists` or more is an exact search */
  probes: number;
}

/** Lloyd iterations when training the coarse quantiser: the centroids move little after a handful. */
const KMEANS_ITERATIONS = 8;
/** Training vectors per centroid: enough to place each, few enough to train in seconds. */
const TRAINING_PER_LIST = 32;
/** How much the template candidate list grows per round, relative to the subjects wanted. */
const CANDIDATE_GROWTH = 4;

/** Inner product of `a` with row `row` of `rows`, four lanes at a time (V8 keeps them in registers). */
function dotRow(a: Float32Array, rows: Float32Array, row: number, dimension: number): number {
  const base = row * dimension;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < dimension; i += 4) {
    s0 += a[i] * rows[base + i];
    s1 += a[i + 1] * rows[base + i + 1];
    s2 += a[i + 2] * rows[base + i + 2];
    s3 += a[i + 3] * rows[base + i + 3];
  }
  return s0 + s1 + s2 + s3;
}

/** One inverted list: vectors packed in a growable Float32Array, template and subject ids by slot. */
class InvertedList {
  vectors: Float32Array;
  templateIds: number[] = [];
  subjectIds: string[] = [];

  constructor(private readonly dimension: number) {
    this.vectors = new Float32Array(dimension * 16);
  }

  get size(): number {
    return this.templateIds.length;
  }

  /** Appends and returns the slot. */
  push(entry: IvfEntry): number {
    const slot = this.size;
    if ((slot + 1) * this.dimension > this.vectors.length) {
      const grown = new Float32Array(this.vectors.length * 2);
      grown.set(this.vectors);
      this.vectors = grown;
    }
    this.vectors.set(entry.vector, slot * this.dimension);
    this.templateIds.push(entry.templateId);
    this.subjectIds.push(entry.subjectId);
    return slot;
  }

  /** Moves the last slot into `slot`: a delete costs one vector copy, not a rewrite. Returns the moved template id. */
  removeAt(slot: number): number | undefined {
    const last = this.size - 1;
    let moved: number | undefined;
    if (slot !== last) {
      this.vectors.copyWithin(slot * this.dimension, last * this.dimension, (last + 1) * this.dimension);
      this.templateIds[slot] = this.templateIds[last];
      this.subjectIds[slot] = this.subjectIds[last];
      moved = this.templateIds[slot];
    }
    this.templateIds.pop();
    this.subjectIds.pop();
    return moved;
  }
}

/** A bounded min-heap of the best (score, list, slot) candidates seen so far. */
class TopCandidates {
  readonly scores: Float64Array;
  readonly lists: Int32Array;
  readonly slots: Int32Array;
  size = 0;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.lists = new Int32Array(capacity);
    this.slots = new Int32Array(capacity);
  }

  /** the score a candidate must beat once full */
  get floor(): number {
    return this.size < this.capacity ? -Infinity : this.scores[0];
  }

  offer(score: number, list: number, slot: number): void {
    if (this.size < this.capacity) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.scores[parent] <= score) break;
        this.move(parent, i);
        i = parent;
      }
      this.place(i, score, list, slot);
      return;
    }
    if (score <= this.scores[0]) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const child = left + 1 < this.size && this.scores[left + 1] < this.scores[left] ? left + 1 : left;
      if (this.scores[child] >= score) break;
      this.move(child, i);
      i = child;
    }
    this.place(i, score, list, slot);
  }

  /** Candidate indexes, best first. */
  order(): number[] {
    return Array.from({ length: this.size }, (_, i) => i).sort((a, b) => this.scores[b] - this.scores[a]);
  }

  private move(from: number, to: number): void {
    this.scores[to] = this.scores[from];
    this.lists[to] = this.lists[from];
    this.slots[to] = this.slots[from];
  }

  private place(i: number, score: number, list: number, slot: number): void {
    this.scores[i] = score;
    this.lists[i] = list;
    this.slots[i] = slot;
  }
}

/**
 * An inverted-file index over unit vectors, written here because faiss-node cannot set nprobe: a k-means
 * coarse quantiser splits the templates into `lists` lists; a search scores the probe against every
 * centroid and scans the `probes` nearest lists exactly. Each template id maps to its (list, slot), so a
 * delete moves one vector instead of shifting the whole index, and adds after training go to the nearest
 * list. With one list (or probes ≥ lists) it is an exact search.
 */
export class IvfIndex {
  private readonly lists: InvertedList[];
  private readonly location = new Map<number, { list: number; slot: number }>();

  private constructor(
    readonly dimension: number,
    /** lists × dimension, unit rows */
    private readonly centroids: Float32Array,
    public probes: number,
  ) {
    // dotRow reads four lanes at a time.
    if (dimension % 4 !== 0) throw new Error(`dimension ${dimension} is not a multiple of 4`);
    this.lists = Array.from({ length: centroids.length / dimension }, () => new InvertedList(dimension));
  }

  /** An exact index: one list, no training. */
  static exact(dimension: number): IvfIndex {
    return new IvfIndex(dimension, new Float32Array(dimension), 1);
  }

  /**
   * Trains the quantiser on an evenly spaced sample of `entries` (spherical k-means, centroids renormalised
   * each round) and adds them all. No randomness: a rebuild from the same rows gives the same lists.
   */
  static train(dimension: number, entries: readonly IvfEntry[], settings: IvfSettings): IvfIndex {
    const listCount = Math.max(1, Math.min(settings.lists, Math.floor(entries.length / TRAINING_PER_LIST)));
    if (listCount === 1) {
      const index = IvfIndex.exact(dimension);
      for (const entry of entries) index.add(entry);
      return index;
    }
    const sampleSize = Math.min(entries.length, listCount * TRAINING_PER_LIST);
    const stride = entries.length / sampleSize;
    const sample = new Float32Array(sampleSize * dimension);
    for (let i = 0; i < sampleSize; i++) sample.set(entries[Math.floor(i * stride)].vector, i * dimension);
    const centroids = new Float32Array(listCount * dimension);
    // Initial centroids: evenly spaced sample rows.
    const initialStride = sampleSize / listCount;
    for (let c = 0; c < listCount; c++) {
      const row = Math.floor(c * initialStride);
      centroids.set(sample.subarray(row * dimension, (row + 1) * dimension), c * dimension);
    }
    const assignment = new Int32Array(sampleSize);
    for (let iteration = 0; iteration < KMEANS_ITERATIONS; iteration++) {
      for (let i = 0; i < sampleSize; i++) assignment[i] = nearestRow(sample.subarray(i * dimension, (i + 1) * dimension), centroids, listCount, dimension);
      const sums = new Float32Array(listCount * dimension);
      const counts = new Int32Array(listCount);
      for (let i = 0; i < sampleSize; i++) {
        const c = assignment[i];
        counts[c]++;
        for (let d = 0; d < dimension; d++) sums[c * dimension + d] += sample[i * dimension + d];
      }
      for (let c = 0; c < listCount; c++) {
        // An emptied centroid keeps its place rather than collapsing onto another.
        if (counts[c] === 0) continue;
        const row = sums.subarray(c * dimension, (c + 1) * dimension);
        const norm = Math.hypot(...row);
        for (let d = 0; d < dimension; d++) centroids[c * dimension + d] = row[d] / norm;
      }
    }
    const index = new IvfIndex(dimension, centroids, Math.min(settings.probes, listCount));
    for (const entry of entries) index.add(entry);
    return index;
  }

  get size(): number {
    return this.location.size;
  }

  get listCount(): number {
    return this.lists.length;
  }

  has(templateId: number): boolean {
    return this.location.has(templateId);
  }

  add(entry: IvfEntry): void {
    if (entry.vector.length !== this.dimension) throw new Error(`template ${entry.templateId} has ${entry.vector.length} values, expected ${this.dimension}`);
    if (this.location.has(entry.templateId)) throw new Error(`template ${entry.templateId} is already indexed`);
    const list = this.lists.length === 1 ? 0 : nearestRow(entry.vector, this.centroids, this.lists.length, this.dimension);
    this.location.set(entry.templateId, { list, slot: this.lists[list].push(entry) });
  }

  /** Removes the templates it holds; ids it does not hold are ignored. */
  remove(templateIds: Iterable<number>): void {
    for (const templateId of templateIds) {
      const where = this.location.get(templateId);
      if (!where) continue;
      this.location.delete(templateId);
      const moved = this.lists[where.list].removeAt(where.slot);
      if (moved !== undefined) this.location.set(moved, where);
    }
  }

  /**
   * Best `topK` subjects by their best template among the scanned lists, highest first. Keeps more templates
   * than subjects and widens until it holds `topK` distinct subjects or every scanned template.
   */
  search(probe: Float32Array, topK: number, probes = this.probes): SubjectMatch[] {
    if (topK === 0 || this.size === 0) return [];
    const scanned = this.nearestLists(probe, Math.min(Math.max(1, probes), this.lists.length));
    const scannedCount = scanned.reduce((sum, list) => sum + this.lists[list].size, 0);
    for (let k = Math.min(scannedCount, topK * CANDIDATE_GROWTH); ; k = Math.min(scannedCount, k * CANDIDATE_GROWTH)) {
      const matches = this.bestPerSubject(this.scan(probe, scanned, k));
      if (matches.length >= topK || k === scannedCount) return matches.slice(0, topK);
    }
  }

  /** Every entry, list by list: what a rebuild or a save walks. */
  *entries(): Generator<IvfEntry> {
    for (const list of this.lists) {
      for (let slot = 0; slot < list.size; slot++) {
        yield { templateId: list.templateIds[slot], subjectId: list.subjectIds[slot], vector: list.vectors.subarray(slot * this.dimension, (slot + 1) * this.dimension) };
      }
    }
  }

  private nearestLists(probe: Float32Array, count: number): number[] {
    if (count >= this.lists.length) return this.lists.map((_, list) => list);
    const top = new TopCandidates(count);
    for (let c = 0; c < this.lists.length; c++) {
      const score = dotRow(probe, this.centroids, c, this.dimension);
      if (score > top.floor) top.offer(score, c, 0);
    }
    return top.order().map((i) => top.lists[i]);
  }

  private scan(probe: Float32Array, scanned: readonly number[], k: number): TopCandidates {
    const top = new TopCandidates(k);
    for (const listNumber of scanned) {
      const list = this.lists[listNumber];
      for (let slot = 0; slot < list.size; slot++) {
        const score = dotRow(probe, list.vectors, slot, this.dimension);
        if (score > top.floor) top.offer(score, listNumber, slot);
      }
    }
    return top;
  }

  private bestPerSubject(top: TopCandidates): SubjectMatch[] {
    const matches: SubjectMatch[] = [];
    const seen = new Set<string>();
    for (const i of top.order()) {
      const subjectId = this.lists[top.lists[i]].subjectIds[top.slots[i]];
      if (seen.has(subjectId)) continue;
      seen.add(subjectId);
      matches.push({ subjectId, similarity: top.scores[i] });
    }
    return matches;
  }
}

function nearestRow(vector: Float32Array, rows: Float32Array, count: number, dimension: number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let row = 0; row < count; row++) {
    const score = dotRow(vector, rows, row, dimension);
    if (score > bestScore) {
      bestScore = score;
      best = row;
    }
  }
  return best;
}
