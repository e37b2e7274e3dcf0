import type { SerializedError } from '../../pipeline/worker/protocol.ts';
import type { PipelineConfig } from '../../pipeline/config.ts';
import type { CroppedDocument, CropperOptions } from '../document-cropper.ts';

// Messages between CropperPool and its worker threads.

export interface CropperWorkerData {
  modelsDir: string;
  pipeline: PipelineConfig;
  options: CropperOptions;
}

export interface CropRequest {
  id: number;
  image: Uint8Array;
}

export type CropperMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: CroppedDocument }
  | { type: 'error'; id: number; error: SerializedError };
