import { Worker } from 'node:worker_threads';
import { ApiError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** An ApiError flattened for postMessage; anything else crosses as `internal_error`. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details: Record<string, string | number | boolean>;
}

/**
 * A worker's own JavaScript memory (its V8 isolate), in bytes. A worker is a thread of the server, so
 * only it can read these; its native memory (ONNX Runtime, libvips) is in the process's resident set.
 */
export interface WorkerMemory {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** Called inside a worker: its isolate's figures, sent with every job's outcome. */
export function ownMemory(): WorkerMemory {
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { heapUsed, heapTotal, external, arrayBuffers };
}

/** What every pool worker says: ready (with what it loaded), failed to load, or a job's outcome. */
export type PoolMessage<Ready extends object, Result> =
  | ({ type: 'ready' } & Ready)
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: Result; memory: WorkerMemory }
  | { type: 'error'; id: number; error: SerializedError; memory: WorkerMemory };

/** A job's message to a worker: its own fields, an id, and the image whose buffer is handed over. */
export type PoolRequest<Fields extends object> = Fields & { id: number; image: Uint8Array };

export interface WorkerPoolOptions {
  /** names the workers in log lines and errors ("pipeline", "cropper") */
  name: string;
  bootstrap: URL;
  workerData: unknown;
  workers: number;
  maxQueue: number;
  logger: Logger;
  /** what a client is told when the worker running its job dies */
  lostJobMessage: string;
}

interface Job<Fields extends object, Result> {
  request: PoolRequest<Fields>;
  resolve(result: Result): void;
  reject(error: Error): void;
}

interface Slot<Fields extends object, Result> {
  worker: Worker;
  job?: Job<Fields, Result>;
  /** as of the worker's last finished job */
  memory?: WorkerMemory;
}

/**
 * Blocking work (ONNX Runtime's `run`, OpenCV's WebAssembly) in worker threads, one job per worker at a
 * time, so the event loop stays free. Jobs beyond the free workers wait in a bounded queue; past
 * `maxQueue` a request is refused at once with 503 rather than left to time out. A worker that dies
 * fails its own job only and is replaced.
 */
export class WorkerPool<Fields extends object, Result, Ready extends object = object> {
  private readonly slots = new Set<Slot<Fields, Result>>();
  private readonly queue: Job<Fields, Result>[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly options: WorkerPoolOptions,
    /** the first worker's ready message: what the workers loaded */
    readonly ready: Ready,
  ) {}

  /** Starts every worker and waits until each has loaded; throws the first load error. */
  static async start<Fields extends object, Result, Ready extends object = object>(options: WorkerPoolOptions): Promise<WorkerPool<Fields, Result, Ready>> {
    const started = await Promise.allSettled(Array.from({ length: options.workers }, () => spawn<Ready>(options)));
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
      throw failure.reason;
    }
    const pool = new WorkerPool<Fields, Result, Ready>(options, workers[0].ready);
    for (const { worker } of workers) pool.adopt(worker);
    return pool;
  }

  /** false while every worker is dead and none has been replaced yet */
  get alive(): boolean {
    return this.slots.size > 0;
  }

  /** jobs running and waiting, for metrics */
  load(): { running: number; queued: number; workers: number } {
    const running = [...this.slots].filter((slot) => slot.job).length;
    return { running, queued: this.queue.length, workers: this.slots.size };
  }

  /** Each live worker's memory as of its last finished job (none before its first). */
  memory(): WorkerMemory[] {
    return [...this.slots].flatMap((slot) => (slot.memory ? [slot.memory] : []));
  }

  /**
   * Throws the 503 that submit() would give now. The HTTP layer asks before it reads an upload: under
   * overload, receiving and parsing images only to refuse them costs the main thread more than the refusal.
   */
  assertCanAccept(): void {
    if (this.closed) throw new ApiError('service_unavailable', 'the server is shutting down');
    if (!this.idleSlot() && this.queue.length >= this.options.maxQueue) {
      throw new ApiError('service_unavailable', `all ${this.options.name} workers are busy; retry shortly`, { queued: this.queue.length });
    }
  }

  submit(fields: Fields, image: Uint8Array): Promise<Result> {
    try {
      this.assertCanAccept();
    } catch (error) {
      return Promise.reject(error);
    }
    const idle = this.idleSlot();
    // A private copy whose buffer can be handed to the worker without copying again.
    const copy = new Uint8Array(image);
    return new Promise<Result>((resolve, reject) => {
      const job: Job<Fields, Result> = { request: { ...fields, id: this.nextId++, image: copy }, resolve, reject };
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

  private idleSlot(): Slot<Fields, Result> | undefined {
    return [...this.slots].find((slot) => !slot.job);
  }

  private adopt(worker: Worker): void {
    const slot: Slot<Fields, Result> = { worker };
    this.slots.add(slot);
    worker.on('message', (message: PoolMessage<Ready, Result>) => this.onMessage(slot, message));
    worker.on('error', (error) => this.onExit(slot, error));
    worker.on('exit', (code) => this.onExit(slot, new Error(`${this.options.name} worker exited with code ${code}`)));
    this.dispatchNext(slot);
  }

  private onMessage(slot: Slot<Fields, Result>, message: PoolMessage<Ready, Result>): void {
    const job = slot.job;
    if (!job || (message.type !== 'result' && message.type !== 'error') || message.id !== job.request.id) return;
    slot.job = undefined;
    slot.memory = message.memory;
    if (message.type === 'result') job.resolve(message.result);
    else job.reject(new ApiError(message.error.code, message.error.message, message.error.details));
    this.dispatchNext(slot);
  }

  private onExit(slot: Slot<Fields, Result>, error: Error): void {
    if (!this.slots.delete(slot) || this.closed) return;
    const { name, logger } = this.options;
    logger.error({ err: error }, `${name} worker died; starting a replacement`);
    slot.job?.reject(new ApiError('internal_error', this.options.lostJobMessage));
    spawn<Ready>(this.options).then(
      ({ worker }) => (this.closed ? void worker.terminate() : this.adopt(worker)),
      (spawnError) => logger.error({ err: spawnError }, `could not replace a ${name} worker`),
    );
  }

  private dispatchNext(slot: Slot<Fields, Result>): void {
    const job = this.queue.shift();
    if (job) this.dispatch(slot, job);
  }

  private dispatch(slot: Slot<Fields, Result>, job: Job<Fields, Result>): void {
    slot.job = job;
    slot.worker.postMessage(job.request, [job.request.image.buffer as ArrayBuffer]);
  }
}

/** Starts one worker and resolves once it has loaded. */
function spawn<Ready extends object>({ name, bootstrap, workerData }: WorkerPoolOptions): Promise<{ worker: Worker; ready: Ready }> {
  const worker = new Worker(bootstrap, { workerData, execArgv: [] });
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
    const exited = (code: number) => fail(new Error(`${name} worker exited with code ${code} while loading`));
    const onMessage = (message: PoolMessage<Ready, unknown>) => {
      if (message.type !== 'ready') return fail(new Error(message.type === 'failed' ? message.message : `${name} worker sent no ready message`));
      settle();
      resolve({ worker, ready: message });
    };
    worker.on('error', fail);
    worker.on('exit', exited);
    worker.on('message', onMessage);
  });
}
