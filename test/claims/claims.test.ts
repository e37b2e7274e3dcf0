import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEvent } from '../../src/audit/audit-log.ts';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService } from '../../src/security/auth.service.ts';
import { contract } from '../helpers/contract.ts';
import { fixture } from '../helpers/fixtures.ts';
import { jp2File } from '../helpers/jpeg2000.ts';
import { postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { documentPortrait, postClaimImage, postClaimJson, sideBySide, withInterEye, type ClaimImage, type Headers } from './support.ts';

// Enrolment from trusted document photos end to end: real models in the server's workers, real SQLite
// and search workers, API keys required. Document portraits are London-set neutral photos cut to the ICAO frame;
// live captures are the same people's second (smiling) photos.

const PATHS = {
  enrolToken: '/api/v1/claim/enrol/token',
  enrolImage: '/api/v1/claim/enrol/image',
  verifyToken: '/api/v1/claim/verify/token',
  verifyImage: '/api/v1/claim/verify/image',
  validate: '/api/v1/claim/verify/validate',
};

let server: TestServer;
let keys: ApiKeyRepository;
let operator: Headers;
let otherClient: Headers;
let enrolOnly: Headers;
/** request id → the code its audit row must have */
const expectedAudit = new Map<string, { code: string; status: number }>();
let requestCounter = 0;

let chipImage: Buffer; // JPEG 2000 of london_010's document portrait, as read off an e-passport chip
let impostorDocument: Buffer; // london_011's document portrait, JPEG
let compliantPortrait: Buffer; // london_002's document portrait, JPEG

beforeAll(async () => {
  server = await startTestServer({ auth: { required: true } });
  keys = new ApiKeyRepository(join(server.dataDir, 'keys.sqlite'));
  const auth = new AuthService(keys, true);
  const key = (operations: string[]) => ({ Authorization: `Bearer ${auth.createKey({ name: 'claims', operations: operations as never, partitions: ['*'] }).key}` });
  operator = key(['claim_enrol', 'claim_verify', 'admin', 'enrol', 'search', 'verify', 'check']);
  otherClient = key(['claim_enrol', 'claim_verify']);
  enrolOnly = key(['enrol']);
  chipImage = await jp2File(await documentPortrait(server.url, 'faces/london_010/1.jpg', operator), { width: 480 });
  impostorDocument = await documentPortrait(server.url, 'faces/london_011/1.jpg', operator);
  compliantPortrait = await documentPortrait(server.url, 'faces/london_002/1.jpg', operator);
}, 180_000);

afterAll(async () => {
  keys?.close();
  await server?.stop();
});

function tracked(headers: Headers): Headers {
  return { ...headers, 'X-Request-Id': `claims-${++requestCounter}` };
}

interface Reply {
  status: number;
  body: any;
  requestId: string;
}

async function readReply(response: Response): Promise<Reply> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await response.json();
  // every answer must fit the OpenAPI document
  expect(contract().check(new URL(response.url).pathname, response.status, 'application/json', body), `${response.url} is documented`).toBe(true);
  return { status: response.status, body, requestId: response.headers.get('x-request-id')! };
}

async function json(path: string, body: unknown, headers: Headers = operator): Promise<Reply> {
  return readReply(await postClaimJson(server.url, path, body, tracked(headers)));
}

async function image(path: string, request: ClaimImage, headers: Headers = operator): Promise<Reply> {
  return readReply(await postClaimImage(server.url, path, request, tracked(headers)));
}

/** Asserts a refusal and remembers that the audit log must hold it. */
function refused(reply: Reply, status: number, code: string): void {
  expect([reply.status, reply.body.code], JSON.stringify(reply.body)).toEqual([status, code]);
  expectedAudit.set(reply.requestId, { code, status });
}

async function enrolToken(user_id: string, source: string, partition = 'claims', headers = operator): Promise<string> {
  const reply = await json(PATHS.enrolToken, { user_id, partition, source }, headers);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.token;
}

