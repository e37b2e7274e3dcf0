import { parentPort, workerData } from 'node:worker_threads';
import { type IvfEntry, IvfIndex } from '../ivf-index.ts';
import type { PackedTemplates, ShardReply, ShardRequest, ShardWorkerData } from './shard-protocol.ts';

// One shard of a partition's index. It lives here, not in the main thread, so scanning it never holds
// up the event loop; the main thread keeps only the routing.
const port = parentPort!;
const { dimension } = workerData as ShardWorkerData;
let index = IvfIndex.exact(dimension);

function* unpack({ templateIds, subjectIds, vectors }: PackedTemplates): Generator<IvfEntry> {
  for (let i = 0; i < templateIds.length; i++) {
    yield { templateId: templateIds[i], subjectId: subjectIds[i], vector: vectors.subarray(i * dimension, (i + 1) * dimension) };
  }
}

function handle(request: ShardRequest): ShardReply {
  switch (request.type) {
    case 'build':
      index = IvfIndex.train(dimension, [...unpack(request.templates)], request.settings);
      break;
    case 'add':
      for (const entry of unpack(request.templates)) index.add(entry);
      break;
    case 'remove':
      index.remove(request.templateIds);
      break;
    case 'search':
      return { id: request.id, type: 'matches', matches: index.search(request.probe, request.topK, request.probes) };
  }
  return { id: request.id, type: 'done', stats: { size: index.size, lists: index.listCount } };
}

port.on('message', (request: ShardRequest) => {
  let reply: ShardReply;
  try {
    reply = handle(request);
  } catch (error) {
    reply = { id: request.id, type: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
