import type { Logger } from '../logger.ts';
import type { PipelineConfig } from '../pipeline/config.ts';
import { type WorkerMemory, WorkerPool } from '../workers/worker-pool.ts';
import type { DocumentsConfig } from './config.ts';
import type { CroppedDocument } from './document-cropper.ts';
import type { CropperWorkerData } from './worker/protocol.ts';

export interface CropperPoolOptions {
  modelsDir: string;
  pipeline: PipelineConfig;
  documents: DocumentsConfig;
  logger: Logger;
}

/**
 * Document cropping in worker threads of its own, apart from the face pipeline's: OpenCV's WebAssembly
 * blocks the thread it runs on, and a burst of 12-megapixel document photos must not delay face searches.
 */
export class CropperPool {
  private constructor(private readonly pool: WorkerPool<object, CroppedDocument>) {}

  static async start({ modelsDir, pipeline, documents, logger }: CropperPoolOptions): Promise<CropperPool> {
    const workerData: CropperWorkerData = { modelsDir, pipeline, options: { ...documents, maxImagePixels: pipeline.maxImagePixels } };
    const pool = await WorkerPool.start<object, CroppedDocument>({
      name: 'document cropper',
      bootstrap: new URL('./worker/bootstrap.mjs', import.meta.url),
      workerData,
      workers: documents.workers,
      maxQueue: documents.maxQueue,
      logger,
      lostJobMessage: 'the document could not be processed',
    });
    return new CropperPool(pool);
  }

  /** each worker's JavaScript memory, for metrics */
  memory(): WorkerMemory[] {
    return this.pool.memory();
  }

  /** The 503 crop() would give now; asked before a large body is read. */
  assertCanAccept(): void {
    this.pool.assertCanAccept();
  }

  async crop(image: Uint8Array): Promise<CroppedDocument> {
    return revive(await this.pool.submit({}, image));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Buffers cross postMessage as plain Uint8Arrays. */
function revive(result: CroppedDocument): CroppedDocument {
  return { ...result, image: Buffer.from(result.image), ...(result.portrait ? { portrait: Buffer.from(result.portrait) } : {}) };
}