async function verifyToken(user_id: string, partition = 'claims', headers = operator): Promise<string> {
  const reply = await json(PATHS.verifyToken, { user_id, partition }, headers);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.token;
}

async function subject(partition: string, subjectId: string): Promise<Reply> {
  return readReply(await fetch(`${server.url}/api/v1/subjects/${partition}/${encodeURIComponent(subjectId)}`, { headers: operator }));
}

/** What the user's record holds: templates (none when nothing was enrolled). */
async function templatesOf(userId: string, partition = 'claims'): Promise<unknown[]> {
  const reply = await subject(partition, userId);
  return reply.status === 404 ? [] : reply.body.templates;
}

describe('the journey: enrol a trusted photo, verify a live capture, validate once', () => {
  it('a genuine pair, enrolled from a JPEG 2000 chip image, passes', async () => {
    const token = await enrolToken('alice.smith@example.org', 'eid');
    const enrolled = await image(PATHS.enrolImage, { token, image: chipImage, source: 'eid', type: 'image/jp2', name: 'dg2.jp2' });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    expect(enrolled.body).toMatchObject({ success: true, user_id: 'alice.smith@example.org', source: 'eid', issues: [] });
    expect(enrolled.body.quality_score).toBeGreaterThan(0.5);

    const live = await verifyToken('alice.smith@example.org');
    const received = await image(PATHS.verifyImage, { token: live, image: fixture('faces/london_010/2.jpg') });
    expect([received.status, received.body.received]).toEqual([200, true]);
    // the image post says nothing of the outcome
    expect(received.body).not.toHaveProperty('passed');

    const validated = await json(PATHS.validate, { token: live, user_id: 'alice.smith@example.org' });
    expect(validated.status, JSON.stringify(validated.body)).toBe(200);
    expect(validated.body).toMatchObject({ passed: true, source: 'eid', mad: 'passed', threshold: 0.45 });
    expect(validated.body.score).toBeGreaterThanOrEqual(validated.body.threshold);
    expect(validated.body).not.toHaveProperty('failure_reason');

    // exactly once
    refused(await json(PATHS.validate, { token: live, user_id: 'alice.smith@example.org' }), 409, 'token_used');

    // the user's record: the template with its source, and both tokens with their outcomes
    const record = await subject('claims', 'alice.smith@example.org');
    expect(record.status).toBe(200);
    expect(record.body.templates).toHaveLength(1);
    expect(record.body.templates[0]).toMatchObject({ source: 'eid', quality: enrolled.body.quality_score });
    expect(record.body.templates[0]).not.toHaveProperty('vector');
    expect(record.body.claims.map((c: any) => [c.purpose, c.outcome.passed, c.validated_at !== null])).toEqual([
      ['enrol', true, false],
      ['verify', true, true],
    ]);
    expect(record.body.claims[1].token_id).toBe(validated.body.token_id);
    expect(JSON.stringify(record.body)).not.toContain(live);
  });

  it('an impostor pair fails with no_match, and the outcome is given once', async () => {
    const token = await enrolToken('bob', 'oid');
    expect((await image(PATHS.enrolImage, { token, image: impostorDocument })).status).toBe(200);
    const live = await verifyToken('bob');
    expect((await image(PATHS.verifyImage, { token: live, image: fixture('faces/london_004/2.jpg') })).status).toBe(200);
    const validated = await json(PATHS.validate, { token: live, user_id: 'bob' });
    expect(validated.status).toBe(200);
    expect(validated.body).toMatchObject({ passed: false, failure_reason: 'no_match', source: 'oid' });
    expect(validated.body.score).toBeLessThan(validated.body.threshold);
    refused(await json(PATHS.validate, { token: live, user_id: 'bob' }), 409, 'token_used');
  });
});

