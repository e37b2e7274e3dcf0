import { Worker } from 'node:worker_threads';
import type { SubjectMatch } from '../gallery.ts';
import type { IvfEntry, IvfSettings } from '../ivf-index.ts';
import type { PackedTemplates, ShardReply, ShardRequest, ShardStats, ShardWorkerData } from './shard-protocol.ts';

type RequestBody = ShardRequest extends infer R ? (R extends ShardRequest ? Omit<R, 'id'> : never) : never;

/** One worker thread and the replies it still owes. */
class Shard {
  private readonly pending = new Map<number, { resolve(reply: ShardReply): void; reject(error: Error): void }>();
  private nextId = 1;
  size = 0;
  /** set once the worker died: its templates are gone until the index is rebuilt */
  lost: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ShardReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.type === 'done') this.size = reply.stats.size;
      if (reply.type === 'error') waiting?.reject(new Error(`search shard: ${reply.message}`));
      else waiting?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.lost ??= error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`search shard worker exited with code ${code}`)));
  }

  send(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<ShardReply> {
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

export interface ShardedIndexOptions {
  dimension: number;
  /** worker threads, each owning one shard; one per core searches them all at once */
  shards: number;
}

/**
 * A partition's index split across worker threads: each worker owns the vectors of its shard (an
 * IvfIndex), so a search costs the main thread two postMessages per shard and the shards are scanned
 * in parallel. A subject's templates may sit in several shards; each shard answers its own best `topK`
 * subjects, and a subject in the overall top `topK` is in the top `topK` of the shard holding its best
 * template, so merging the answers by best similarity is exact over what the shards scanned.
 */
export class ShardedIndex {
  private constructor(
    private readonly dimension: number,
    private readonly shards: Shard[],
  ) {}

  static async start({ dimension, shards }: ShardedIndexOptions): Promise<ShardedIndex> {
    const workerData: ShardWorkerData = { dimension };
    const workers = Array.from({ length: shards }, () => new Worker(new URL('./bootstrap.mjs', import.meta.url), { workerData, execArgv: [] }));
    const index = new ShardedIndex(dimension, workers.map((worker) => new Shard(worker)));
    // An empty search answers once the worker has loaded its module.
    await Promise.all(index.shards.map((shard) => shard.send({ type: 'remove', templateIds: [] })));
    return index;
  }

  get size(): number {
    return this.shards.reduce((sum, shard) => sum + shard.size, 0);
  }

  /** false once any worker died: its shard must be rebuilt from SQLite */
  get healthy(): boolean {
    return this.shards.every((shard) => !shard.lost);
  }

  /** Replaces every shard's contents: templates are dealt round-robin and each worker trains its own lists. */
  async build(templates: Iterable<IvfEntry>, count: number, settings: IvfSettings): Promise<ShardStats[]> {
    const capacity = Math.ceil(count / this.shards.length);
    const packs = this.shards.map(() => emptyPack(capacity, this.dimension));
    let dealt = 0;
    for (const entry of templates) {
      if (dealt === count) throw new Error(`more than the ${count} templates announced`);
      appendTo(packs[dealt % this.shards.length], entry, this.dimension);
      dealt++;
    }
    const replies = await Promise.all(this.shards.map((shard, i) => this.sendPack(shard, 'build', trimmed(packs[i], this.dimension), settings)));
    return replies.map((reply) => (reply.type === 'done' ? reply.stats : { size: 0, lists: 0 }));
  }

  /** Appends to the smallest shard, which assigns each template to its nearest list. */
  async add(templates: readonly IvfEntry[]): Promise<void> {
    if (templates.length === 0) return;
    const shard = this.shards.reduce((smallest, candidate) => (candidate.size < smallest.size ? candidate : smallest));
    const pack = emptyPack(templates.length, this.dimension);
    for (const entry of templates) appendTo(pack, entry, this.dimension);
    // Counted now, so adds sent before the reply spread over the shards too.
    shard.size += templates.length;
    await this.sendPack(shard, 'add', pack);
  }

  /** Every shard drops the ids it holds. */
  async remove(templateIds: readonly number[]): Promise<void> {
    if (templateIds.length === 0) return;
    await Promise.all(this.shards.map((shard) => shard.send({ type: 'remove', templateIds: [...templateIds] })));
  }

  /** Best `topK` subjects over all shards; `probes` overrides the lists scanned per shard. */
  async search(probe: Float32Array, topK: number, probes?: number): Promise<SubjectMatch[]> {
    if (topK === 0) return [];
    const replies = await Promise.all(this.shards.map((shard) => shard.send({ type: 'search', probe, topK, probes })));
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

  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.terminate()));
  }

  private sendPack(shard: Shard, type: 'build' | 'add', templates: PackedTemplates, settings?: IvfSettings): Promise<ShardReply> {
    const transfer = [templates.vectors.buffer as ArrayBuffer, templates.templateIds.buffer as ArrayBuffer];
    return type === 'build' ? shard.send({ type, templates, settings: settings! }, transfer) : shard.send({ type, templates }, transfer);
  }
}

interface Pack extends PackedTemplates {
  count: number;
}

function emptyPack(capacity: number, dimension: number): Pack {
  return { templateIds: new Float64Array(capacity), subjectIds: [], vectors: new Float32Array(capacity * dimension), count: 0 };
}

function appendTo(pack: Pack, { templateId, subjectId, vector }: IvfEntry, dimension: number): void {
  if (vector.length !== dimension) throw new Error(`template ${templateId} has ${vector.length} values, expected ${dimension}`);
  pack.templateIds[pack.count] = templateId;
  pack.subjectIds.push(subjectId);
  pack.vectors.set(vector, pack.count * dimension);
  pack.count++;
}

/** The filled part only; a copy when the shard got fewer templates than its capacity. */
function trimmed(pack: Pack, dimension: number): PackedTemplates {
  if (pack.count === pack.templateIds.length) return pack;
  return { templateIds: pack.templateIds.slice(0, pack.count), subjectIds: pack.subjectIds, vectors: pack.vectors.slice(0, pack.count * dimension) };
}
