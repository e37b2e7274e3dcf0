import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { judge } from './compliance.service.ts';
import type { PhotoMeasurements } from './measures/index.ts';
import { ISSUE_CODES, loadProfiles, passes, SENSITIVITIES, type ComplianceCheck } from './profiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function profilesFile(checks: unknown[]): string {
  const path = join(dir, `p${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ test: { description: 't', checks } }));
  return path;
}

const levels = (values: unknown[]) => Object.fromEntries(SENSITIVITIES.map((level, i) => [level, values[i]]));
const yawCheck = { code: 'ISSUE_HEAD_YAW_OVER_THRESHOLD', measure: 'yaw', kind: 'max', severity: 'major', message: 'turned', thresholds: levels([20, 15, 10, 8, 5]) };

describe('compliance profiles', () => {
  it('the shipped profiles load, and between them check every issue code but ISSUE_FACE_NOT_FOUND', () => {
    const profiles = loadProfiles();
    expect(Object.keys(profiles).sort()).toEqual(['enrolment', 'icao']);
    const checked = new Set(Object.values(profiles).flatMap((p) => p.checks.map((c) => c.code)));
    expect([...checked].sort()).toEqual(ISSUE_CODES.filter((c) => c !== 'ISSUE_FACE_NOT_FOUND').sort());
  });

  it('refuses unknown measures and codes, and levels that get laxer as sensitivity rises', () => {
    expect(() => loadProfiles(profilesFile([yawCheck]))).not.toThrow();
    expect(() => loadProfiles(profilesFile([{ ...yawCheck, measure: 'beauty' }]))).toThrow(/measure/);
    expect(() => loadProfiles(profilesFile([{ ...yawCheck, code: 'ISSUE_FACE_NOT_FOUND' }]))).toThrow(/code/);
    expect(() => loadProfiles(profilesFile([{ ...yawCheck, thresholds: levels([5, 8, 10, 15, 20]) }]))).toThrow(/must not rise/);
    expect(() => loadProfiles(profilesFile([{ ...yawCheck, kind: 'range', thresholds: levels([[0, 9], [1, 8], [2, 7], [3, 6], [5, 4]]) }]))).toThrow(/\[min, max\]/);
    expect(() => loadProfiles(profilesFile([yawCheck, yawCheck]))).toThrow(/at most once/);
  });

  it('min, max and range checks pass inclusive of their thresholds', () => {
    const check = (kind: string, t: unknown) => ({ kind, thresholds: levels([t, t, t, t, t]) }) as unknown as ComplianceCheck;
    expect([9, 10, 11].map((v) => passes(check('max', 10), 'MEDIUM', v))).toEqual([true, true, false]);
    expect([9, 10, 11].map((v) => passes(check('min', 10), 'MEDIUM', v))).toEqual([false, true, true]);
    expect([1, 2, 5, 6].map((v) => passes(check('range', [2, 5]), 'MEDIUM', v))).toEqual([false, true, true, false]);
  });

  it('a photo without a face is judged ISSUE_FACE_NOT_FOUND and nothing else', () => {
    const measured: PhotoMeasurements = { measurements: {}, image: { width: 10, height: 10, quarterTurns: 0 }, timings: {} };
    const verdict = judge(measured, { profile: 'icao', issueSensitivityOverride: {} }, loadProfiles());
    expect(verdict).toMatchObject({ compliant: false, issues: ['ISSUE_FACE_NOT_FOUND'], face: null });
    expect(verdict.checks).toHaveLength(1);
  });
});
