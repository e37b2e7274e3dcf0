import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import type { Gallery } from './gallery.ts';
import { GalleryRepository } from './gallery-repository.ts';
import { IndexStore } from './index-store.ts';
import { SqliteFaissGallery } from './sqlite-faiss-gallery.ts';

export type { Gallery, SubjectMatch, TemplateRecord } from './gallery.ts';
export { PARTITION_NAME_PATTERN } from './gallery.ts';

export interface GalleryOptions {
  dataDir: string;
  /** how long after a write changed indexes are saved */
  flushDelayMs: number;
  logger: Logger;
  /** template length; 512 unless a test says otherwise */
  dimension?: number;
}

/**
 * Opens `<dataDir>/gallery.sqlite` and loads or rebuilds each partition's index from
 * `<dataDir>/indexes/`. Call close() on shutdown: it saves changed indexes and closes SQLite.
 */
export function openGallery({ dataDir, flushDelayMs, logger, dimension = 512 }: GalleryOptions): Gallery {
  mkdirSync(dataDir, { recursive: true });
  const repository = new GalleryRepository(join(dataDir, 'gallery.sqlite'), dimension);
  try {
    return new SqliteFaissGallery(repository, new IndexStore(join(dataDir, 'indexes'), dimension), {
      dimension,
      flushDelayMs,
      logger,
    });
  } catch (error) {
    repository.close();
    throw error;
  }
}
