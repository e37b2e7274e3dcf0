import { Worker } from 'node:worker_threads';
import { ApiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { PipelineConfig } from './config.ts';
import type { PipelineHealth } from './face-pipeline.ts';
import type { PipelinePurpose, PipelineResult, StageState } from './types.ts';
import type { PhotoMeasurements } from '../compliance/measures/index.ts';
import type { JobRequest, JobResult, WorkerData, WorkerMessage } from './worker/protocol.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const BOOTSTRAP = new URL('./worker/bootstrap.mjs', import.meta.url);

export interface PipelinePoolOptions {
  modelsDir: string;
  config: PipelineConfig;
  logger: Logger;
}

interface Job {
  request: JobRequest;
  resolve(result: JobResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
}

type ReadyMessage = Extract<WorkerMessage, { type: 'ready' }>;

const UNHEALTHY: PipelineHealth = { onnx_detection: false, onnx_recognition: false, onnx_quality: false, onnx_pad: false };

/**
 * ONNX Runtime's `run` blocks the thread that calls it, so inference runs in worker threads, one job
 * per worker at a time. Jobs beyond the free workers wait in a bounded queue; past `maxQueue` a request
 * is refused at once with 503 rather than left to time out. A worker that dies fails its own job only
 * and is replaced.
 */
export class PipelinePool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly options: PipelinePoolOptions,
    private readonly ready: ReadyMessage,
  ) {}

  /** Starts every worker and waits until each has loaded its models; throws the first load error. */
  static async start(options: PipelinePoolOptions): Promise<PipelinePool> {
    const started = await Promise.allSettled(Array.from({ length: options.config.workers }, () => spawn(options)));
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
      throw failure.reason;
    }
    const pool = new PipelinePool(options, workers[0].ready);
    for (const { worker } of workers) pool.adopt(worker);
    return pool;
  }

  get modelId(): string {
    return this.ready.modelId;
  }

  health(): PipelineHealth {
    return [...this.slots].some((slot) => slot.ready) ? this.ready.health : UNHEALTHY;
  }

  stages(): Record<string, StageState> {
    return this.ready.stages;
  }

  /** jobs running and waiting, for metrics */
  load(): { running: number; queued: number; workers: number } {
    const running = [...this.slots].filter((slot) => slot.job).length;
    return { running, queued: this.queue.length, workers: this.slots.size };
  }

  /**
   * Throws the 503 that process() would give now. The HTTP layer asks before it reads an upload: under
   * overload, receiving and parsing images only to refuse them costs the main thread more than the refusal.
   */
  assertCanAccept(): void {
    if (this.closed) throw new ApiError('service_unavailable', 'the server is shutting down');
    if (!this.idleSlot() && this.queue.length >= this.options.config.maxQueue) {
      throw new ApiError('service_unavailable', 'all pipeline workers are busy; retry shortly', { queued: this.queue.length });
    }
  }

  process(image: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult> {
    return this.run({ kind: 'biometric', purpose }, image) as Promise<PipelineResult>;
  }

  /** The photo-compliance measures of one photo (geometry pass + pixel statistics), in a worker. */
  measurePhoto(image: Uint8Array): Promise<PhotoMeasurements> {
    return this.run({ kind: 'photo-check' }, image) as Promise<PhotoMeasurements>;
  }

  private run(kind: DistributiveOmit<JobRequest, 'id' | 'image'>, image: Uint8Array): Promise<JobResult> {
    try {
      this.assertCanAccept();
    } catch (error) {
      return Promise.reject(error);
    }
    const idle = this.idleSlot();
    // A private copy whose buffer can be handed to the worker without copying again.
    const copy = new Uint8Array(image);
    return new Promise<JobResult>((resolve, reject) => {
      const job: Job = { request: { ...kind, id: this.nextId++, image: copy }, resolve, reject };
      if (idle) this.dispatch(idle, job);
      else this.queue.push(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new ApiError('service_unavailable', 'the server is shutting down'));
    await Promise.all([...this.slots].map((slot) => slot.worker.terminate()));
    this.slots.clear();
  }

  private idleSlot(): Slot | undefined {
    return [...this.slots].find((slot) => slot.ready && !slot.job);
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker, ready: true };
    this.slots.add(slot);
    worker.on('message', (message: WorkerMessage) => this.onMessage(slot, message));
    worker.on('error', (error) => this.onExit(slot, error));
    worker.on('exit', (code) => this.onExit(slot, new Error(`pipeline worker exited with code ${code}`)));
    this.dispatchNext(slot);
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    const job = slot.job;
    if (!job || (message.type !== 'result' && message.type !== 'error') || message.id !== job.request.id) return;
    slot.job = undefined;
    if (message.type === 'result') job.resolve(message.result);
    else job.reject(new ApiError(message.error.code, message.error.message, message.error.details));
    this.dispatchNext(slot);
  }

  private onExit(slot: Slot, error: Error): void {
    if (!this.slots.delete(slot)) return;
    slot.ready = false;
    if (this.closed) return;
    this.options.logger.error({ err: error }, 'pipeline worker died; starting a replacement');
    slot.job?.reject(new ApiError('internal_error', 'the image could not be processed'));
    spawn(this.options).then(
      ({ worker }) => (this.closed ? void worker.terminate() : this.adopt(worker)),
      (spawnError) => this.options.logger.error({ err: spawnError }, 'could not replace a pipeline worker'),
    );
  }

  private dispatchNext(slot: Slot): void {
    const job = this.queue.shift();
    if (job) this.dispatch(slot, job);
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.postMessage(job.request, [job.request.image.buffer as ArrayBuffer]);
  }
}

/** Starts one worker and resolves once its models are loaded. */
function spawn({ modelsDir, config }: PipelinePoolOptions): Promise<{ worker: Worker; ready: ReadyMessage }> {
  const workerData: WorkerData = { modelsDir, config };
  const worker = new Worker(BOOTSTRAP, { workerData, execArgv: [] });
  return new Promise((resolve, reject) => {
    // Only our own listeners are removed: Worker keeps internal ones that ref its message port.
    const settle = () => {
      worker.off('error', fail);
      worker.off('exit', exited);
      worker.off('message', onMessage);
    };
    const fail = (error: Error) => {
      settle();
      void worker.terminate();
      reject(error);
    };
    const exited = (code: number) => fail(new Error(`pipeline worker exited with code ${code} while loading models`));
    const onMessage = (message: WorkerMessage) => {
      if (message.type !== 'ready') return fail(new Error(message.type === 'failed' ? message.message : 'pipeline worker sent no ready message'));
      settle();
      resolve({ worker, ready: message });
    };
    worker.on('error', fail);
    worker.on('exit', exited);
    worker.on('message', onMessage);
  });
}