describe('tokens', () => {
  it('are bound to their API key, user and purpose; unknown ones are refused', async () => {
    const live = await verifyToken('alice.smith@example.org');
    refused(await image(PATHS.verifyImage, { token: live, image: fixture('faces/london_010/2.jpg') }, otherClient), 403, 'token_wrong_key');
    refused(await image(PATHS.enrolImage, { token: live, image: compliantPortrait }), 403, 'token_wrong_purpose');
    refused(await json(PATHS.validate, { token: live, user_id: 'alice.smith@example.org' }), 409, 'outcome_pending');
    expect((await image(PATHS.verifyImage, { token: live, image: fixture('faces/london_010/2.jpg') })).status).toBe(200);
    refused(await json(PATHS.validate, { token: live, user_id: 'bob' }), 403, 'token_wrong_user');
    refused(await json(PATHS.validate, { token: live, user_id: 'alice.smith@example.org' }, otherClient), 403, 'token_wrong_key');
    // none of the refusals used the token up
    expect((await json(PATHS.validate, { token: live, user_id: 'alice.smith@example.org' })).body.passed).toBe(true);

    const enrol = await enrolToken('carol', 'selfie');
    refused(await image(PATHS.verifyImage, { token: enrol, image: fixture('faces/london_010/2.jpg') }), 403, 'token_wrong_purpose');
    refused(await json(PATHS.validate, { token: enrol, user_id: 'carol' }), 403, 'token_wrong_purpose');
    refused(await image(PATHS.enrolImage, { token: enrol, image: compliantPortrait, source: 'eid' }), 400, 'source_mismatch');
    refused(await json(PATHS.validate, { token: 'A'.repeat(43), user_id: 'carol' }), 404, 'token_unknown');
    refused(await json(PATHS.validate, { token: 'not a token', user_id: 'carol' }), 404, 'token_unknown');
    expect(await templatesOf('carol')).toEqual([]);
  });

  it('an enrol token enrols once; a verify token is only issued for a user with a trusted photo', async () => {
    const token = await enrolToken('dave', 'selfie');
    expect((await image(PATHS.enrolImage, { token, image: compliantPortrait })).status).toBe(200);
    refused(await image(PATHS.enrolImage, { token, image: compliantPortrait }), 409, 'token_used');
    expect(await templatesOf('dave')).toHaveLength(1);

    refused(await json(PATHS.verifyToken, { user_id: 'nobody', partition: 'claims' }), 404, 'unknown_subject');
    // a subject enrolled through the plain endpoint has no trusted photo to verify against
    const plain = await readXml(await postMultipart(server.url, '/api/v1/enrol', { image: fixture('faces/london_005/1.jpg'), metadata: { subject_id: 'plain', partition: 'claims' } }, operator));
    expect(plain.status).toBe(200);
    refused(await json(PATHS.verifyToken, { user_id: 'plain', partition: 'claims' }), 404, 'unknown_subject');
  });

  it('take at most maxTries image posts, refused ones included', async () => {
    const token = await enrolToken('erin', 'selfie');
    const gif = await sharp(compliantPortrait).gif().toBuffer();
    for (let i = 0; i < 3; i++) refused(await image(PATHS.enrolImage, { token, image: gif, type: 'image/gif', name: 'erin.gif' }), 400, 'unsupported_image_format');
    refused(await image(PATHS.enrolImage, { token, image: compliantPortrait }), 429, 'token_tries_exhausted');
    expect(await templatesOf('erin')).toEqual([]);
  });

  it('are refused to a key without the claim scopes, and for a user_id outside the reference\'s pattern', async () => {
    refused(await json(PATHS.enrolToken, { user_id: 'frank', source: 'eid' }, enrolOnly), 403, 'forbidden');
    refused(await json(PATHS.enrolToken, { user_id: 'frank smith', source: 'eid' }), 400, 'invalid_metadata');
    refused(await json(PATHS.enrolToken, { user_id: 'frank', source: 'passport' }), 400, 'invalid_metadata');
  });
});

