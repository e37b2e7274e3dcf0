import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { createSchemaOnce, inTransaction, queryOrUnavailable, unavailableAsApiError } from '../postgres/pool.ts';
import { badFileName, fileNotFound, isJobFileName, isJobId, jobNotFound, type PhotoJobStore, type StoredJob } from './photo-job-store.ts';

// Times in milliseconds since the epoch (bigint), as job.json has them, so an injected clock rules
// expiry exactly as it does for the file store. A job's files go with it (ON DELETE CASCADE).
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS photo_jobs (
    job_id uuid PRIMARY KEY,
    owner_key_id text,
    created_at bigint NOT NULL,
    meta jsonb NOT NULL
  );
  CREATE INDEX IF NOT EXISTS photo_jobs_by_age ON photo_jobs (created_at);
  CREATE TABLE IF NOT EXISTS photo_job_files (
    job_id uuid NOT NULL REFERENCES photo_jobs (job_id) ON DELETE CASCADE,
    name text NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (job_id, name)
  );
`;

/** the job row's owner and age match: another key's job, or an expired one, is as good as missing */
const visible = (jobs: string) => `${jobs}.job_id = $1 AND ${jobs}.owner_key_id IS NOT DISTINCT FROM $2 AND ${jobs}.created_at > $3`;

interface JobRow<Meta> {
  job_id: string;
  owner_key_id: string | null;
  created_at: number;
  meta: Meta;
}

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Passport-photo jobs in PostgreSQL (DATABASE_URL), shared by every API node: the upload, its mask and
 * the outputs are bytea rows of the job. Same rules as the file store: a job is refused once its TTL has
 * passed and deleted by the next sweep on any node (DELETE … WHERE created_at ≤ cutoff: nodes sweeping at
 * once each delete what the others have not, harmlessly); another key's job is 404. Deleted rows are gone
 * for every query at once; their space is reclaimed by autovacuum.
 */
export class PostgresPhotoJobStore<Meta> implements PhotoJobStore<Meta, 'async'> {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly ttlMs: number,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly now: () => number,
  ) {}

  /** Creates the tables when they are missing; several nodes may start at once. The pool stays the caller's. */
  static async open<Meta>(pool: pg.Pool, ttlMs: number, logger: Pick<Logger, 'warn'>, now: () => number = Date.now): Promise<PostgresPhotoJobStore<Meta>> {
    await createSchemaOnce(pool, 'faceserver-photo-jobs-schema', SCHEMA);
    return new PostgresPhotoJobStore<Meta>(pool, ttlMs, logger, now);
  }

  /** the job and its files in one transaction: no node ever sees a job without its upload */
  async create(owner: string | null, meta: Meta, files: Record<string, Uint8Array>): Promise<StoredJob<Meta>> {
    for (const name of Object.keys(files)) if (!isJobFileName(name)) throw badFileName(name);
    const job: StoredJob<Meta> = { jobId: randomUUID(), owner, createdAt: this.now(), meta };
    await inTransaction(this.pool, async (client) => {
      await client.query('INSERT INTO photo_jobs (job_id, owner_key_id, created_at, meta) VALUES ($1, $2, $3, $4)', [job.jobId, owner, job.createdAt, JSON.stringify(meta)]);
      for (const [name, bytes] of Object.entries(files)) {
        await client.query('INSERT INTO photo_job_files (job_id, name, bytes) VALUES ($1, $2, $3)', [job.jobId, name, asBuffer(bytes)]);
      }
    });
    return job;
  }

  async get(jobId: string, owner: string | null): Promise<StoredJob<Meta>> {
    if (!isJobId(jobId)) throw jobNotFound();
    const row = (await this.query<JobRow<Meta>>(`SELECT job_id, owner_key_id, created_at::float8 AS created_at, meta FROM photo_jobs WHERE ${visible('photo_jobs')}`, [jobId, owner, this.cutoff()])).rows[0];
    if (!row) throw jobNotFound();
    return { jobId: row.job_id, owner: row.owner_key_id, createdAt: row.created_at, meta: row.meta };
  }

  async update(job: StoredJob<Meta>, meta: Meta): Promise<StoredJob<Meta>> {
    await this.query('UPDATE photo_jobs SET meta = $2 WHERE job_id = $1', [job.jobId, JSON.stringify(meta)]);
    return { ...job, meta };
  }

  async write(jobId: string, name: string, bytes: Uint8Array): Promise<void> {
    if (!isJobFileName(name)) throw badFileName(name);
    try {
      await this.pool.query('INSERT INTO photo_job_files (job_id, name, bytes) VALUES ($1, $2, $3) ON CONFLICT (job_id, name) DO UPDATE SET bytes = EXCLUDED.bytes', [jobId, name, asBuffer(bytes)]);
    } catch (error) {
      // swept (by any node) between the caller's get and this write
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw jobNotFound();
      throw unavailableAsApiError(error);
    }
  }

  async read(jobId: string, owner: string | null, name: string): Promise<Buffer> {
    if (!isJobId(jobId)) throw jobNotFound();
    if (!isJobFileName(name)) {
      await this.get(jobId, owner);
      throw fileNotFound();
    }
    const { rows } = await this.query<{ bytes: Buffer | null }>(
      `SELECT f.bytes FROM photo_jobs j LEFT JOIN photo_job_files f ON f.job_id = j.job_id AND f.name = $4 WHERE ${visible('j')}`,
      [jobId, owner, this.cutoff(), name],
    );
    if (rows.length === 0) throw jobNotFound();
    if (!rows[0].bytes) throw fileNotFound();
    return rows[0].bytes;
  }

  async sweep(): Promise<number> {
    const { rowCount } = await this.query('DELETE FROM photo_jobs WHERE created_at <= $1', [this.cutoff()]);
    return rowCount ?? 0;
  }

  startSweeping(intervalMs: number): void {
    this.timer = setInterval(() => {
      // a lost connection must not end the process: the next sweep deletes what this one could not
      this.sweep().catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'photo job sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** jobs created at or before this are expired */
  private cutoff(): number {
    return this.now() - this.ttlMs;
  }

  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return queryOrUnavailable<R>(this.pool, text, params);
  }
}

/** the bytes without a copy, as pg sends a Buffer as bytea */
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
