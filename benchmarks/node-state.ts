// What each request pays for the state API nodes share: checking its API key and appending its audit row,
// and a passport-photo job's storage (a 12-megapixel upload saved with its mask, then read back for generate),
// in the embedded files (keys.sqlite, audit.sqlite with synchronous = FULL) and in PostgreSQL (a private
// cluster on loopback in a temporary directory, synchronous_commit on, fsync on). The stores alone, no HTTP:
// one caller at a time (latency), then `concurrency` callers at once (throughput; PostgreSQL commits of
// concurrent sessions share WAL flushes, SQLite's run one at a time on the event loop).
//   npm run bench:node-state [-- --requests 2000 --concurrency 16 --photo-jobs 40]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import sharp from 'sharp';
import type { AuditEvent } from '../src/audit/audit-log.ts';
import { openNodeState, type NodeState } from '../src/node-state.ts';
import type { PhotoJobMeta } from '../src/photo/passport-photo.service.ts';
import { AuthService } from '../src/security/auth.service.ts';
import { startPrimary } from '../test/helpers/postgres-cluster.ts';
import { fixtureImages, latency, round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({
  options: { requests: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' }, 'photo-jobs': { type: 'string', default: '40' } },
});
const REQUESTS = Number(args.requests);
const CONCURRENCY = Number(args.concurrency);
const PHOTO_JOBS = Number(args['photo-jobs']);
// bench:passport's photo: a fixture portrait at 3000 × 4000, and a person mask of the same size as PNG
const source = fixtureImages('faces/london_010')[0];
const upload = await sharp(source.bytes).resize(3000, 4000, { fit: 'cover', kernel: 'lanczos3' }).jpeg({ quality: 92 }).toBuffer();
const mask = await sharp(upload).greyscale().threshold(128).png().toBuffer();

const event = (i: number): AuditEvent => ({
  at: new Date().toISOString(),
  request_id: `bench-${i}`,
  key_id: 'fsk_aaaaaaaaaaaa',
  operation: 'search',
  partition: 'default',
  subject_id: null,
  status: 200,
  code: 'ok',
  score: 0.8,
  quality: 0.7,
  threshold: 0.45,
  decision: 'hit',
  matched_subject_id: null,
  claim_token_id: null,
});

/** Each call's milliseconds, one at a time. */
async function sequential(count: number, work: (i: number) => unknown): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await work(i);
    times.push(performance.now() - start);
  }
  return times;
}

/** Calls per second with `concurrency` callers each awaiting its call before the next. */
async function concurrent(count: number, concurrency: number, work: (i: number) => unknown): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
  return round(count / ((performance.now() - start) / 1000), 0);
}

async function measure(state: NodeState) {
  const auth = new AuthService(state.keys, true);
  const { key } = await auth.createKey({ name: 'bench', operations: ['search'], partitions: ['*'] });
  // warm-up: connections opened, statements planned
  await sequential(200, () => auth.authenticate(key));
  await sequential(200, (i) => state.audit.append(event(i)));
  return {
    authenticate_ms: latency(await sequential(REQUESTS, () => auth.authenticate(key))),
    audit_append_ms: latency(await sequential(REQUESTS, (i) => state.audit.append(event(i)))),
    authenticate_per_second: await concurrent(REQUESTS, CONCURRENCY, () => auth.authenticate(key)),
    audit_append_per_second: await concurrent(REQUESTS, CONCURRENCY, (i) => state.audit.append(event(i))),
    ...(await measurePhotoJobs(state)),
  };
}

async function measurePhotoJobs(state: NodeState) {
  // the stores keep the analysis opaque (a few hundred bytes of JSON); the files are the cost
  const meta = { filename: 'portrait.jpg' } as PhotoJobMeta;
  const jobs: string[] = [];
  const create = async () => jobs.push((await state.photoJobs.create('fsk_aaaaaaaaaaaa', meta, { upload, 'mask.png': mask })).jobId);
  await sequential(5, create);
  const createMs = await sequential(PHOTO_JOBS, create);
  const readMs = await sequential(PHOTO_JOBS, (i) => state.photoJobs.read(jobs[i], 'fsk_aaaaaaaaaaaa', 'upload'));
  return { photo_job_upload_bytes: upload.length, photo_job_mask_bytes: mask.length, photo_job_create_ms: latency(createMs), photo_job_read_upload_ms: latency(readMs) };
}

const silent = pino({ level: 'silent' });
const scratch = mkdtempSync(join(tmpdir(), 'faceserver-bench-state-'));
const primary = await startPrimary();
try {
  const embedded = await openNodeState({ dataDir: scratch, database: undefined, photo: { jobTtlSeconds: 3600 } }, silent);
  const sqlite = await measure(embedded).finally(() => embedded.close());
  console.log('embedded (SQLite)', sqlite);

  await primary.createDatabase('bench');
  const settings = await primary.withClient(async (admin) =>
    Object.fromEntries((await admin.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay')")).rows.map((row) => [row.name, row.setting])),
  );
  const shared = await openNodeState({ dataDir: scratch, database: { url: primary.url('bench'), approximateAbove: 10_000, efSearch: 100, poolSize: CONCURRENCY }, photo: { jobTtlSeconds: 3600 } }, silent);
  const postgres = await measure(shared).finally(() => shared.close());
  console.log('PostgreSQL (loopback)', postgres);

  writeResults('node-state', { requests: REQUESTS, concurrency: CONCURRENCY, photo_jobs: PHOTO_JOBS, postgres_settings: settings, sqlite, postgres });
} finally {
  primary.destroy();
  rmSync(scratch, { recursive: true, force: true });
}
