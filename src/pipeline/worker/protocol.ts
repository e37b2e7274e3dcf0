import type { ErrorCode } from '../../errors.ts';
import type { PipelineConfig } from '../config.ts';
import type { PipelineHealth } from '../face-pipeline.ts';
import type { PipelinePurpose, PipelineResult, StageState } from '../types.ts';

// Messages between PipelinePool and its worker threads.

export interface WorkerData {
  modelsDir: string;
  config: PipelineConfig;
}

export interface JobRequest {
  id: number;
  image: Uint8Array;
  purpose: PipelinePurpose;
}

/** An ApiError flattened for postMessage; anything else crosses as `internal_error`. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details: Record<string, string | number | boolean>;
}

export type WorkerMessage =
  | { type: 'ready'; modelId: string; health: PipelineHealth; stages: Record<string, StageState> }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: PipelineResult }
  | { type: 'error'; id: number; error: SerializedError };
