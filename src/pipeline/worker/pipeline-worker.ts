import { parentPort, workerData } from 'node:worker_threads';
import { measurePhoto } from '../../compliance/measures/index.ts';
import { ApiError } from '../../errors.ts';
import { FacePipeline } from '../face-pipeline.ts';
import { ownMemory } from '../../workers/worker-pool.ts';
import type { JobRequest, JobResult, SerializedError, WorkerData, WorkerMessage } from './protocol.ts';

const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);
const { modelsDir, config } = workerData as WorkerData;

function serialize(error: unknown): SerializedError {
  if (error instanceof ApiError) return { code: error.code, message: error.message, details: error.details };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error), details: {} };
}

try {
  const pipeline = await FacePipeline.create(modelsDir, config);
  port.on('message', async (request: JobRequest) => {
    try {
      const run = async (): Promise<JobResult> => {
        switch (request.kind) {
          case 'biometric':
            return pipeline.process(request.image, request.purpose);
          case 'photo-check':
            return measurePhoto(await pipeline.examine(request.image));
          case 'morph-check':
            return pipeline.scoreMorph(request.image);
        }
      };
      const result = await run();
      post({ type: 'result', id: request.id, result, memory: ownMemory() });
    } catch (error) {
      post({ type: 'error', id: request.id, error: serialize(error), memory: ownMemory() });
    }
  });
  post({ type: 'ready', modelId: pipeline.modelId, health: pipeline.health(), stages: pipeline.stages() });
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
