import { closeSync, openSync, writeSync } from 'node:fs';
import faiss, { type IndexFlatIP, type SearchResult } from 'faiss-node';
import type { Template } from '../pipeline/types.ts';
import type { SubjectMatch } from './gallery.ts';
import type { IndexedTemplate, TemplateRef } from './gallery-repository.ts';
import { withScratchFile } from './scratch-file.ts';

/** Templates per file write while rebuilding. */
const BUILD_BATCH_SIZE = 1024;

/**
 * FAISS's serialised IndexFlatIP: fourcc "IxFI", d (int32), ntotal (int64), two unused int64,
 * is_trained (uint8), metric (int32), then the vectors as a length-prefixed float array.
 */
const FLAT_HEADER_BYTES = 45;

function flatIndexHeader(dimension: number, count: number): Buffer {
  const header = Buffer.alloc(FLAT_HEADER_BYTES);
  header.write('IxFI', 0, 'latin1');
  header.writeInt32LE(dimension, 4);
  header.writeBigInt64LE(BigInt(count), 8);
  header.writeBigInt64LE(1n << 20n, 16);
  header.writeBigInt64LE(1n << 20n, 24);
  header.writeUInt8(1, 32);
  header.writeInt32LE(0, 33); // METRIC_INNER_PRODUCT
  header.writeBigInt64LE(BigInt(count * dimension), 37);
  return header;
}

/** How much the template candidate list grows per search round, relative to the subjects wanted. */
const CANDIDATE_GROWTH = 4;

/**
 * One partition's FAISS inner-product index plus the exact position → template mapping.
 *
 * faiss-node has no add_with_ids and removeIds on a flat index closes the gap it leaves, so
 * positions are always the partition's templates in ascending template-id order: appends carry
 * ever-larger ids (AUTOINCREMENT) and removal keeps the survivors' order. A rebuild from SQLite
 * in id order therefore yields the same positions.
 */
export class PartitionIndex {
  private constructor(
    private readonly vectors: IndexFlatIP,
    private templateIds: number[],
    private subjectIds: string[],
    /** each position's template source, so a search limited to sources needs no SQLite read */
    private sources: string[],
  ) {}

  static empty(dimension: number): PartitionIndex {
    return new PartitionIndex(new faiss.IndexFlatIP(dimension), [], [], []);
  }

  /**
   * `templates` must come in ascending template-id order; `expectedCount` sizes the scratch file.
   * faiss-node's add() converts a number[] element by element (about 10 s per 100k templates), so a
   * rebuild streams the vectors into a serialised flat index instead and has FAISS read that file.
   */
  static build(dimension: number, templates: Iterable<IndexedTemplate>, expectedCount: number): PartitionIndex {
    const vectorBytes = dimension * Float32Array.BYTES_PER_ELEMENT;
    return withScratchFile(FLAT_HEADER_BYTES + expectedCount * vectorBytes, (path) => {
      const templateIds: number[] = [];
      const subjectIds: string[] = [];
      const sources: string[] = [];
      const fd = openSync(path, 'w', 0o600);
      try {
        const batch = Buffer.alloc(BUILD_BATCH_SIZE * vectorBytes);
        let filled = 0;
        let offset = FLAT_HEADER_BYTES;
        const writeBatch = () => {
          offset += writeSync(fd, batch, 0, filled, offset);
          filled = 0;
        };
        for (const { templateId, subjectId, source, vector } of templates) {
          const previousId = templateIds.at(-1) ?? 0;
          if (templateId <= previousId) throw new Error(`template ${templateId} added after ${previousId}: positions must follow id order`);
          if (vector.length !== dimension) throw new Error(`template ${templateId} has ${vector.length} values, expected ${dimension}`);
          batch.set(new Uint8Array(vector.buffer, vector.byteOffset, vectorBytes), filled);
          filled += vectorBytes;
          templateIds.push(templateId);
          subjectIds.push(subjectId);
          sources.push(source);
          if (filled === batch.length) writeBatch();
        }
        writeBatch();
        // The count is known only now; the header goes in front of the vectors last.
        writeSync(fd, flatIndexHeader(dimension, templateIds.length), 0, FLAT_HEADER_BYTES, 0);
      } finally {
        closeSync(fd);
      }
      return new PartitionIndex(faiss.IndexFlatIP.read(path), templateIds, subjectIds, sources);
    });
  }

