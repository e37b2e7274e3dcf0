import type { Logger } from '../logger.ts';
import type { Template } from '../pipeline/types.ts';
import type { Gallery, SourcedTemplate, SubjectDetail, SubjectListing, SubjectMatch, TemplateRecord } from './gallery.ts';
import type { GalleryRepository } from './gallery-repository.ts';
import { assertPartitionName, assertSubjectId } from './identifiers.ts';
import type { IndexStore } from './index-store.ts';
import { indexSettings, type SearchConfig } from './search/search-config.ts';
import type { SearchWorkers } from './search/search-workers.ts';

/** Templates sent to the workers at a time when catching up a stale index. */
const CATCH_UP_BATCH = 1000;

function* take<T>(items: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    const next = items.next();
    if (next.done) return;
    yield next.value;
  }
}

export interface SqliteGalleryOptions {
  dimension: number;
  flushDelayMs: number;
  logger: Logger;
  search: SearchConfig;
}

/**
 * SQLite holds every template; the search workers hold each partition's index (one shard per worker)
 * and answer searches off the event loop. The indexes are saved to disk only to skip a rebuild at
 * start-up. Each write commits to SQLite and posts the index change before anything else can run, and
 * resolves once the workers applied it, so no later request sees one without the other.
 */
export class SqliteGallery implements Gallery {
  /** the SQLite generation each partition's index reflects */
  private readonly generations = new Map<string, number>();
  /** templates per partition in SQLite, kept in step by the writes: decides when a partition goes approximate */
  private readonly counts = new Map<string, number>();
  /** partitions whose index changed since it was last saved */
  private readonly unsaved = new Set<string>();
  /** partitions whose index missed a write (the worker refused it): unhealthy until rebuilt at the next start */
  private readonly failed = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** the flush in progress: flushes run one after another, never two saves of one partition at once */
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly repository: GalleryRepository,
    private readonly store: IndexStore,
    private readonly workers: SearchWorkers,
    private readonly options: SqliteGalleryOptions,
  ) {}

  /** Loads each partition's saved index into the workers, or rebuilds it from SQLite when it does not match. */
  static async open(repository: GalleryRepository, store: IndexStore, workers: SearchWorkers, options: SqliteGalleryOptions): Promise<SqliteGallery> {
    const gallery = new SqliteGallery(repository, store, workers, options);
    await gallery.loadIndexes();
    return gallery;
  }

  async enrol(partition: string, subjectId: string, record: TemplateRecord): Promise<void> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    this.assertTemplate(record.template);
    const { templateId, generation } = this.repository.insertTemplate(partition, subjectId, record);
    const count = (this.counts.get(partition) ?? 0) + 1;
    this.counts.set(partition, count);
    const indexed = this.workers.add(partition, [{ templateId, subjectId, source: record.source, vector: record.template }]);
    this.markChanged(partition, generation);
    await this.applied(partition, indexed);
    if (count === this.options.search.approximateAbove) this.goApproximate(partition, count);
  }

  async deleteSubject(partition: string, subjectId: string): Promise<boolean> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    const deleted = this.repository.deleteSubject(partition, subjectId);
    if (!deleted) return false;
    this.counts.set(partition, (this.counts.get(partition) ?? 0) - deleted.templateIds.length);
    const removed = this.workers.remove(partition, deleted.templateIds);
    this.markChanged(partition, deleted.generation);
    await this.applied(partition, removed);
    return true;
  }

  async search(partition: string, probe: Template, topK: number, sources?: ReadonlySet<string>): Promise<SubjectMatch[]> {
    assertPartitionName(partition);
    this.assertTemplate(probe);
    if (!Number.isInteger(topK) || topK < 0) throw new Error(`topK must be a non-negative integer, got ${topK}`);
    return this.workers.search(partition, probe, topK, sources);
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
    return { sqlite: this.repository.templateCount(partition), index: this.workers.size(partition) };
  }

  /** No SQL and no worker round trip: /health must answer while the workers scan a million templates. */
  async isHealthy(): Promise<boolean> {
    return this.workers.healthy && this.failed.size === 0;
  }

  async templateKeyCurrent(): Promise<boolean> {
    return this.repository.keyIsCurrent();
  }

  /** Saves every changed index; tries them all, then throws if any failed (each is logged). */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const flushed = this.flushing.then(() => this.saveChanged());
    this.flushing = flushed.catch(() => undefined);
    return flushed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      await this.workers.close();
      this.repository.close();
    }
  }

  private async saveChanged(): Promise<void> {
    const failures: unknown[] = [];
    for (const partition of [...this.unsaved]) {
      // Taken off first: a write while the workers save marks it again, for the next flush.
      this.unsaved.delete(partition);
      try {
        await this.store.save(partition, this.generations.get(partition)!, this.workers);
      } catch (error) {
        this.unsaved.add(partition);
        this.options.logger.error({ partition, err: error }, 'could not save search index');
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `could not save ${failures.length} search index(es)`);
  }

  private async loadIndexes(): Promise<void> {
    const states = this.repository.partitionStates();
    this.store.removeStrayFiles(new Set(states.map((state) => state.name)));
    for (const { name, generation, templateCount } of states) {
      this.generations.set(name, generation);
      this.counts.set(name, templateCount);
      const settings = indexSettings(this.options.search, name, templateCount);
      const loaded = await this.store.load(name, generation, () => this.repository.templateIds(name), this.workers);
      const stats = this.workers.stats(name);
      if (loaded.loaded && stats && stats.exact === !settings) {
        if (loaded.missing.length > 0 || loaded.extra.length > 0) await this.catchUp(name, generation, loaded);
        this.options.logger.info({ partition: name, templates: templateCount, lists: stats.lists }, 'loaded search index');
        continue;
      }
      const reason = loaded.loaded ? `saved ${stats?.exact ? 'exact' : 'approximate'}, configured ${settings ? 'approximate' : 'exact'}` : loaded.reason;
      this.options.logger.warn({ partition: name, reason }, 'rebuilt search index from SQLite');
      const started = performance.now();
      await this.workers.build(name, this.repository.indexedTemplates(name), templateCount, settings);
      this.options.logger.info({ partition: name, templates: templateCount, lists: settings?.lists ?? 1, ms: Math.round(performance.now() - started) }, 'built search index');
      // Save the rebuilt index so the next start loads it.
      this.markChanged(name, generation);
    }
  }

  /**
   * Applies to a loaded index the writes SQLite committed after it was saved (a crash before the flush):
   * far cheaper than a rebuild, which retrains the lists of an approximate partition.
   */
  private async catchUp(partition: string, generation: number, { savedGeneration, missing, extra }: { savedGeneration: number; missing: number[]; extra: number[] }): Promise<void> {
    const started = performance.now();
    await this.workers.remove(partition, extra);
    // In batches, so the additions spread over the shards (each batch goes to the smallest).
    const templates = this.repository.indexedTemplatesById(partition, missing);
    for (let batch = [...take(templates, CATCH_UP_BATCH)]; batch.length > 0; batch = [...take(templates, CATCH_UP_BATCH)]) await this.workers.add(partition, batch);
    this.options.logger.warn(
      { partition, savedGeneration, generation, added: missing.length, removed: extra.length, ms: Math.round(performance.now() - started) },
      'caught up a stale search index from SQLite',
    );
    this.markChanged(partition, generation);
  }

  /** The partition reached search.approximateAbove: its shards train inverted lists (searches wait meanwhile). */
  private goApproximate(partition: string, count: number): void {
    const settings = indexSettings(this.options.search, partition, count);
    if (!settings || this.workers.stats(partition)?.exact === false) return;
    this.options.logger.info({ partition, templates: count, lists: settings.lists }, 'training inverted lists: the partition reached search.approximateAbove');
    const trained = this.workers.retrain(partition, settings);
    this.markChanged(partition, this.generations.get(partition)!);
    this.applied(partition, trained).catch(() => undefined);
  }

  /** Waits for the workers to apply a write; one they refused leaves the index short, so health says so. */
  private async applied(partition: string, change: Promise<void>): Promise<void> {
    try {
      await change;
    } catch (error) {
      this.failed.add(partition);
      this.options.logger.error({ partition, err: error }, 'the search index missed a write: it is rebuilt from SQLite at the next start');
      throw error;
    }
  }

  private markChanged(partition: string, generation: number): void {
    this.generations.set(partition, generation);
    this.unsaved.add(partition);
    this.flushTimer ??= setTimeout(() => this.flush().catch(() => undefined), this.options.flushDelayMs).unref();
  }

  private assertTemplate(vector: Template): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.options.dimension) {
      throw new Error(`template must be a Float32Array of ${this.options.dimension} values`);
    }
    if (!vector.every(Number.isFinite)) throw new Error('template holds a non-finite value');
  }
}
