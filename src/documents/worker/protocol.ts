import type { PoolMessage, PoolRequest } from '../../workers/worker-pool.ts';
import type { PipelineConfig } from '../../pipeline/config.ts';
import type { CroppedDocument, CropperOptions } from '../document-cropper.ts';

// Messages between CropperPool and its worker threads.

export interface CropperWorkerData {
  modelsDir: string;
  pipeline: PipelineConfig;
  options: CropperOptions;
}

export type CropRequest = PoolRequest<object>;

export type CropperMessage = PoolMessage<object, CroppedDocument>;
