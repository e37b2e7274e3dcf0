import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
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

/** Bytes per read or write call: one call moves at most 2 GiB, and a shard of a million templates is 2 GB. */
const IO_CHUNK_BYTES = 256 << 20;

/** Writes, then syncs: the caller renames the file into place only once every shard is on disk. */
function writeSynced(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, Math.min(IO_CHUNK_BYTES, bytes.length - written));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readWhole(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.allocUnsafe(fstatSync(fd).size);
    for (let read = 0; read < bytes.length; ) {
      const got = readSync(fd, bytes, read, Math.min(IO_CHUNK_BYTES, bytes.length - read), read);
      if (got === 0) throw new Error(`${path} ended at byte ${read} of ${bytes.length}`);
      read += got;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
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
      const sealed = cipher.seal(shard.toBytes(), request.file.context);
      writeSynced(request.file.path, sealed);
      return { id, type: 'saved', stats: statsOf(shard), bytes: sealed.length };
    }
    case 'load': {
      const shard = IvfIndex.fromBytes(cipher.open(readWhole(request.file.path), request.file.context), dimension);
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
