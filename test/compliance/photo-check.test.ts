import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { MEASUREMENT_NAMES, type FaceSummary } from '../../src/compliance/measures/index.ts';
import { loadProfiles, type IssueCode } from '../../src/compliance/profiles.ts';
import { contract } from '../helpers/contract.ts';
import { fixture } from '../helpers/fixtures.ts';
import { decodeRaw, encodeJpeg, icaoFrame, VARIANTS, type Raw } from '../helpers/photo-variants.ts';
import { postMultipart, startTestServer, type TestServer } from '../helpers/test-server.ts';

// The photo-check API end to end: real models in the server's workers, on London-set photos cut to
// an ICAO frame (compliant) and on variants of them made to fail one check each.

const PATH = '/api/v1/photo/check';
const profiles = loadProfiles();
let server: TestServer;

interface Verdict {
  compliant: boolean;
  profile: string;
  issues: IssueCode[];
  checks: Array<{ code: IssueCode; passed: boolean; value: number; threshold: number | [number, number]; sensitivity: string; heuristic: boolean }>;
  face: FaceSummary | null;
  image: { width: number; height: number };
  measurements: Record<string, { value: number; score: number }>;
}

async function check(image: Uint8Array, metadata?: unknown): Promise<{ status: number; body: any }> {
  const response = await postMultipart(server.url, PATH, { image: Buffer.from(image), metadata });
  const body = await response.json();
  // every answer must fit the OpenAPI document
  expect(contract().check(PATH, response.status, 'application/json', body)).toBe(true);
  return { status: response.status, body };
}

async function verdict(image: Uint8Array, metadata?: unknown): Promise<Verdict> {
  const { status, body } = await check(image, metadata);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as Verdict;
}

/** a London-set photo cut to the ICAO frame round the face the server found in it */
async function framedPhoto(file: string): Promise<{ raw: Raw; face: FaceSummary; jpeg: Buffer }> {
  const bytes = fixture(file);
  const original = await verdict(bytes);
  const raw = await icaoFrame(await decodeRaw(bytes), original.face!);
  const jpeg = await encodeJpeg(raw);
  return { raw, face: (await verdict(jpeg)).face!, jpeg };
}

let base: { raw: Raw; face: FaceSummary; jpeg: Buffer };
let donor: Raw;

