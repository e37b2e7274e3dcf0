import type { PhotoMeasurements } from '../../compliance/measures/index.ts';
import type { PoolMessage, PoolRequest } from '../../workers/worker-pool.ts';
import type { PipelineConfig } from '../config.ts';
import type { MorphCheck, PipelineHealth } from '../face-pipeline.ts';
import type { PipelinePurpose, PipelineResult, StageState } from '../types.ts';

// Messages between PipelinePool and its worker threads.

export interface WorkerData {
  modelsDir: string;
  config: PipelineConfig;
}

/**
 * `biometric`: the whole pipeline for enrol / search / verify; `photo-check`: geometry and photo measures
 * only; `morph-check`: the S-MAD score and template of one photo, refusing nothing.
 */
export type JobFields = { kind: 'biometric'; purpose: PipelinePurpose } | { kind: 'photo-check' } | { kind: 'morph-check' };
export type JobRequest = PoolRequest<JobFields>;

export type JobResult = PipelineResult | PhotoMeasurements | MorphCheck;

/** what a worker has loaded */
export interface PipelineReady {
  modelId: string;
  health: PipelineHealth;
  stages: Record<string, StageState>;
}

export type WorkerMessage = PoolMessage<PipelineReady, JobResult>;
export type { SerializedError } from '../../workers/worker-pool.ts';
