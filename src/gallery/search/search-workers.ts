import { Worker } from 'node:worker_threads';
import type { SubjectMatch } from '../gallery.ts';
import type { IvfEntry, IvfSettings } from '../ivf-index.ts';
import type { PackedTemplates, SearchReply, SearchRequest, SearchWorkerData, ShardFile, ShardStats } from './search-protocol.ts';

type RequestBody = SearchRequest extends infer R ? (R extends SearchRequest ? Omit<R, 'id'> : never) : never;

/** One worker thread and the replies it still owes. */
class SearchWorker {
  private readonly pending = new Map<number, { resolve(reply: SearchReply): void; reject(error: Error): void }>();
  private nextId = 1;
  /** set once the thread died: its shards are gone until the gallery is reopened */
  lost: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: SearchReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.type === 'error') waiting?.reject(new Error(`search worker: ${reply.message}`));
      else waiting?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.lost ??= error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`search worker exited with code ${code}`)));
  }

  /** Posts at once (so messages keep the order of the calls) and resolves with the reply. */
  send(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<SearchReply> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export interface SearchWorkersOptions {
  dimension: number;
  /** threads; each owns one shard of every partition, so one per core scans a partition on every core at once */
  workers: number;
  /** base64 of the template key: the workers seal and open the shard files */
  templateKey: string;
  /** share of each shard's inverted lists a search scans */
  probeFraction: number;
}

/**
 * Every partition's index, split into one shard per worker thread. A search costs the main thread one
 * postMessage per shard and a merge; the shards are scanned in parallel, off the event loop. Each
 * method posts its messages before its first await, so calls reach every worker in the order they
 * were made. A subject's templates may sit in several shards: each shard answers its own best `topK`
 * subjects, and a subject in the overall top `topK` is in the top `topK` of the shard holding its best
 * template, so merging by best similarity is exact over what the shards scanned.
 */
export class SearchWorkers {
  /** templates per shard, per partition: counted when a message is sent, corrected by each reply */
  private readonly sizes = new Map<string, number[]>();
  private readonly kinds = new Map<string, ShardStats>();

  private constructor(
    private readonly dimension: number,
    private readonly probeFraction: number,
    private readonly workers: SearchWorker[],
  ) {}

  static async start({ dimension, workers, templateKey, probeFraction }: SearchWorkersOptions): Promise<SearchWorkers> {
    const workerData: SearchWorkerData = { dimension, templateKey };
    const threads = Array.from({ length: workers }, () => new Worker(new URL('./bootstrap.mjs', import.meta.url), { workerData, execArgv: [] }));
    const pool = new SearchWorkers(dimension, probeFraction, threads.map((thread) => new SearchWorker(thread)));
    try {
      // An answer to any message means the worker has loaded its module.
      await Promise.all(pool.workers.map((worker) => worker.send({ type: 'drop', partition: '' })));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get shardCount(): number {
    return this.workers.length;
  }

  /** false once any worker died */
  get healthy(): boolean {
    return this.workers.every((worker) => !worker.lost);
  }

  /** Templates in a partition's shards, as the workers last reported (plus what is on its way). */
  size(partition: string): number {
    return (this.sizes.get(partition) ?? []).reduce((sum, size) => sum + size, 0);
  }

  /** The index kind of a partition's shards: exact, or inverted lists and how many are scanned. */
  stats(partition: string): ShardStats | undefined {
    return this.kinds.get(partition);
  }

  /**
   * Replaces a partition's shards: templates are dealt round-robin and each worker builds its own
   * (trained into inverted lists when `settings` is given, exact otherwise).
   */
  async build(partition: string, templates: Iterable<IvfEntry>, count: number, settings?: IvfSettings): Promise<void> {
    const capacity = Math.ceil(count / this.workers.length);
    const packs = this.workers.map(() => emptyPack(capacity, this.dimension));
    let dealt = 0;
    for (const entry of templates) {
      if (dealt === count) throw new Error(`more than the ${count} templates announced`);
      appendTo(packs[dealt % this.workers.length], entry, this.dimension);
      dealt++;
    }
    this.sizes.set(partition, packs.map((pack) => pack.count));
    await this.everyShard(partition, (worker, shard) => {
      const pack = trimmed(packs[shard], this.dimension);
      return worker.send({ type: 'build', partition, templates: pack, settings }, transferOf(pack));
    });
  }

  /** Trains inverted lists over what each shard holds now; searches queue behind it. */
  async retrain(partition: string, settings: IvfSettings): Promise<void> {
    await this.everyShard(partition, (worker) => worker.send({ type: 'retrain', partition, settings }));
  }

  /** Appends to the partition's smallest shard, which puts each template in its nearest list. */
  async add(partition: string, templates: readonly IvfEntry[]): Promise<void> {
    if (templates.length === 0) return;
    const sizes = this.sizesOf(partition);
    const shard = sizes.indexOf(Math.min(...sizes));
    const pack = emptyPack(templates.length, this.dimension);
    for (const entry of templates) appendTo(pack, entry, this.dimension);
    // Counted now, so adds sent before the reply spread over the shards too.
    sizes[shard] += templates.length;
    this.record(partition, shard, await this.workers[shard].send({ type: 'add', partition, templates: pack }, transferOf(pack)));
  }

  /** Every shard drops the ids it holds (a delete moves one vector per template, see IvfIndex). */
  async remove(partition: string, templateIds: readonly number[]): Promise<void> {
    if (templateIds.length === 0) return;
    await this.everyShard(partition, (worker) => worker.send({ type: 'remove', partition, templateIds: [...templateIds] }));
  }

  /** Best `topK` subjects over every shard of the partition; [] for a partition without shards. */
  async search(partition: string, probe: Float32Array, topK: number, sources?: ReadonlySet<string>): Promise<SubjectMatch[]> {
    if (topK === 0 || !this.sizes.has(partition)) return [];
    const replies = await Promise.all(this.workers.map((worker) => worker.send({ type: 'search', partition, probe, topK, probeFraction: this.probeFraction, sources: sources && [...sources] })));
    const best = new Map<string, number>();
    for (const reply of replies) {
      if (reply.type !== 'matches') continue;
      for (const { subjectId, similarity } of reply.matches) best.set(subjectId, Math.max(similarity, best.get(subjectId) ?? -Infinity));
    }
    return [...best]
      .map(([subjectId, similarity]) => ({ subjectId, similarity }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, topK);
  }

  /** Each worker seals its shard into `files[shard]` and syncs it; resolves with what each file holds. */
  async save(partition: string, files: readonly ShardFile[]): Promise<Array<{ count: number; bytes: number }>> {
    const replies = await this.everyShard(partition, (worker, shard) => worker.send({ type: 'save', partition, file: files[shard] }));
    return replies.map((reply) => (reply.type === 'saved' ? { count: reply.stats.size, bytes: reply.bytes } : { count: 0, bytes: 0 }));
  }

  /** Each worker opens and reads `files[shard]`; resolves with the template ids each shard holds. */
  async load(partition: string, files: readonly ShardFile[]): Promise<Float64Array[]> {
    this.sizes.set(partition, this.workers.map(() => 0));
    const replies = await this.everyShard(partition, (worker, shard) => worker.send({ type: 'load', partition, file: files[shard] }));
    return replies.map((reply) => (reply.type === 'loaded' ? reply.templateIds : new Float64Array()));
  }

  async drop(partition: string): Promise<void> {
    this.sizes.delete(partition);
    this.kinds.delete(partition);
    await Promise.all(this.workers.map((worker) => worker.send({ type: 'drop', partition })));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private sizesOf(partition: string): number[] {
    let sizes = this.sizes.get(partition);
    if (!sizes) this.sizes.set(partition, (sizes = this.workers.map(() => 0)));
    return sizes;
  }

  /** Sends to every shard of the partition at once and records what each reports. */
  private async everyShard(partition: string, send: (worker: SearchWorker, shard: number) => Promise<SearchReply>): Promise<SearchReply[]> {
    this.sizesOf(partition);
    const replies = await Promise.all(this.workers.map((worker, shard) => send(worker, shard)));
    replies.forEach((reply, shard) => this.record(partition, shard, reply));
    return replies;
  }

  private record(partition: string, shard: number, reply: SearchReply): void {
    if (reply.type !== 'done' && reply.type !== 'loaded' && reply.type !== 'saved') return;
    const sizes = this.sizes.get(partition);
    // A partition dropped meanwhile stays dropped.
    if (!sizes) return;
    sizes[shard] = reply.stats.size;
    this.kinds.set(partition, reply.stats);
  }
}

interface Pack extends PackedTemplates {
  count: number;
}

function emptyPack(capacity: number, dimension: number): Pack {
  return { templateIds: new Float64Array(capacity), subjectIds: [], sources: [], vectors: new Float32Array(capacity * dimension), count: 0 };
}

function appendTo(pack: Pack, { templateId, subjectId, source, vector }: IvfEntry, dimension: number): void {
  if (vector.length !== dimension) throw new Error(`template ${templateId} has ${vector.length} values, expected ${dimension}`);
  pack.templateIds[pack.count] = templateId;
  pack.subjectIds.push(subjectId);
  pack.sources.push(source);
  pack.vectors.set(vector, pack.count * dimension);
  pack.count++;
}

/** The filled part only; a copy when the shard got fewer templates than its capacity. */
function trimmed(pack: Pack, dimension: number): PackedTemplates {
  const { templateIds, subjectIds, sources, vectors } = pack;
  if (pack.count === templateIds.length) return { templateIds, subjectIds, sources, vectors };
  return { templateIds: templateIds.slice(0, pack.count), subjectIds, sources, vectors: vectors.slice(0, pack.count * dimension) };
}

function transferOf(pack: PackedTemplates): ArrayBuffer[] {
  return [pack.vectors.buffer as ArrayBuffer, pack.templateIds.buffer as ArrayBuffer];
}
