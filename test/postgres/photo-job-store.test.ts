// Passport-photo jobs in PostgreSQL (src/photo/postgres-photo-job-store.ts): two stores over one database
// stand for two API nodes; the cluster is the test's own. The rules are the file store's
// (src/photo/photo-job-store.spec.ts): a job for its key only, refused at its TTL, deleted by a sweep.
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors.ts';
import { openPool } from '../../src/postgres/pool.ts';
import { PostgresPhotoJobStore } from '../../src/photo/postgres-photo-job-store.ts';
import { postgresInstalled, startPrimary, type PostgresServer } from '../helpers/postgres-cluster.ts';

const silent = pino({ level: 'silent' });
const TTL_MS = 3_600_000;
const KEY = 'fsk_aaaaaaaaaaaa';

async function code(work: () => unknown): Promise<string> {
  try {
    await work();
  } catch (error) {
    return error instanceof ApiError ? error.code : `not an ApiError: ${(error as Error).message}`;
  }
  return 'ok';
}

describe.skipIf(!postgresInstalled())('passport-photo jobs in PostgreSQL', () => {
  let primary: PostgresServer;
  const pools: pg.Pool[] = [];
  let databases = 0;

  /** a fresh database and a pool per node on it */
  async function nodes(count: number): Promise<{ pools: pg.Pool[]; admin: pg.Pool }> {
    const name = `photo_jobs_${++databases}`;
    const admin = new pg.Client({ connectionString: primary.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const opened = Array.from({ length: count + 1 }, () => openPool(primary.url(name), 2, silent, 'test'));
    pools.push(...opened);
    return { pools: opened.slice(0, count), admin: opened[count] };
  }

  const rows = async (admin: pg.Pool) =>
    (await admin.query<{ jobs: number; files: number }>('SELECT (SELECT count(*)::int FROM photo_jobs) AS jobs, (SELECT count(*)::int FROM photo_job_files) AS files')).rows[0];

  beforeAll(async () => {
    primary = await startPrimary();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
    primary?.destroy();
  });

  it('serves a job made on one node to its key on another, and to no other key', async () => {
    const { pools: [a, b] } = await nodes(2);
    // both nodes create the schema at once, as two nodes starting together would
    const [nodeA, nodeB] = await Promise.all([PostgresPhotoJobStore.open<{ note: string }>(a, TTL_MS, silent), PostgresPhotoJobStore.open<{ note: string }>(b, TTL_MS, silent)]);
    const job = await nodeA.create(KEY, { note: 'x' }, { upload: new Uint8Array([1, 2, 3]), 'mask.png': new Uint8Array([9]) });
    const anonymous = await nodeA.create(null, { note: 'y' }, {});

    expect(await nodeB.get(job.jobId, KEY)).toEqual(job);
    expect([...(await nodeB.read(job.jobId, KEY, 'upload'))]).toEqual([1, 2, 3]);
    expect((await nodeB.get(anonymous.jobId, null)).meta).toEqual({ note: 'y' });

    // outputs written on B are read on A; a second write replaces the file; meta updates are shared
    await nodeB.write(job.jobId, 'photo.jpg', new Uint8Array([4, 5]));
    await nodeB.write(job.jobId, 'photo.jpg', new Uint8Array([6]));
    expect([...(await nodeA.read(job.jobId, KEY, 'photo.jpg'))]).toEqual([6]);
    const updated = await nodeB.update(job, { note: 'z' });
    expect(updated.meta).toEqual({ note: 'z' });
    expect((await nodeA.get(job.jobId, KEY)).meta).toEqual({ note: 'z' });

    // another key, no key, a key on a keyless job, an unknown id, a path, an unknown file: all the same 404
    expect(await code(() => nodeB.get(job.jobId, 'fsk_bbbbbbbbbbbb'))).toBe('not_found');
    expect(await code(() => nodeB.read(job.jobId, null, 'upload'))).toBe('not_found');
    expect(await code(() => nodeB.get(anonymous.jobId, KEY))).toBe('not_found');
    expect(await code(() => nodeB.get('00000000-0000-4000-8000-000000000000', KEY))).toBe('not_found');
    expect(await code(() => nodeB.get('../x', KEY))).toBe('not_found');
    expect(await code(() => nodeB.read(job.jobId, KEY, '../upload'))).toBe('not_found');
    expect(await code(() => nodeB.read(job.jobId, KEY, 'job.json'))).toBe('not_found');
    expect(await code(() => nodeB.read(job.jobId, KEY, 'missing.jpg'))).toBe('not_found');
    expect(await code(() => nodeB.read(job.jobId, 'fsk_bbbbbbbbbbbb', '../upload'))).toBe('not_found');
    // file names are validated as the file store does
    expect(await code(() => nodeB.write(job.jobId, '../escape', new Uint8Array([1])))).toBe('bad_request');
    expect(await code(() => nodeB.write(job.jobId, 'job.json', new Uint8Array([1])))).toBe('bad_request');
    expect(await code(() => nodeA.create(KEY, { note: 'x' }, { 'a/b': new Uint8Array([1]) }))).toBe('bad_request');
  });

  it('refuses a job at its TTL on every node, and a sweep on any node deletes its rows and files', async () => {
    const { pools: [a, b], admin } = await nodes(2);
    let now = 1_000_000;
    const clock = () => now;
    const nodeA = await PostgresPhotoJobStore.open<object>(a, TTL_MS, silent, clock);
    const nodeB = await PostgresPhotoJobStore.open<object>(b, TTL_MS, silent, clock);
    const old = await nodeA.create(KEY, {}, { upload: new Uint8Array(1024).fill(7), 'mask.png': new Uint8Array([1]) });
    now += 1_000;
    const young = await nodeA.create(KEY, {}, { upload: new Uint8Array([2]) });

    now = 1_000_000 + TTL_MS - 1;
    expect(await nodeB.sweep()).toBe(0);
    expect((await nodeB.get(old.jobId, KEY)).jobId).toBe(old.jobId);

    now = 1_000_000 + TTL_MS;
    // expired: refused at once, before any sweep, yet still stored until one runs
    expect(await code(() => nodeB.get(old.jobId, KEY))).toBe('not_found');
    expect(await code(() => nodeA.read(old.jobId, KEY, 'upload'))).toBe('not_found');
    expect(await rows(admin)).toEqual({ jobs: 2, files: 3 });
    // both nodes sweep at once: the old job is deleted once, with its files; the young one stays
    const swept = await Promise.all([nodeA.sweep(), nodeB.sweep()]);
    expect(swept.sort()).toEqual([0, 1]);
    expect(await rows(admin)).toEqual({ jobs: 1, files: 1 });
    expect((await admin.query('SELECT 1 FROM photo_job_files WHERE job_id = $1', [old.jobId])).rowCount).toBe(0);
    // a write to a job a sweep removed is the same 404, not a foreign-key error
    expect(await code(() => nodeB.write(old.jobId, 'photo.jpg', new Uint8Array([1])))).toBe('not_found');
    expect([...(await nodeB.read(young.jobId, KEY, 'upload'))]).toEqual([2]);

    now += 1_000;
    expect(await nodeA.sweep()).toBe(1);
    expect(await rows(admin)).toEqual({ jobs: 0, files: 0 });
  });

  it('sweeps on a timer', async () => {
    const { pools: [a], admin } = await nodes(1);
    const store = await PostgresPhotoJobStore.open<object>(a, 50, silent);
    await store.create(null, {}, { upload: new Uint8Array([1]) });
    store.startSweeping(20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    store.stop();
    expect(await rows(admin)).toEqual({ jobs: 0, files: 0 });
  });
});