describe('image requirements: each refused with its own code, before any template is made', () => {
  const cases: Array<[string, () => Promise<ClaimImage & { source?: string }>, string, number, string]> = [
    ['a 2.1 MB file', async () => ({ token: '', image: await sharp(compliantPortrait).resize(840, 840, { fit: 'fill' }).png({ compressionLevel: 0 }).toBuffer(), type: 'image/png' }), 'eid', 413, 'image_too_large'],
    ['a GIF', async () => ({ token: '', image: await sharp(compliantPortrait).gif().toBuffer(), type: 'image/gif' }), 'eid', 400, 'unsupported_image_format'],
    ['a corrupt JPEG 2000 file', async () => ({ token: '', image: Buffer.concat([chipImage.subarray(0, 300), Buffer.alloc(4000, 0x5a)]), type: 'image/jp2' }), 'eid', 400, 'image_decode_failed'],
    ['a photo with no face', async () => ({ token: '', image: fixture('nonfaces/01.jpg') }), 'selfie', 400, 'no_face_detected'],
    ['a small face, eyes 60 px apart', async () => ({ token: '', image: await withInterEye(server.url, compliantPortrait, 60, operator) }), 'selfie', 422, 'eyes_too_close'],
    ['two people', async () => ({ token: '', image: await sideBySide(compliantPortrait, impostorDocument) }), 'selfie', 422, 'multiple_faces'],
    ['an eid photo that is not framed to ICAO 9303', async () => ({ token: '', image: fixture('faces/london_001/1.jpg') }), 'eid', 422, 'photo_not_compliant'],
  ];

  it.each(cases)('%s', async (name, make, source, status, code) => {
    const userId = `req-${code}`;
    const request = await make();
    if (code === 'image_too_large') expect(request.image.length).toBeGreaterThan(2_100_000);
    const token = await enrolToken(userId, source);
    const reply = await image(PATHS.enrolImage, { ...request, token });
    refused(reply, status, code);
    expect(reply.body.message.length, name).toBeGreaterThan(10);
    expect(await templatesOf(userId)).toEqual([]);
  });

  it('the same uncropped photo enrols as a selfie (enrolment profile), reporting nothing blocking', async () => {
    const token = await enrolToken('gina', 'selfie');
    const reply = await image(PATHS.enrolImage, { token, image: fixture('faces/london_001/1.jpg') });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(await templatesOf('gina')).toHaveLength(1);
  });
});

