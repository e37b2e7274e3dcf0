import type { Logger } from '../logger.ts';
import type { Template } from '../pipeline/types.ts';
import type { Gallery, SourcedTemplate, SubjectDetail, SubjectListing, SubjectMatch, TemplateRecord } from './gallery.ts';
import type { GalleryRepository } from './gallery-repository.ts';
import { assertPartitionName, assertSubjectId } from './identifiers.ts';
import type { IndexStore } from './index-store.ts';
import { PartitionIndex } from './partition-index.ts';

/** A partition's in-memory index and the SQLite generation it reflects. */
interface LiveIndex {
  index: PartitionIndex;
  generation: number;
}

export interface SqliteFaissGalleryOptions {
  dimension: number;
  flushDelayMs: number;
  logger: Logger;
}

/**
 * SQLite holds every template; FAISS indexes in memory answer searches and are saved to disk
 * only to skip a rebuild at start-up. Each write commits to SQLite and then updates the index
 * in the same synchronous call, so no request sees one without the other.
 */
export class SqliteFaissGallery implements Gallery {
  private readonly indexes = new Map<string, LiveIndex>();
  /** partitions whose index changed since it was last saved */
  private readonly unsaved = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly repository: GalleryRepository,
    private readonly store: IndexStore,
    private readonly options: SqliteFaissGalleryOptions,
  ) {
    this.loadIndexes();
  }

  async enrol(partition: string, subjectId: string, record: TemplateRecord): Promise<void> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    this.assertTemplate(record.template);
    const { templateId, generation } = this.repository.insertTemplate(partition, subjectId, record);
    const live = this.indexes.get(partition) ?? { index: PartitionIndex.empty(this.options.dimension), generation };
    live.index.add([{ templateId, subjectId, source: record.source, vector: record.template }]);
    this.indexes.set(partition, live);
    this.markChanged(partition, generation);
  }

  async deleteSubject(partition: string, subjectId: string): Promise<boolean> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    const deleted = this.repository.deleteSubject(partition, subjectId);
    if (!deleted) return false;
    this.indexes.get(partition)!.index.remove(deleted.templateIds);
    this.markChanged(partition, deleted.generation);
    return true;
  }

  async search(partition: string, probe: Template, topK: number, sources?: ReadonlySet<string>): Promise<SubjectMatch[]> {
    assertPartitionName(partition);
    this.assertTemplate(probe);
    if (!Number.isInteger(topK) || topK < 0) throw new Error(`topK must be a non-negative integer, got ${topK}`);
    return this.indexes.get(partition)?.index.search(probe, topK, sources) ?? [];
  }

  async subjectTemplates(partition: string, subjectId: string, sources?: ReadonlySet<string>): Promise<SourcedTemplate[] | undefined> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    // A subject is created with its first template and deleted with its last, so none means absent.
    const templates = this.repository.subjectTemplates(partition, subjectId).filter((stored) => !sources || sources.has(stored.source));
    return templates.length > 0 ? templates : undefined;
  }

  async subjectDetail(partition: string, subjectId: string): Promise<SubjectDetail | undefined> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    const summary = this.repository.subjectSummary(partition, subjectId);
    return summary && { subjectId, ...summary };
  }

  async listSubjects(partition: string, offset: number, limit: number): Promise<SubjectListing> {
    assertPartitionName(partition);
    return this.repository.subjectPage(partition, offset, limit);
  }

  async hasPartition(partition: string): Promise<boolean> {
    assertPartitionName(partition);
    return this.repository.hasPartition(partition);
  }

  async partitions(): Promise<string[]> {
    return this.repository.partitionNames();
  }

  async templateModelIds(): Promise<string[]> {
    return this.repository.templateModelIds();
  }

  async subjectCounts(): Promise<Record<string, number>> {
    return this.repository.subjectCounts();
  }

  async templateCounts(partition: string): Promise<{ sqlite: number; index: number }> {
    assertPartitionName(partition);
    return { sqlite: this.repository.templateCount(partition), index: this.indexes.get(partition)?.index.size ?? 0 };
  }

  async isHealthy(): Promise<boolean> {
    return this.repository
      .partitionStates()
      .every((state) => this.indexes.get(state.name)?.index.size === state.templateCount);
  }

  async templateKeyCurrent(): Promise<boolean> {
    return this.repository.keyIsCurrent();
  }

  async flush(): Promise<void> {
    this.saveChanged();
  }

  /** Saves every changed index; tries them all, then throws if any failed (each is logged). */
  private saveChanged(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const failures: unknown[] = [];
    for (const partition of this.unsaved) {
      const { index, generation } = this.indexes.get(partition)!;
      try {
        this.store.save(partition, index, generation);
        this.unsaved.delete(partition);
      } catch (error) {
        this.options.logger.error({ partition, err: error }, 'could not save FAISS index');
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `could not save ${failures.length} FAISS index(es)`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.saveChanged();
    } finally {
      this.repository.close();
    }
  }

  private loadIndexes(): void {
    const states = this.repository.partitionStates();
    this.store.removeStrayFiles(new Set(states.map((state) => state.name)));
    for (const { name, generation, templateCount } of states) {
      const loaded = this.store.load(name, generation, this.repository.templateRefs(name));
      if ('index' in loaded) {
        this.indexes.set(name, { index: loaded.index, generation });
        this.options.logger.info({ partition: name, templates: loaded.index.size }, 'loaded FAISS index');
        continue;
      }
      this.options.logger.warn({ partition: name, reason: loaded.reason }, 'rebuilt FAISS index from SQLite');
      const index = PartitionIndex.build(this.options.dimension, this.repository.indexedTemplates(name), templateCount);
      this.indexes.set(name, { index, generation });
      // Save the rebuilt index so the next start loads it.
      this.markChanged(name, generation);
    }
  }

  private markChanged(partition: string, generation: number): void {
    this.indexes.get(partition)!.generation = generation;
    this.unsaved.add(partition);
    this.flushTimer ??= setTimeout(() => this.flushQuietly(), this.options.flushDelayMs).unref();
  }

  private flushQuietly(): void {
    try {
      this.saveChanged();
    } catch {
      // Already logged per partition; the indexes stay marked unsaved for the next flush.
    }
  }

  private assertTemplate(vector: Template): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.options.dimension) {
      throw new Error(`template must be a Float32Array of ${this.options.dimension} values`);
    }
    if (!vector.every(Number.isFinite)) throw new Error('template holds a non-finite value');
  }
}
