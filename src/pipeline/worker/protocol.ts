import type { PhotoMeasurements } from '../../compliance/measures/index.ts';
import type { ErrorCode } from '../../errors.ts';
import type { PipelineConfig } from '../config.ts';
import type { PipelineHealth } from '../face-pipeline.ts';
import type { PipelinePurpose, PipelineResult, StageState } from '../types.ts';

// Messages between PipelinePool and its worker threads.

export interface WorkerData {
  modelsDir: string;
  config: PipelineConfig;
}

/** `biometric`: the whole pipeline for enrol / search / verify; `photo-check`: geometry and photo measures only. */
export type JobRequest =
  | { id: number; kind: 'biometric'; image: Uint8Array; purpose: PipelinePurpose }
  | { id: number; kind: 'photo-check'; image: Uint8Array };

export type JobResult = PipelineResult | PhotoMeasurements;

/** An ApiError flattened for postMessage; anything else crosses as `internal_error`. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details: Record<string, string | number | boolean>;
}

export type WorkerMessage =
  | { type: 'ready'; modelId: string; health: PipelineHealth; stages: Record<string, StageState> }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: JobResult }
  | { type: 'error'; id: number; error: SerializedError };
