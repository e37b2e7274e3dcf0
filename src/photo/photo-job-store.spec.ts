import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { FilePhotoJobStore } from './photo-job-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'photo-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const code = (work: () => unknown) => {
  try {
    work();
    return 'ok';
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
};

describe('FilePhotoJobStore', () => {
  it('keeps a job for its key only, until the TTL, then the sweep deletes its files', () => {
    let now = 1_000_000;
    const store = new FilePhotoJobStore<{ note: string }>(join(dir, 'ttl'), 3_600_000, () => now);
    const job = store.create('fsk_aaaaaaaaaaaa', { note: 'x' }, { upload: new Uint8Array([1, 2, 3]) });
    const other = store.create(null, { note: 'y' }, {});
    expect(store.get(job.jobId, 'fsk_aaaaaaaaaaaa').meta).toEqual({ note: 'x' });
    expect([...store.read(job.jobId, 'fsk_aaaaaaaaaaaa', 'upload')]).toEqual([1, 2, 3]);
    // another key, no key, an unknown id, a path: all the same 404
    expect(code(() => store.get(job.jobId, 'fsk_bbbbbbbbbbbb'))).toBe('not_found');
    expect(code(() => store.read(job.jobId, null, 'upload'))).toBe('not_found');
    expect(code(() => store.get('00000000-0000-4000-8000-000000000000', 'fsk_aaaaaaaaaaaa'))).toBe('not_found');
    expect(code(() => store.get('../ttl', 'fsk_aaaaaaaaaaaa'))).toBe('not_found');
    expect(code(() => store.read(job.jobId, 'fsk_aaaaaaaaaaaa', '../job.json'))).toBe('not_found');
    expect(code(() => store.read(job.jobId, 'fsk_aaaaaaaaaaaa', 'job.json'))).toBe('not_found');

    now += 3_599_000;
    expect(store.sweep()).toBe(0);
    now += 1_000;
    // expired: refused at once, before any sweep, and then deleted from disk
    expect(code(() => store.get(job.jobId, 'fsk_aaaaaaaaaaaa'))).toBe('not_found');
    expect(existsSync(join(store.dir, job.jobId, 'upload'))).toBe(true);
    expect(store.sweep()).toBe(2);
    expect(existsSync(join(store.dir, job.jobId))).toBe(false);
    expect(existsSync(join(store.dir, other.jobId))).toBe(false);
  });

  it('sweeps on a timer', async () => {
    const store = new FilePhotoJobStore<object>(join(dir, 'timer'), 50);
    const job = store.create(null, {}, { upload: new Uint8Array([1]) });
    store.startSweeping(20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    store.stop();
    expect(existsSync(join(store.dir, job.jobId))).toBe(false);
  });
});
