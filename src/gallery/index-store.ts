import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { TemplateCipher } from '../security/template-cipher.ts';
import type { TemplateRef } from './gallery-repository.ts';
import { assertPartitionName } from './identifiers.ts';
import { PartitionIndex } from './partition-index.ts';
import { withScratchFile } from './scratch-file.ts';

// /3: the sealed index file is authenticated by its GCM tag alone; /2 sidecars (which also carried a
// sha256 of it) and /1 (plaintext index files) are rebuilt.
const SIDECAR_FORMAT = 'faceserver-partition-index/3';

/** What a saved index reflects and how to recognise its file. Written after the index file. */
const sidecarSchema = z.object({
  format: z.literal(SIDECAR_FORMAT),
  /** the partition's SQLite generation the index was saved at */
  generation: z.number().int(),
  dimension: z.number().int(),
  count: z.number().int(),
  /** sha256 of the template ids by position, joined by ",": proves the id-order mapping still holds */
  templateIdsSha256: z.string(),
  /** size of the sealed file as it is on disk */
  indexBytes: z.number().int(),
});

type Sidecar = z.infer<typeof sidecarSchema>;

/** Files of this store: `<partition>.faiss` and `<partition>.json`, each with `.tmp` while being written. */
const STORE_FILE = /^([A-Za-z0-9_-]{1,64})\.(?:faiss|json)(\.tmp)?$/;

export type LoadOutcome = { index: PartitionIndex } | { reason: string };

/** Saves and loads partition indexes under one directory, refusing any file that does not match SQLite. */
export class IndexStore {
  constructor(
    private readonly directory: string,
    private readonly dimension: number,
    private readonly cipher: TemplateCipher,
  ) {}

  /**
   * Index first, sidecar last, each written to a temporary file, synced and renamed into place:
   * a crash in between leaves the previous sidecar, whose generation is neither SQLite's nor the one the
   * new file is sealed for (it is in the GCM context), so the index is rebuilt.
   */
  save(partition: string, index: PartitionIndex, generation: number): void {
    const paths = this.pathsOf(partition);
    mkdirSync(this.directory, { recursive: true });
    const indexTmp = `${paths.index}.tmp`;
    // The plaintext passes through a scratch file and is sealed in chunks: at a million templates it is 2 GB.
    const indexBytes = withScratchFile(index.size * this.dimension * Float32Array.BYTES_PER_ELEMENT, (scratch) => {
      index.write(scratch);
      return this.cipher.sealFile(scratch, indexTmp, indexContext(partition, generation));
    });
    syncFile(indexTmp);
    const sidecar: Sidecar = {
      format: SIDECAR_FORMAT,
      generation,
      dimension: this.dimension,
      count: index.size,
      templateIdsSha256: digestTemplateIds(index.templateIdsInOrder),
      indexBytes,
    };
    renameSync(indexTmp, paths.index);
    const sidecarTmp = `${paths.sidecar}.tmp`;
    writeFileSync(sidecarTmp, JSON.stringify(sidecar));
    syncFile(sidecarTmp);
    renameSync(sidecarTmp, paths.sidecar);
    syncFile(this.directory);
  }

  /** The saved index when it reflects exactly `generation` and `refs`; otherwise why not. */
  load(partition: string, generation: number, refs: readonly TemplateRef[]): LoadOutcome {
    const paths = this.pathsOf(partition);
    try {
      return { index: this.readVerified(partition, paths, generation, refs) };
    } catch (error) {
      // A rejected sidecar must not match some later state of the partition by coincidence.
      rmSync(paths.sidecar, { force: true });
      return { reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Removes unfinished writes and the files of partitions SQLite no longer has. */
  removeStrayFiles(partitions: ReadonlySet<string>): void {
    if (!existsSync(this.directory)) return;
    for (const file of readdirSync(this.directory)) {
      const match = STORE_FILE.exec(file);
      if (match && (match[2] !== undefined || !partitions.has(match[1]))) rmSync(join(this.directory, file));
    }
  }

  private readVerified(partition: string, paths: PartitionPaths, generation: number, refs: readonly TemplateRef[]): PartitionIndex {
    if (!existsSync(paths.sidecar)) throw new Error('no saved index');
    const sidecar = readSidecar(paths.sidecar);
    if (sidecar.generation !== generation) {
      throw new Error(`stale index: saved at generation ${sidecar.generation}, SQLite is at ${generation}`);
    }
    if (sidecar.dimension !== this.dimension) throw new Error(`index dimension ${sidecar.dimension}, expected ${this.dimension}`);
    if (sidecar.count !== refs.length) throw new Error(`index has ${sidecar.count} templates, SQLite has ${refs.length}`);
    if (sidecar.templateIdsSha256 !== digestTemplateIds(refs.map((ref) => ref.templateId))) {
      throw new Error('index template ids differ from SQLite');
    }
    if (!existsSync(paths.index)) throw new Error('index file missing');
    const bytes = statSync(paths.index).size;
    if (bytes !== sidecar.indexBytes) throw new Error(`index file has ${bytes} bytes, expected ${sidecar.indexBytes}`);
    // FAISS reads the plaintext only once its GCM tag has checked out: a corrupt header could make it
    // allocate without bound.
    return withScratchFile(bytes, (scratch) => {
      this.cipher.openFile(paths.index, scratch, indexContext(partition, generation));
      return PartitionIndex.read(scratch, this.dimension, refs);
    });
  }

  private pathsOf(partition: string): PartitionPaths {
    assertPartitionName(partition);
    return { index: join(this.directory, `${partition}.faiss`), sidecar: join(this.directory, `${partition}.json`) };
  }
}

interface PartitionPaths {
  index: string;
  sidecar: string;
}

function readSidecar(path: string): Sidecar {
  try {
    return sidecarSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new Error(`unreadable sidecar: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function digestTemplateIds(templateIds: readonly number[]): string {
  return createHash('sha256').update(templateIds.join(',')).digest('hex');
}

/** A sealed index names its partition and generation: a file copied from elsewhere does not open. */
function indexContext(partition: string, generation: number): string {
  return JSON.stringify(['faceserver-index/1', partition, generation]);
}

/** fsync a file or directory: a rename is only durable once the directory is synced. */
function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
