import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { assertPartitionName } from './identifiers.ts';
import type { ShardFile } from './search/search-protocol.ts';
import type { SearchWorkers } from './search/search-workers.ts';

// /4: one sealed file per worker shard (inverted lists); /3 and before held one FAISS flat index per
// partition and are rebuilt.
const SIDECAR_FORMAT = 'faceserver-search-index/4';

/** What a saved index reflects and how to recognise its files. Written after the shard files. */
const sidecarSchema = z.object({
  format: z.literal(SIDECAR_FORMAT),
  /** the partition's SQLite generation the index was saved at */
  generation: z.number().int(),
  dimension: z.number().int(),
  /** per shard file: templates it holds and its sealed size on disk */
  shards: z.array(z.object({ count: z.number().int(), bytes: z.number().int() })),
});

type Sidecar = z.infer<typeof sidecarSchema>;

/**
 * Files of this store: `<partition>.<shard>.ivf` and `<partition>.json`, each with `.tmp` while being
 * written; `<partition>.faiss` is the format before /4, removed as stray.
 */
const STORE_FILE = /^([A-Za-z0-9_-]{1,64})\.(?:\d+\.ivf|json|faiss)(\.tmp)?$/;

/**
 * Loaded: the shards hold SQLite's templates except `missing` and plus `extra` (both empty unless the
 * index was saved at an earlier generation, before writes a crash kept from being saved).
 */
export type LoadOutcome = { loaded: true; savedGeneration: number; missing: number[]; extra: number[] } | { loaded: false; reason: string };

/**
 * Saves and loads the search workers' shards of each partition under one directory, refusing any file
 * that does not match SQLite. The workers seal and write (or read and open) the shard files themselves;
 * this class names the files, renames them into place and keeps the sidecar.
 */
export class IndexStore {
  constructor(
    private readonly directory: string,
    private readonly dimension: number,
  ) {}

  /**
   * Shards first, sidecar last, each written to a temporary file, synced and renamed into place. A crash
   * before the first rename leaves the previous save whole, which the next start catches up; after it,
   * the previous sidecar names a generation the renamed files are not sealed for (it is in the GCM
   * context), so they do not open and the index is rebuilt.
   */
  async save(partition: string, generation: number, workers: SearchWorkers): Promise<void> {
    mkdirSync(this.directory, { recursive: true });
    const files = this.shardFiles(partition, generation, workers.shardCount);
    const temporary = files.map((file) => ({ ...file, path: `${file.path}.tmp` }));
    const sidecar: Sidecar = { format: SIDECAR_FORMAT, generation, dimension: this.dimension, shards: await workers.save(partition, temporary) };
    temporary.forEach((file, shard) => renameSync(file.path, files[shard].path));
    const sidecarPath = this.sidecarPath(partition);
    writeFileSync(`${sidecarPath}.tmp`, JSON.stringify(sidecar));
    syncFile(`${sidecarPath}.tmp`);
    renameSync(`${sidecarPath}.tmp`, sidecarPath);
    syncFile(this.directory);
  }