beforeAll(async () => {
  server = await startTestServer();
  base = await framedPhoto('faces/london_010/1.jpg');
  donor = await decodeRaw(fixture('faces/london_001/1.jpg'));
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('POST /api/v1/photo/check', () => {
  it('finds nothing wrong with a neutral studio portrait cut to the ICAO frame, under either profile', async () => {
    for (const profile of ['icao', 'enrolment']) {
      const result = await verdict(base.jpeg, { profile });
      expect(result.issues, profile).toEqual([]);
      expect(result.compliant).toBe(true);
      expect(result.checks.every((c) => c.passed && c.sensitivity === 'MEDIUM')).toBe(true);
      expect(result.image).toEqual({ width: base.raw.width, height: base.raw.height });
      // every check of the profile was measured, and every measure reported
      expect(result.checks.map((c) => c.code)).toEqual(profiles[profile].checks.map((c) => c.code));
      expect(Object.keys(result.measurements).sort()).toEqual([...MEASUREMENT_NAMES].sort());
    }
    // the default profile is icao, and its checks include the ISO/IEC 19794-5 inter-eye rule and the heuristics, labelled
    const result = await verdict(base.jpeg);
    expect(result.profile).toBe('icao');
    expect(result.checks.map((c) => c.code)).toContain('ISSUE_FACE_TOO_SMALL');
    expect(result.checks.filter((c) => c.heuristic).map((c) => c.code).sort()).toEqual(['ISSUE_EYEGLASSES', 'ISSUE_FACE_OCCLUDED', 'ISSUE_HEAD_COVERING', 'ISSUE_SHADOW_BEHIND_HEAD']);
    const face = result.face!;
    expect(face.chin.y).toBeGreaterThan(face.eyes[0].y);
    expect(face.crown.y).toBeLessThan(face.eyes[0].y);
  });

  it('the uncut London portrait passes the enrolment profile but not the ICAO framing', async () => {
    const photo = fixture('faces/london_001/1.jpg');
    expect((await verdict(photo, { profile: 'enrolment' })).issues).toEqual([]);
    expect((await verdict(photo, { profile: 'icao' })).issues).toContain('ISSUE_HEAD_SIZE');
  });

  // each variant is made to produce one code; other codes may come with it
  for (const [name, variant] of Object.entries(VARIANTS)) {
    it(`${name} (${variant.description}) → ${variant.issue}`, async () => {
      const image = await encodeJpeg(await variant.make(base.raw, base.face, donor));
      const result = await verdict(image, { profile: 'icao' });
      expect(result.issues).toContain(variant.issue);
      expect(result.compliant).toBe(false);
    });
  }

  it('real photos: smiling → ISSUE_EXPRESSION_NOT_NEUTRAL, open lips → ISSUE_MOUTH_OPEN, turned and tilted heads → yaw and pitch', async () => {
    expect((await verdict((await framedPhoto('faces/london_001/2.jpg')).jpeg)).issues).toContain('ISSUE_EXPRESSION_NOT_NEUTRAL');
    expect((await verdict((await framedPhoto('faces/london_002/2.jpg')).jpeg)).issues).toEqual(expect.arrayContaining(['ISSUE_MOUTH_OPEN', 'ISSUE_EXPRESSION_NOT_NEUTRAL']));
    expect((await verdict(fixture('faces/Arnold_Schwarzenegger/2.jpg'))).issues).toContain('ISSUE_HEAD_YAW_OVER_THRESHOLD');
    expect((await verdict(fixture('faces/Donald_Rumsfeld/1.jpg'))).issues).toContain('ISSUE_HEAD_PITCH_OVER_THRESHOLD');
  });

  it('a photo without a face is a verdict, not an error', async () => {
    const result = await verdict(fixture('nonfaces/01.jpg'));
    expect(result).toMatchObject({ compliant: false, issues: ['ISSUE_FACE_NOT_FOUND'], face: null });
    expect(result.image.width).toBeGreaterThan(0);
  });

  it('issueSensitivityOverride moves the threshold of the codes it names only', async () => {
    const rolled = await encodeJpeg(await VARIANTS.rolled.make(base.raw, base.face, donor));
    const medium = await verdict(rolled);
    const lenient = await verdict(rolled, { issueSensitivityOverride: { ISSUE_HEAD_ROLL_OVER_THRESHOLD: 'VERY_LOW' } });
    const roll = (v: Verdict) => v.checks.find((c) => c.code === 'ISSUE_HEAD_ROLL_OVER_THRESHOLD')!;
    expect(roll(medium)).toMatchObject({ passed: false, sensitivity: 'MEDIUM', threshold: 8 });
    expect(roll(lenient)).toMatchObject({ passed: true, sensitivity: 'VERY_LOW', threshold: 15 });
    expect(roll(lenient).value).toBeCloseTo(roll(medium).value, 6);
    const strict = await verdict(base.jpeg, { issueSensitivityOverride: { ISSUE_HEAD_ROLL_OVER_THRESHOLD: 'VERY_HIGH' } });
    expect(roll(strict)).toMatchObject({ sensitivity: 'VERY_HIGH', threshold: 4 });
  });

  it('refuses unknown profiles, issue codes and sensitivity levels with 400 invalid_metadata', async () => {
    for (const metadata of [
      { profile: 'us-visa' },
      { issueSensitivityOverride: { ISSUE_NOT_A_CODE: 'LOW' } },
      { issueSensitivityOverride: { ISSUE_HEAD_YAW_OVER_THRESHOLD: 'EXTREME' } },
      { sensitivity: 'LOW' },
      '[1]',
    ]) {
      const { status, body } = await check(base.jpeg, metadata);
      expect(status, JSON.stringify(metadata)).toBe(400);
      expect(body.code).toBe('invalid_metadata');
    }
  });

  it('bad images get the usual errors, in JSON', async () => {
    expect((await check(new TextEncoder().encode('GIF89a not really'))).body.code).toBe('unsupported_image_format');
    expect((await check(fixture('faces/london_001/1.jpg').subarray(0, 2000))).body.code).toBe('image_decode_failed');
  });

  it('is on the audit trail as compliant / non_compliant, without partition', async () => {
    const audit = new AuditLog(join(server.dataDir, 'audit.sqlite'));
    try {
      const rows = [...audit.between('2000-01-01', '2100-01-01')].filter((row) => row.operation === 'check');
      expect(new Set(rows.map((row) => row.decision))).toEqual(new Set(['compliant', 'non_compliant', null]));
      expect(rows.every((row) => row.partition === null && row.subject_id === null)).toBe(true);
    } finally {
      audit.close();
    }
  });
});
