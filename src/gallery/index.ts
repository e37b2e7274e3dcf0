import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import type { TemplateCipher } from '../security/template-cipher.ts';
import type { Gallery } from './gallery.ts';
import { GalleryRepository } from './gallery-repository.ts';
import { IndexStore } from './index-store.ts';
import { searchConfigSchema, type SearchConfig } from './search/search-config.ts';
import { SearchWorkers } from './search/search-workers.ts';
import { SqliteGallery } from './sqlite-gallery.ts';

export type { Gallery, SubjectMatch, TemplateRecord } from './gallery.ts';
export { PARTITION_NAME_PATTERN } from './gallery.ts';

/** Length of the recognition model's templates. */
export const TEMPLATE_DIMENSION = 512;

export interface GalleryOptions {
  dataDir: string;
  /** how long after a write changed indexes are saved */
  flushDelayMs: number;
  logger: Logger;
  /** seals templates in SQLite and the saved index files */
  cipher: TemplateCipher;
  /** template length; 512 unless a test says otherwise */
  dimension?: number;
  /** search workers and when a partition is searched approximately; the defaults unless given */
  search?: SearchConfig;
}

/**
 * Opens `<dataDir>/gallery.sqlite`, starts the search workers and has them load or rebuild each
 * partition's index from `<dataDir>/indexes/`. Call close() on shutdown: it saves changed indexes,
 * stops the workers and closes SQLite.
 */
export async function openGallery({ dataDir, flushDelayMs, logger, cipher, dimension = TEMPLATE_DIMENSION, search = searchConfigSchema.parse({}) }: GalleryOptions): Promise<Gallery> {
  mkdirSync(dataDir, { recursive: true });
  const repository = new GalleryRepository(join(dataDir, 'gallery.sqlite'), dimension, cipher);
  let workers: SearchWorkers | undefined;
  try {
    const encrypted = repository.encryptPlaintextTemplates();
    if (encrypted > 0) logger.warn({ templates: encrypted }, 'encrypted templates stored before encryption at rest existed');
    workers = await SearchWorkers.start({ dimension, workers: search.workers, templateKey: cipher.exportKey(), probeFraction: search.probeFraction });
    return await SqliteGallery.open(repository, new IndexStore(join(dataDir, 'indexes'), dimension), workers, { dimension, flushDelayMs, logger, search });
  } catch (error) {
    await workers?.close();
    repository.close();
    throw error;
  }
}

/**
 * Re-encrypts every template under `next` in one SQLite transaction, then reopens the gallery with
 * it: the saved indexes no longer open, so they are rebuilt and saved sealed under the new key.
 * The server must be stopped: it would keep sealing under the old key (its inserts are refused).
 */
export async function rotateTemplateKey(options: Omit<GalleryOptions, 'cipher' | 'flushDelayMs'> & { current: TemplateCipher; next: TemplateCipher }): Promise<number> {
  const { dataDir, current, next, logger, dimension = TEMPLATE_DIMENSION, search } = options;
  const repository = new GalleryRepository(join(dataDir, 'gallery.sqlite'), dimension, current);
  let rotated: number;
  try {
    rotated = repository.rotateTemplateKey(next);
  } finally {
    repository.close();
  }
  await (await openGallery({ dataDir, flushDelayMs: 0, logger, cipher: next, dimension, search })).close();
  return rotated;
}