  /**
   * Has the workers load the saved shards. Saved at `generation`, they must hold exactly the template
   * ids SQLite holds (`sqliteIds`, ascending); saved at another generation, they are loaded all the same
   * and the outcome says which ids they lack and which SQLite no longer has: template ids are never
   * reused and a template never changes, so the caller can catch the index up instead of rebuilding it.
   * When the files cannot be used, says why, leaving the partition without shards.
   */
  async load(partition: string, generation: number, sqliteIds: () => Float64Array, workers: SearchWorkers): Promise<LoadOutcome> {
    try {
      return { loaded: true, ...(await this.loadVerified(partition, generation, sqliteIds, workers)) };
    } catch (error) {
      await workers.drop(partition);
      // A rejected sidecar must not match some later state of the partition by coincidence.
      rmSync(this.sidecarPath(partition), { force: true });
      return { loaded: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Removes unfinished writes, files of the previous format and those of partitions SQLite no longer has. */
  removeStrayFiles(partitions: ReadonlySet<string>): void {
    if (!existsSync(this.directory)) return;
    for (const file of readdirSync(this.directory)) {
      const match = STORE_FILE.exec(file);
      if (match && (match[2] !== undefined || file.endsWith('.faiss') || !partitions.has(match[1]))) rmSync(join(this.directory, file));
    }
  }

  private async loadVerified(
    partition: string,
    generation: number,
    sqliteIds: () => Float64Array,
    workers: SearchWorkers,
  ): Promise<{ savedGeneration: number; missing: number[]; extra: number[] }> {
    const sidecarPath = this.sidecarPath(partition);
    if (!existsSync(sidecarPath)) throw new Error('no saved index');
    const sidecar = readSidecar(sidecarPath);
    if (sidecar.dimension !== this.dimension) throw new Error(`index dimension ${sidecar.dimension}, expected ${this.dimension}`);
    if (sidecar.shards.length !== workers.shardCount) throw new Error(`index saved in ${sidecar.shards.length} shards, the server runs ${workers.shardCount} search workers`);
    const current = sidecar.generation === generation;
    const expected = sqliteIds();
    const saved = sidecar.shards.reduce((sum, shard) => sum + shard.count, 0);
    if (current && saved !== expected.length) throw new Error(`index has ${saved} templates, SQLite has ${expected.length}`);
    // Each file is sealed for the generation it was saved at: one left from another save does not open.
    const files = this.shardFiles(partition, sidecar.generation, workers.shardCount);
    files.forEach(({ path }, shard) => {
      if (!existsSync(path)) throw new Error(`index file missing: ${path}`);
      const bytes = statSync(path).size;
      if (bytes !== sidecar.shards[shard].bytes) throw new Error(`index file ${path} has ${bytes} bytes, expected ${sidecar.shards[shard].bytes}`);
    });
    // The workers open each file under its GCM context before they parse a byte of it.
    const { missing, extra } = difference(await workers.load(partition, files), expected);
    if (current && (missing.length > 0 || extra.length > 0)) throw new Error('index template ids differ from SQLite');
    return { savedGeneration: sidecar.generation, missing, extra };
  }

  /** Each shard's file and the context it is sealed under: a file copied from elsewhere does not open. */
  private shardFiles(partition: string, generation: number, shards: number): ShardFile[] {
    assertPartitionName(partition);
    return Array.from({ length: shards }, (_, shard) => ({
      path: join(this.directory, `${partition}.${shard}.ivf`),
      context: JSON.stringify(['faceserver-index/2', partition, generation, shard]),
    }));
  }

  private sidecarPath(partition: string): string {
    assertPartitionName(partition);
    return join(this.directory, `${partition}.json`);
  }
}

/** Ids of `expected` (ascending) the shards lack, and ids the shards hold that `expected` does not. */
function difference(shards: readonly Float64Array[], expected: Float64Array): { missing: number[]; extra: number[] } {
  const held = new Float64Array(shards.reduce((sum, ids) => sum + ids.length, 0));
  let filled = 0;
  for (const ids of shards) {
    held.set(ids, filled);
    filled += ids.length;
  }
  held.sort();
  const missing: number[] = [];
  const extra: number[] = [];
  let h = 0;
  let e = 0;
  while (h < held.length || e < expected.length) {
    if (e === expected.length || (h < held.length && held[h] < expected[e])) extra.push(held[h++]);
    else if (h === held.length || expected[e] < held[h]) missing.push(expected[e++]);
    else {
      h++;
      e++;
    }
  }
  return { missing, extra };
}

function readSidecar(path: string): Sidecar {
  try {
    return sidecarSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new Error(`unreadable sidecar: ${error instanceof Error ? error.message : String(error)}`);
  }
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