describe('sources', () => {
  it('search and verify can be limited to sources; the subject list shows them, paged', async () => {
    const probe = fixture('faces/london_010/2.jpg');
    const search = async (metadata: object, image = probe) => readXml(await postMultipart(server.url, '/api/v1/search', { image, metadata }, operator));
    const verify = async (metadata: object) => readXml(await postMultipart(server.url, '/api/v1/verify', { image: probe, metadata }, operator));
    const found = async (metadata: object, image = probe) => ((await search({ partition: 'claims', top_k: 100, ...metadata }, image)).body.candidates.candidate ?? []).map((c: any) => c.subject_id);
    // (the partition's minimum threshold leaves only genuine matches)
    expect(await found({})).toEqual(['alice.smith@example.org']);
    expect(await found({ sources: ['eid'] })).toEqual(['alice.smith@example.org']);
    expect(await found({ sources: ['oid', 'selfie'] })).toEqual([]);
    const daveLive = fixture('faces/london_002/2.jpg');
    expect(await found({ sources: ['selfie'] }, daveLive)).toEqual(['dave']);
    expect(await found({ sources: ['eid', 'enrol'] }, daveLive)).toEqual([]);
    const verifyEnrolOnly = await verify({ subject_id: 'alice.smith@example.org', partition: 'claims', sources: ['enrol'] });
    expect([verifyEnrolOnly.status, verifyEnrolOnly.body.code]).toEqual([404, 'unknown_subject']);
    const verifyEid = await verify({ subject_id: 'alice.smith@example.org', partition: 'claims', sources: ['eid'] });
    expect(verifyEid.body.match).toBe('true');
    const badSource = await search({ partition: 'claims', sources: ['passport'] });
    expect([badSource.status, badSource.body.code]).toEqual([400, 'invalid_metadata']);

    const page = async (query: string) => readReply(await fetch(`${server.url}/api/v1/subjects/claims${query}`, { headers: operator }));
    const first = await page('?page=1&page_size=2');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(5);
    expect(first.body.subjects.map((s: any) => [s.subject_id, s.sources])).toEqual([
      ['alice.smith@example.org', ['eid']],
      ['bob', ['oid']],
    ]);
    const second = await page('?page=2&page_size=2');
    expect(second.body.subjects.map((s: any) => s.subject_id)).toEqual(['dave', 'gina']);
    const third = await page('?page=3&page_size=2');
    expect(third.body.subjects.map((s: any) => [s.subject_id, s.sources])).toEqual([['plain', ['enrol']]]);
    expect((await page('?page_size=0')).status).toBe(400);
    expect((await readReply(await fetch(`${server.url}/api/v1/subjects/nowhere`, { headers: operator }))).status).toBe(404);
    expect((await readReply(await fetch(`${server.url}/api/v1/subjects/claims`, { headers: otherClient }))).status).toBe(403);
  });
});

describe('operations', () => {
  it('every refusal above is in the audit log with its code', async () => {
    expect(expectedAudit.size).toBeGreaterThan(20);
    const log = new AuditLog(join(server.dataDir, 'audit.sqlite'));
    let events: AuditEvent[];
    try {
      events = [...log.between('2000-01-01', '3000-01-01')];
    } finally {
      log.close();
    }
    for (const [requestId, { code, status }] of expectedAudit) {
      const event = events.find((e) => e.request_id === requestId);
      expect(event, `audit row of ${requestId} (${code})`).toBeDefined();
      expect([event!.code, event!.status, event!.operation]).toEqual([code, status, expect.stringMatching(/^claim_(enrol|verify)$/)]);
    }
    const passed = events.filter((e) => e.operation === 'claim_verify' && e.decision === 'passed');
    expect(passed.length).toBeGreaterThanOrEqual(2);
    expect(passed.every((e) => e.subject_id === 'alice.smith@example.org' && e.partition === 'claims' && e.score !== null)).toBe(true);
    // each row of a token's life names it, as the user's record does; an unknown token names none
    const record = await subject('claims', 'alice.smith@example.org');
    const tokenIds = new Set(record.body.claims.map((c: any) => c.token_id));
    expect(passed.every((e) => tokenIds.has(e.claim_token_id))).toBe(true);
    const wrongKey = events.filter((e) => e.code === 'token_wrong_key');
    expect(wrongKey.length).toBeGreaterThan(0);
    expect(wrongKey.every((e) => tokenIds.has(e.claim_token_id))).toBe(true);
    expect(events.filter((e) => e.code === 'token_unknown').every((e) => e.claim_token_id === null)).toBe(true);
    expect(events.filter((e) => e.operation === 'claim_enrol' && e.decision === 'token_issued').every((e) => e.claim_token_id !== null)).toBe(true);
  });

  it('metrics count tokens, enrolments by source and outcomes', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: operator })).text();
    expect(text).toMatch(/faceserver_claim_tokens_total\{purpose="verify"\} [1-9]/);
    expect(text).toMatch(/faceserver_claim_enrolments_total\{source="eid"\} 1/);
    expect(text).toMatch(/faceserver_claim_verify_outcomes_total\{result="no_match"\} 1/);
    expect(text).toMatch(/faceserver_claim_validations_total\{passed="true"\} 2/);
  });
});
