// Restart time: from spawning `src/main.ts` to the first 200 from GET /api/v1/health, on a data
// directory holding 0, 100k and 1M templates in one partition. Each size is started once to prepare it
// (the gallery adopts the imported rows and saves its index), then timed on warm restarts (the saved
// index is loaded) and on one cold restart (index files removed: rebuilt from SQLite).
//   npm run bench:startup [-- --sizes 0,100000,1000000 --restarts 3]
//
// The templates are written straight into SQLite (as plaintext rows, the format the gallery adopts and
// seals on open): enrolling a million through the API would take hours of pipeline time and fsyncs.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config/config.ts';
import { loadModelManifest } from '../src/pipeline/model-manifest.ts';
import { scratchDataDir, startChildServer } from '../test/helpers/child-server.ts';
import { round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { sizes: { type: 'string', default: '0,100000,1000000' }, restarts: { type: 'string', default: '3' }, name: { type: 'string', default: 'startup' } } });
const DIMENSION = 512;
const PARTITION = 'bench';
const TARGET_S = 10;
const ROWS_PER_TRANSACTION = 50_000;
// The server refuses a gallery whose templates another recognition model made.
const MODEL_ID = loadModelManifest(loadConfig().modelsDir).modelId;

/** Templates of one subject each: unit vectors from a fast xorshift (their values do not matter here). */
function importTemplates(dataDir: string, count: number): number {
  const started = performance.now();
  const db = new Database(join(dataDir, 'gallery.sqlite'));
  db.pragma('synchronous = OFF');
  db.prepare('INSERT INTO partitions (name) VALUES (?) ON CONFLICT (name) DO NOTHING').run(PARTITION);
  const partitionId = (db.prepare('SELECT id FROM partitions WHERE name = ?').get(PARTITION) as { id: number }).id;
  const insertSubject = db.prepare('INSERT INTO subjects (partition_id, subject_id) VALUES (?, ?)');
  const insertTemplate = db.prepare("INSERT INTO templates (subject_ref, vector, model_id, quality, source) VALUES (?, ?, ?, 0.9, 'bench')");
  const vector = new Float32Array(DIMENSION);
  let state = 2463534242;
  const insertRange = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      let norm = 0;
      for (let d = 0; d < DIMENSION; d++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        vector[d] = (state >>> 0) / 2147483648 - 1;
        norm += vector[d] * vector[d];
      }
      const scale = 1 / Math.sqrt(norm);
      for (let d = 0; d < DIMENSION; d++) vector[d] *= scale;
      const subjectRef = Number(insertSubject.run(partitionId, `subject-${i}`).lastInsertRowid);
      insertTemplate.run(subjectRef, Buffer.from(vector.buffer), MODEL_ID);
    }
  });
  for (let from = 0; from < count; from += ROWS_PER_TRANSACTION) insertRange(from, Math.min(count, from + ROWS_PER_TRANSACTION));
  // The gallery's index files are valid for one generation: the import is one more change.
  db.prepare('UPDATE partitions SET generation = generation + 1 WHERE id = ?').run(partitionId);
  // Plaintext rows are what a gallery from before encryption holds: it has no record that all are sealed.
  db.prepare("DELETE FROM gallery_meta WHERE name = 'all_templates_sealed_at'").run();
  db.close();
  return performance.now() - started;
}

interface StartTiming {
  healthy_s: number;
  /** from spawn to the log lines that mark the stages of start-up */
  gallery_ready_s?: number;
  listening_s?: number;
}

/** Spawns the server, waits for a healthy /health, stops it; `whileUp` runs before the stop. */
async function timedStart(dataDir: string, whileUp?: () => Promise<void>): Promise<StartTiming & { log: string }> {
  const spawnedAt = Date.now();
  const started = performance.now();
  const server = await startChildServer({ dataDir });
  try {
    for (;;) {
      const response = await fetch(`${server.url}/api/v1/health`).catch(() => undefined);
      if (response?.status === 200) break;
      await sleep(20);
    }
    const healthy_s = round((performance.now() - started) / 1000, 2);
    const log = server.output();
    const at = (message: string) => {
      const line = log.split('\n').find((entry) => entry.includes(`"msg":"${message}`));
      const time = line ? (JSON.parse(line) as { time: number }).time : undefined;
      return time === undefined ? undefined : round((time - spawnedAt) / 1000, 2);
    };
    await whileUp?.();
    return { healthy_s, gallery_ready_s: at('loaded search index') ?? at('built search index'), listening_s: at('listening'), log };
  } finally {
    await server.stop();
  }
}

const rows: Array<Record<string, unknown>> = [];
for (const size of args.sizes.split(',').map(Number)) {
  const scratch = scratchDataDir();
  try {
    const indexDir = join(scratch.dataDir, 'indexes');
    // First start creates the schema and the template key.
    const empty = await timedStart(scratch.dataDir);
    if (size === 0) {
      rows.push({ templates: 0, kind: 'empty', ...withoutLog(empty) });
      console.log(JSON.stringify(rows.at(-1)));
      continue;
    }
    const importMs = importTemplates(scratch.dataDir, size);
    // A start that built the index saves it shortly after; stopping before that would make shutdown
    // do the save inside its grace period (too short for a 2 GB index) and leave the next start to rebuild.
    const untilSaved = async () => {
      while (!existsSync(join(indexDir, `${PARTITION}.json`))) await sleep(200);
    };
    // Adoption start: rows are sealed and the index built.
    const adopt = await timedStart(scratch.dataDir, untilSaved);
    rows.push({ templates: size, kind: 'first start after import (seal rows, build and save index)', import_s: round(importMs / 1000, 1), ...withoutLog(adopt) });
    console.log(JSON.stringify(rows.at(-1)));
    for (let restart = 0; restart < Number(args.restarts); restart++) {
      const warm = await timedStart(scratch.dataDir);
      if (!warm.log.includes('loaded search index')) throw new Error(`warm restart did not load the saved index:\n${warm.log.slice(-2000)}`);
      rows.push({ templates: size, kind: 'restart, saved index', ...withoutLog(warm) });
      console.log(JSON.stringify(rows.at(-1)));
    }
    rmSync(indexDir, { recursive: true, force: true });
    const cold = await timedStart(scratch.dataDir, untilSaved);
    rows.push({ templates: size, kind: 'restart, index rebuilt from SQLite', ...withoutLog(cold) });
    console.log(JSON.stringify(rows.at(-1)));
  } finally {
    scratch.remove();
  }
}

function withoutLog({ log: _log, ...timing }: StartTiming & { log: string }): StartTiming {
  return timing;
}

console.table(rows);
writeResults(args.name, {
  target_s: TARGET_S,
  measured: 'spawn of `node --import tsx src/main.ts` → first 200 from GET /api/v1/health; gallery_ready_s and listening_s from the server log',
  results: rows,
});
