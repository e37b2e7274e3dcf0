import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../errors.ts';

/** A job's own files: a plain name, no path. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const META = 'job.json';

export interface StoredJob<Meta> {
  jobId: string;
  /** API key id of the caller that made it; null on a server without keys */
  owner: string | null;
  createdAt: number;
  meta: Meta;
}

/**
 * Passport-photo jobs on disk, one directory each under <dataDir>/photo-jobs: the upload, its mask and
 * what was made from it. Uploaded photos are personal data, so a job lives `ttlMs` and is then deleted
 * by `sweep`; until then only the key that made it can see it (any other key is told 404, as if it
 * did not exist).
 */
export class PhotoJobStore<Meta> {
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

  /** the job, if it exists, belongs to `owner` and has not expired; not_found otherwise */
  get(jobId: string, owner: string | null): StoredJob<Meta> {
    const missing = new ApiError('not_found', 'no such job (jobs are kept for a limited time)');
    if (!JOB_ID.test(jobId)) throw missing;
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
    if (!FILE_NAME.test(name) || name === META) throw new ApiError('bad_request', `not a job file name: ${name}`);
    writeFileSync(join(this.jobDir(jobId), name), bytes);
  }

  /** a file of a job `owner` may see; not_found for anything else */
  read(jobId: string, owner: string | null, name: string): Buffer {
    this.get(jobId, owner);
    if (!FILE_NAME.test(name) || name === META) throw new ApiError('not_found', 'no such file');
    try {
      return readFileSync(join(this.jobDir(jobId), name));
    } catch {
      throw new ApiError('not_found', 'no such file');
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

  /** sweeps every `intervalMs` until `stop` */
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
