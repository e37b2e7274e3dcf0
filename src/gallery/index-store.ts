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

export type LoadOutcome = { loaded: true } | { loaded: false; reason: string };

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
   * Shards first, sidecar last, each written to a temporary file, synced and renamed into place: a crash
   * in between leaves the previous sidecar, whose generation is neither SQLite's nor the one the new
   * files are sealed for (it is in the GCM context), so the index is rebuilt.
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
   * Has the workers load the saved shards when they reflect exactly `generation` and the template ids
   * SQLite holds (`sqliteIds`, ascending); otherwise says why not, leaving the partition without shards.
   */
  async load(partition: string, generation: number, sqliteIds: () => Float64Array, workers: SearchWorkers): Promise<LoadOutcome> {
    try {
      await this.loadVerified(partition, generation, sqliteIds, workers);
      return { loaded: true };
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

  private async loadVerified(partition: string, generation: number, sqliteIds: () => Float64Array, workers: SearchWorkers): Promise<void> {
    const sidecarPath = this.sidecarPath(partition);
    if (!existsSync(sidecarPath)) throw new Error('no saved index');
    const sidecar = readSidecar(sidecarPath);
    if (sidecar.generation !== generation) {
      throw new Error(`stale index: saved at generation ${sidecar.generation}, SQLite is at ${generation}`);
    }
    if (sidecar.dimension !== this.dimension) throw new Error(`index dimension ${sidecar.dimension}, expected ${this.dimension}`);
    if (sidecar.shards.length !== workers.shardCount) throw new Error(`index saved in ${sidecar.shards.length} shards, the server runs ${workers.shardCount} search workers`);
    const expected = sqliteIds();
    const saved = sidecar.shards.reduce((sum, shard) => sum + shard.count, 0);
    if (saved !== expected.length) throw new Error(`index has ${saved} templates, SQLite has ${expected.length}`);
    const files = this.shardFiles(partition, generation, workers.shardCount);
    files.forEach(({ path }, shard) => {
      if (!existsSync(path)) throw new Error(`index file missing: ${path}`);
      const bytes = statSync(path).size;
      if (bytes !== sidecar.shards[shard].bytes) throw new Error(`index file ${path} has ${bytes} bytes, expected ${sidecar.shards[shard].bytes}`);
    });
    // The workers open each file under its GCM context before they parse a byte of it.
    const loaded = await workers.load(partition, files);
    assertSameIds(loaded, expected);
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

/** The shards together hold exactly SQLite's template ids (ascending in `expected`). */
function assertSameIds(shards: readonly Float64Array[], expected: Float64Array): void {
  const held = new Float64Array(shards.reduce((sum, ids) => sum + ids.length, 0));
  let filled = 0;
  for (const ids of shards) {
    held.set(ids, filled);
    filled += ids.length;
  }
  held.sort();
  if (held.length !== expected.length || held.some((id, i) => id !== expected[i])) throw new Error('index template ids differ from SQLite');
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
