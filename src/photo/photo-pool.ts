import type { Logger } from '../logger.ts';
import type { PipelineConfig } from '../pipeline/config.ts';
import { WorkerPool } from '../workers/worker-pool.ts';
import type { PhotoConfig } from './config.ts';
import type { ExamineResult, GenerateFields, GenerateResult, PhotoJobFields, PhotoJobResult, PhotoReady, PhotoWorkerData, SegmentResult } from './worker/protocol.ts';

export interface PhotoPoolOptions {
  modelsDir: string;
  pipeline: PipelineConfig;
  photo: PhotoConfig;
  logger: Logger;
}

/**
 * Passport-photo work in worker threads of its own (one by default), apart from the face pipeline's:
 * decoding 12 megapixels, the segmentation network and re-measuring block the thread they run on for
 * seconds, and must not delay enrolments and searches.
 */
export class PhotoPool {
  private constructor(private readonly pool: WorkerPool<PhotoJobFields, PhotoJobResult, PhotoReady>) {}

  static async start({ modelsDir, pipeline, photo, logger }: PhotoPoolOptions): Promise<PhotoPool> {
    const workerData: PhotoWorkerData = { modelsDir, pipeline };
    const pool = await WorkerPool.start<PhotoJobFields, PhotoJobResult, PhotoReady>({
      name: 'photo',
      bootstrap: new URL('./worker/bootstrap.mjs', import.meta.url),
      workerData,
      workers: photo.workers,
      maxQueue: photo.maxQueue,
      logger,
      lostJobMessage: 'the photo could not be processed',
    });
    if (!pool.ready.segments) logger.warn({ reason: pool.ready.segmentationError }, 'no segmentation model: passport photos keep their background and the crown is the face mesh estimate');
    return new PhotoPool(pool);
  }

  /** whether the workers loaded a segmentation model (background replacement, crown from the hair) */
  get segments(): boolean {
    return this.pool.ready.segments;
  }

  /** The 503 a job would get now; asked before a large body is read. */
  assertCanAccept(): void {
    this.pool.assertCanAccept();
  }

  /** face, head landmarks, photo measures and a preview */
  examine(image: Uint8Array): Promise<ExamineResult> {
    return this.pool.submit({ kind: 'examine' }, image) as Promise<ExamineResult>;
  }

  segment(image: Uint8Array, job: Omit<Extract<PhotoJobFields, { kind: 'segment' }>, 'kind'>): Promise<SegmentResult> {
    return this.pool.submit({ kind: 'segment', ...job }, image) as Promise<SegmentResult>;
  }

  generate(image: Uint8Array, job: Omit<GenerateFields, 'kind'>): Promise<GenerateResult> {
    return this.pool.submit({ kind: 'generate', ...job }, image) as Promise<GenerateResult>;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