  /** Reads a saved index; `refs` name the templates at its positions, in order. */
  static read(path: string, dimension: number, refs: readonly TemplateRef[]): PartitionIndex {
    const vectors = faiss.IndexFlatIP.read(path);
    if (vectors.getDimension() !== dimension || vectors.ntotal() !== refs.length) {
      throw new Error(
        `index holds ${vectors.ntotal()} vectors of dimension ${vectors.getDimension()}, ` +
          `expected ${refs.length} of dimension ${dimension}`,
      );
    }
    return new PartitionIndex(
      vectors,
      refs.map((ref) => ref.templateId),
      refs.map((ref) => ref.subjectId),
      refs.map((ref) => ref.source),
    );
  }

  get size(): number {
    return this.templateIds.length;
  }

  /** Template ids by position. */
  get templateIdsInOrder(): readonly number[] {
    return this.templateIds;
  }

  add(templates: readonly IndexedTemplate[]): void {
    if (templates.length === 0) return;
    let previousId = this.templateIds.at(-1) ?? 0;
    for (const { templateId } of templates) {
      if (templateId <= previousId) throw new Error(`template ${templateId} added after ${previousId}: positions must follow id order`);
      previousId = templateId;
    }
    this.vectors.add(templates.flatMap((template) => Array.from(template.vector)));
    for (const { templateId, subjectId, source } of templates) {
      this.templateIds.push(templateId);
      this.subjectIds.push(subjectId);
      this.sources.push(source);
    }
  }

  remove(templateIds: readonly number[]): void {
    const positions = templateIds.map((id) => this.positionOf(id)).filter((position) => position >= 0);
    if (positions.length === 0) return;
    this.vectors.removeIds(positions);
    const removed = new Set(positions);
    this.templateIds = this.templateIds.filter((_, position) => !removed.has(position));
    this.subjectIds = this.subjectIds.filter((_, position) => !removed.has(position));
    this.sources = this.sources.filter((_, position) => !removed.has(position));
  }

  /**
   * Best `topK` subjects by their best template. Asks FAISS for more templates than subjects, and
   * widens the request until it holds `topK` distinct subjects or the whole partition: every
   * subject missing from the nearest k templates scores below every subject present. With `sources`,
   * only templates from those sources count: the others are skipped as if absent.
   */
  search(probe: Template, topK: number, sources?: ReadonlySet<string>): SubjectMatch[] {
    // FAISS aborts the process on k = 0 and faiss-node throws on k > ntotal.
    if (topK === 0 || this.size === 0) return [];
    const query = Array.from(probe);
    for (let k = Math.min(this.size, topK * CANDIDATE_GROWTH); ; k = Math.min(this.size, k * CANDIDATE_GROWTH)) {
      const matches = this.bestPerSubject(this.vectors.search(query, k), sources);
      if (matches.length >= topK || k === this.size) return matches.slice(0, topK);
    }
  }

  /** The directory must exist: faiss-node does not catch write errors, they abort the process. */
  write(path: string): void {
    this.vectors.write(path);
  }

  private bestPerSubject({ distances, labels }: SearchResult, sources: ReadonlySet<string> | undefined): SubjectMatch[] {
    // Hits come best first, so a subject's first hit is its best template.
    const matches: SubjectMatch[] = [];
    const seen = new Set<string>();
    labels.forEach((position, rank) => {
      const subjectId = this.subjectIds[position];
      if (seen.has(subjectId) || (sources && !sources.has(this.sources[position]))) return;
      seen.add(subjectId);
      matches.push({ subjectId, similarity: distances[rank] });
    });
    return matches;
  }

  /** Binary search, valid because positions are in template-id order; -1 when absent. */
  private positionOf(templateId: number): number {
    let low = 0;
    let high = this.templateIds.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const candidate = this.templateIds[middle];
      if (candidate === templateId) return middle;
      if (candidate < templateId) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}
