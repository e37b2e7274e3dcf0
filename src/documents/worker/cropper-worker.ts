import { parentPort, workerData } from 'node:worker_threads';
import { ApiError } from '../../errors.ts';
import { ownMemory, type SerializedError } from '../../workers/worker-pool.ts';
import { DocumentCropper } from '../document-cropper.ts';
import type { CropperMessage, CropperWorkerData, CropRequest } from './protocol.ts';

const port = parentPort!;
const post = (message: CropperMessage) => port.postMessage(message);
const { modelsDir, pipeline, options } = workerData as CropperWorkerData;

function serialize(error: unknown): SerializedError {
  if (error instanceof ApiError) return { code: error.code, message: error.message, details: error.details };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error), details: {} };
}

try {
  const cropper = await DocumentCropper.create(modelsDir, pipeline, options);
  port.on('message', async ({ id, image }: CropRequest) => {
    try {
      post({ type: 'result', id, result: await cropper.crop(image), memory: ownMemory() });
    } catch (error) {
      post({ type: 'error', id, error: serialize(error), memory: ownMemory() });
    }
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
