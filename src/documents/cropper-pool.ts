import { Worker } from 'node:worker_threads';
import { ApiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { PipelineConfig } from '../pipeline/config.ts';
import type { DocumentsConfig } from './config.ts';
import type { CroppedDocument } from './document-cropper.ts';
import type { CropperMessage, CropperWorkerData, CropRequest } from './worker/protocol.ts';

const BOOTSTRAP = new URL('./worker/bootstrap.mjs', import.meta.url);

export interface CropperPoolOptions {
  modelsDir: string;
  pipeline: PipelineConfig;
  documents: DocumentsConfig;
  logger: Logger;
}

interface Job {
  request: CropRequest;
  resolve(result: CroppedDocument): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

/**
 * Document cropping in worker threads, apart from the face pipeline's: OpenCV's WebAssembly blocks
 * the thread it runs on, and a burst of 12-megapixel document photos must not delay face searches.
 * One job per worker; a bounded queue behind them; past it, 503 at once. A dead worker fails its own
 * job only and is replaced.
 */
export class CropperPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(private readonly options: CropperPoolOptions) {}

  static async start(options: CropperPoolOptions): Promise<CropperPool> {
    const started = await Promise.allSettled(Array.from({ length: options.documents.workers }, () => spawn(options)));
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw failure.reason;
    }
    const pool = new CropperPool(options);
    for (const worker of workers) pool.adopt(worker);
    return pool;
  }

  /** The 503 crop() would give now; asked before a large body is read. */
  assertCanAccept(): void {
    if (this.closed) throw new ApiError('service_unavailable', 'the server is shutting down');
    if (!this.idleSlot() && this.queue.length >= this.options.documents.maxQueue) {
      throw new ApiError('service_unavailable', 'all document cropper workers are busy; retry shortly', { queued: this.queue.length });
    }
  }

  crop(image: Uint8Array): Promise<CroppedDocument> {
    try {
      this.assertCanAccept();
    } catch (error) {
      return Promise.reject(error);
    }
    const idle = this.idleSlot();
    const copy = new Uint8Array(image);
    return new Promise<CroppedDocument>((resolve, reject) => {
      const job: Job = { request: { id: this.nextId++, image: copy }, resolve, reject };
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
    return [...this.slots].find((slot) => !slot.job);
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker };
    this.slots.add(slot);
    worker.on('message', (message: CropperMessage) => this.onMessage(slot, message));
    worker.on('error', (error) => this.onExit(slot, error));
    worker.on('exit', (code) => this.onExit(slot, new Error(`cropper worker exited with code ${code}`)));
    this.dispatchNext(slot);
  }

  private onMessage(slot: Slot, message: CropperMessage): void {
    const job = slot.job;
    if (!job || (message.type !== 'result' && message.type !== 'error') || message.id !== job.request.id) return;
    slot.job = undefined;
    if (message.type === 'result') job.resolve(revive(message.result));
    else job.reject(new ApiError(message.error.code, message.error.message, message.error.details));
    this.dispatchNext(slot);
  }

  private onExit(slot: Slot, error: Error): void {
    if (!this.slots.delete(slot) || this.closed) return;
    this.options.logger.error({ err: error }, 'cropper worker died; starting a replacement');
    slot.job?.reject(new ApiError('internal_error', 'the document could not be processed'));
    spawn(this.options).then(
      (worker) => (this.closed ? void worker.terminate() : this.adopt(worker)),
      (spawnError) => this.options.logger.error({ err: spawnError }, 'could not replace a cropper worker'),
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

/** Buffers cross postMessage as plain Uint8Arrays. */
function revive(result: CroppedDocument): CroppedDocument {
  return { ...result, image: Buffer.from(result.image), ...(result.portrait ? { portrait: Buffer.from(result.portrait) } : {}) };
}

function spawn({ modelsDir, pipeline, documents }: CropperPoolOptions): Promise<Worker> {
  const workerData: CropperWorkerData = {
    modelsDir,
    pipeline,
    options: { ...documents, maxImagePixels: pipeline.maxImagePixels },
  };
  const worker = new Worker(BOOTSTRAP, { workerData, execArgv: [] });
  return new Promise((resolve, reject) => {
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
    const exited = (code: number) => fail(new Error(`cropper worker exited with code ${code} while loading`));
    const onMessage = (message: CropperMessage) => {
      if (message.type !== 'ready') return fail(new Error(message.type === 'failed' ? message.message : 'cropper worker sent no ready message'));
      settle();
      resolve(worker);
    };
    worker.on('error', fail);
    worker.on('exit', exited);
    worker.on('message', onMessage);
  });
}
