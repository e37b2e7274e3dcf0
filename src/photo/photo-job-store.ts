import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../errors.ts';
import type { Answer, StoreMode } from '../store-mode.ts';

/** A job's own files: a plain name, no path. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const META = 'job.json';

/** a job id as the stores make them (a UUID): anything else cannot name a job */
export const isJobId = (jobId: string) => JOB_ID.test(jobId);
/** a name a job's file may have: plain, no path, not the file store's own job.json (refused in every store alike) */
export const isJobFileName = (name: string) => FILE_NAME.test(name) && name !== META;
/** the one answer for a job that is missing, expired or another key's */
export const jobNotFound = () => new ApiError('not_found', 'no such job (jobs are kept for a limited time)');
export const fileNotFound = () => new ApiError('not_found', 'no such file');
export const badFileName = (name: string) => new ApiError('bad_request', `not a job file name: ${name}`);

export interface StoredJob<Meta> {
  jobId: string;
  /** API key id of the caller that made it; null on a server without keys */
  owner: string | null;
  createdAt: number;
  meta: Meta;
}

/**
 * Where passport-photo jobs live: files in DATA_DIR for the embedded store, PostgreSQL shared by every API
 * node when DATABASE_URL is set (a job analysed on one node is generated and downloaded on any). Uploaded
 * photos are personal data: a job lives the TTL, is refused from then on and deleted by `sweep`; only the
 * key that made it can see it (any other key is told 404, as if it did not exist).
 */
export interface PhotoJobStore<Meta, Mode extends StoreMode = StoreMode> {
  create(owner: string | null, meta: Meta, files: Record<string, Uint8Array>): Answer<Mode, StoredJob<Meta>>;
  /** the job, if it exists, belongs to `owner` and has not expired; not_found otherwise */
  get(jobId: string, owner: string | null): Answer<Mode, StoredJob<Meta>>;
  update(job: StoredJob<Meta>, meta: Meta): Answer<Mode, StoredJob<Meta>>;
  /** adds or replaces a file of a job (bad_request for a name that is not a plain file name) */
  write(jobId: string, name: string, bytes: Uint8Array): Answer<Mode, void>;
  /** a file of a job `owner` may see; not_found for anything else */
  read(jobId: string, owner: string | null, name: string): Answer<Mode, Buffer>;
  /** deletes every expired job with its files; returns how many */
  sweep(): Answer<Mode, number>;
  startSweeping(intervalMs: number): void;
  stop(): void;
}

/**
 * Passport-photo jobs on disk, one directory each under <dataDir>/photo-jobs: the upload, its mask and
 * what was made from it. Uploaded photos are personal data, so a job lives `ttlMs` and is then deleted
 * by `sweep`; until then only the key that made it can see it (any other key is told 404, as if it
 * did not exist).
 */
export class FilePhotoJobStore<Meta> implements PhotoJobStore<Meta, 'sync'> {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  create(owner: string | null, meta: Meta, files: Record<string, Uint8Array>): StoredJob<Meta> {
    const job: StoredJob<Meta> = { jobId: randomUUID(), owner, createdAt: this.now(), meta };
    mkdirSync(this.jobDir(job.jobId));
    for (const [name, bytes] of Object.entries(files)) this.write(job.jobId, name, bytes);
    writeFileSync(join(this.jobDir(job.jobId), META), JSON.stringify(job));
    return job;
  }

  get(jobId: string, owner: string | null): StoredJob<Meta> {
    const missing = jobNotFound();
    if (!isJobId(jobId)) throw missing;
    let job: StoredJob<Meta>;
    try {
      job = JSON.parse(readFileSync(join(this.jobDir(jobId), META), 'utf8')) as StoredJob<Meta>;
    } catch {
      throw missing;
    }
    if (job.owner !== owner || this.expired(job)) throw missing;
    return job;
  }

  update(job: StoredJob<Meta>, meta: Meta): StoredJob<Meta> {
    const updated = { ...job, meta };
    writeFileSync(join(this.jobDir(job.jobId), META), JSON.stringify(updated));
    return updated;
  }

  write(jobId: string, name: string, bytes: Uint8Array): void {
    if (!isJobFileName(name)) throw badFileName(name);
    writeFileSync(join(this.jobDir(jobId), name), bytes);
  }

  read(jobId: string, owner: string | null, name: string): Buffer {
    this.get(jobId, owner);
    if (!isJobFileName(name)) throw fileNotFound();
    try {
      return readFileSync(join(this.jobDir(jobId), name));
    } catch {
      throw fileNotFound();
    }
  }

  /** deletes every expired job (and any directory left without a readable job file); returns how many */
  sweep(): number {
    let deleted = 0;
    for (const jobId of readdirSync(this.dir)) {
      let expired = true;
      try {
        expired = this.expired(JSON.parse(readFileSync(join(this.jobDir(jobId), META), 'utf8')) as StoredJob<Meta>);
      } catch {
        // a job being created has its files before its job.json: leave young directories alone
        expired = !this.createdRecently(jobId);
      }
      if (!expired) continue;
      rmSync(this.jobDir(jobId), { recursive: true, force: true });
      deleted++;
    }
    return deleted;
  }

  startSweeping(intervalMs: number): void {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private expired(job: StoredJob<Meta>): boolean {
    return this.now() - job.createdAt >= this.ttlMs;
  }

  private createdRecently(jobId: string): boolean {
    try {
      return this.now() - statSync(this.jobDir(jobId)).mtimeMs < this.ttlMs;
    } catch {
      return false;
    }
  }

  private jobDir(jobId: string): string {
    return join(this.dir, jobId);
  }
}
