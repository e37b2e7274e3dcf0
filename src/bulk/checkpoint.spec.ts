import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint, refusalSummary } from './checkpoint.ts';

describe('checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'checkpoint-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers what an earlier run did, ignoring a line cut short by a crash', () => {
    const path = join(dir, 'run.jsonl');
    const first = new Checkpoint(path);
    first.record('a.jpg', 'ok');
    first.record('b.jpg', 'no_face_detected');
    appendFileSync(path, '{"item":"c.jp');
    const resumed = new Checkpoint(path);
    expect([resumed.has('a.jpg'), resumed.has('b.jpg'), resumed.has('c.jpg'), resumed.size]).toEqual([true, true, false, 2]);
  });

  it('summarises refusals by code, most frequent first', () => {
    expect(refusalSummary(['ok', 'quality_too_low', 'no_face_detected', 'quality_too_low', 'ok'])).toEqual([
      ['quality_too_low', 2],
      ['no_face_detected', 1],
    ]);
  });
});
