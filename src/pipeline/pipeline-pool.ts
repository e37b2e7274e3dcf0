import type { PhotoMeasurements } from '../compliance/measures/index.ts';
import type { Logger } from '../logger.ts';
import { type WorkerMemory, WorkerPool } from '../workers/worker-pool.ts';
import type { PipelineConfig } from './config.ts';
import type { MorphCheck, PipelineHealth } from './face-pipeline.ts';
import type { PipelinePurpose, PipelineResult, StageState } from './types.ts';
import type { JobFields, JobResult, PipelineReady, WorkerData } from './worker/protocol.ts';

export interface PipelinePoolOptions {
  modelsDir: string;
  config: PipelineConfig;
  logger: Logger;
}

const UNHEALTHY: PipelineHealth = { onnx_detection: false, onnx_recognition: false, onnx_quality: false, onnx_pad: false };

/**
 * The face pipeline in worker threads (WorkerPool): ONNX Runtime's `run` blocks the thread that calls
 * it, so the event loop only hands images over and gets numbers back.
 */
export class PipelinePool {
  private constructor(private readonly pool: WorkerPool<JobFields, JobResult, PipelineReady>) {}

  /** Starts every worker and waits until each has loaded its models; throws the first load error. */
  static async start({ modelsDir, config, logger }: PipelinePoolOptions): Promise<PipelinePool> {
    const workerData: WorkerData = { modelsDir, config };
    const pool = await WorkerPool.start<JobFields, JobResult, PipelineReady>({
      name: 'pipeline',
      bootstrap: new URL('./worker/bootstrap.mjs', import.meta.url),
      workerData,
      workers: config.workers,
      maxQueue: config.maxQueue,
      logger,
      lostJobMessage: 'the image could not be processed',
    });
    return new PipelinePool(pool);
  }

  get modelId(): string {
    return this.pool.ready.modelId;
  }

  health(): PipelineHealth {
    return this.pool.alive ? this.pool.ready.health : UNHEALTHY;
  }

  stages(): Record<string, StageState> {
    return this.pool.ready.stages;
  }

  /** jobs running and waiting, for metrics */
  load(): { running: number; queued: number; workers: number } {
    return this.pool.load();
  }

  /** each worker's JavaScript memory, for metrics */
  memory(): WorkerMemory[] {
    return this.pool.memory();
  }

  /** Throws the 503 that process() would give now; the HTTP layer asks before it reads an upload. */
  assertCanAccept(): void {
    this.pool.assertCanAccept();
  }

  process(image: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult> {
    return this.pool.submit({ kind: 'biometric', purpose }, image) as Promise<PipelineResult>;
  }

  /** The photo-compliance measures of one photo (geometry pass + pixel statistics), in a worker. */
  measurePhoto(image: Uint8Array): Promise<PhotoMeasurements> {
    return this.pool.submit({ kind: 'photo-check' }, image) as Promise<PhotoMeasurements>;
  }

  /** One photo's single-image MAD score and template, in a worker, refusing nothing for being a morph. */
  scoreMorph(image: Uint8Array): Promise<MorphCheck> {
    return this.pool.submit({ kind: 'morph-check' }, image) as Promise<MorphCheck>;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
