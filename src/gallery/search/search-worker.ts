import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { TemplateCipher } from '../../security/template-cipher.ts';
import { type IvfEntry, IvfIndex } from '../ivf-index.ts';
import { probesFor } from './search-config.ts';
import type { PackedTemplates, SearchReply, SearchRequest, SearchWorkerData, ShardStats } from './search-protocol.ts';

// One shard of every partition. The shards live here, not in the main thread, so scanning them never
// holds up the event loop; sealing and opening their files happens here too, for the same reason.
const port = parentPort!;
const { dimension, templateKey } = workerData as SearchWorkerData;
const cipher = new TemplateCipher(Buffer.from(templateKey, 'base64'));
const shards = new Map<string, IvfIndex>();

/**
 * A scan may take a second of CPU; the main thread answers /health and every request in between. Niced,
 * these threads give way whenever the main thread (or a pipeline worker) wakes on a busy host.
 */
const SEARCH_NICENESS = 10;
try {
  // Linux: /proc/thread-self names this thread's id, and setpriority on a thread id sets that thread alone.
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').at(-1)), SEARCH_NICENESS);
} catch {
  // Not Linux: the thread keeps the process's priority.
}

function* unpack({ templateIds, subjectIds, sources, vectors }: PackedTemplates): Generator<IvfEntry> {
  for (let i = 0; i < templateIds.length; i++) {
    yield { templateId: templateIds[i], subjectId: subjectIds[i], source: sources[i], vector: vectors.subarray(i * dimension, (i + 1) * dimension) };
  }
}

function shardOf(partition: string): IvfIndex {
  let shard = shards.get(partition);
  if (!shard) shards.set(partition, (shard = IvfIndex.exact(dimension)));
  return shard;
}

function statsOf(shard: IvfIndex): ShardStats {
  return { size: shard.size, lists: shard.listCount, exact: shard.exact };
}

function handle(request: SearchRequest): SearchReply {
  const { id, partition } = request;
  switch (request.type) {
    case 'build': {
      const entries = [...unpack(request.templates)];
      const shard = request.settings ? IvfIndex.train(dimension, entries, request.settings) : IvfIndex.exact(dimension);
      if (!request.settings) for (const entry of entries) shard.add(entry);
      shards.set(partition, shard);
      return { id, type: 'done', stats: statsOf(shard) };
    }
    case 'retrain': {
      const shard = IvfIndex.train(dimension, [...shardOf(partition).entries()], request.settings);
      shards.set(partition, shard);
      return { id, type: 'done', stats: statsOf(shard) };
    }
    case 'add': {
      const shard = shardOf(partition);
      for (const entry of unpack(request.templates)) shard.add(entry);
      return { id, type: 'done', stats: statsOf(shard) };
    }
    case 'remove': {
      const shard = shardOf(partition);
      shard.remove(request.templateIds);
      return { id, type: 'done', stats: statsOf(shard) };
    }
    case 'search': {
      const shard = shards.get(partition);
      const matches = shard ? shard.search(request.probe, request.topK, probesFor(shard.listCount, request.probeFraction), request.sources && new Set(request.sources)) : [];
      return { id, type: 'matches', matches };
    }
    case 'save': {
      const shard = shardOf(partition);
      // Sealed as it is written: the worker never holds the sealed copy beside the plaintext.
      const bytes = cipher.sealToFile(shard.toBytes(), request.file.path, request.file.context);
      return { id, type: 'saved', stats: statsOf(shard), bytes };
    }
    case 'load': {
      const shard = IvfIndex.fromBytes(cipher.openFromFile(request.file.path, request.file.context), dimension);
      shards.set(partition, shard);
      return { id, type: 'loaded', stats: statsOf(shard), templateIds: shard.templateIds() };
    }
    case 'drop':
      shards.delete(partition);
      return { id, type: 'done', stats: { size: 0, lists: 0, exact: true } };
  }
}

port.on('message', (request: SearchRequest) => {
  let reply: SearchReply;
  try {
    reply = handle(request);
  } catch (error) {
    reply = { id: request.id, type: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, reply.type === 'loaded' ? [reply.templateIds.buffer as ArrayBuffer] : []);
});
