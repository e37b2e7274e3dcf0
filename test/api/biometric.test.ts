import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { fixture } from '../helpers/fixtures.ts';
import { jp2File } from '../helpers/jpeg2000.ts';
import { postJson, postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';

// Enrolled from the first image, probed with another image of the same person. George_W_Bush/2.jpg is
// avoided: it is one of the 2% of faces/ that PAD refuses at the default threshold (benchmarks/results/pad.json).
const IDENTITIES = [
  { id: 'london_001', enrol: 'faces/london_001/1.jpg', probe: 'faces/london_001/2.jpg' },
  { id: 'london_002', enrol: 'faces/london_002/1.jpg', probe: 'faces/london_002/2.jpg' },
  { id: 'london_003', enrol: 'faces/london_003/1.jpg', probe: 'faces/london_003/2.jpg' },
  { id: 'london_004', enrol: 'faces/london_004/1.jpg', probe: 'faces/london_004/2.jpg' },
  { id: 'George_W_Bush', enrol: 'faces/George_W_Bush/1.jpg', probe: 'faces/George_W_Bush/3.jpg' },
  { id: 'Colin_Powell', enrol: 'faces/Colin_Powell/1.jpg', probe: 'faces/Colin_Powell/2.jpg' },
  { id: 'Donald_Rumsfeld', enrol: 'faces/Donald_Rumsfeld/1.jpg', probe: 'faces/Donald_Rumsfeld/2.jpg' },
  { id: 'bbt_amy', enrol: 'faces/bbt_amy/1.png', probe: 'faces/bbt_amy/2.png' },
];

const manifest = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'models', 'manifest.json'), 'utf8'));
const RECOGNITION_MODEL_ID: string = manifest.models.find((m: { role: string }) => m.role === 'recognition').model_id;

let server: TestServer;
let url: string;

beforeAll(async () => {
  // The server's threshold floor (policy) is lifted here so the ranking of every subject can be checked.
  server = await startTestServer({ policy: { defaults: { minThreshold: 0 } } });
  url = server.url;
  for (const identity of IDENTITIES) {
    const reply = await readXml(await postMultipart(url, '/api/v1/enrol', { image: fixture(identity.enrol), metadata: { subject_id: identity.id } }));
    expect(reply.status, `enrol ${identity.id}: ${JSON.stringify(reply.body)}`).toBe(200);
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('enrol', () => {
  it('answers the contract XML, element by element', async () => {
    const reply = await readXml(await postMultipart(url, '/api/v1/enrol', { image: fixture('faces/london_005/1.jpg'), metadata: { subject_id: 'london_005', partition: 'visitors' } }));
    expect(reply.status).toBe(200);
    expect(reply.root).toBe('EnrolResponse');
    expect(reply.elements).toEqual(['status', 'subject_id', 'quality_score', 'model_id', 'face_count']);
    expect(reply.body.face_count).toBe('1');
    expect(reply.body.status).toBe('OK');
    expect(reply.body.subject_id).toBe('london_005');
    const quality = Number(reply.body.quality_score);
    expect(quality).toBeGreaterThan(0);
    expect(quality).toBeLessThanOrEqual(1);
    expect(reply.body.model_id).toBe(RECOGNITION_MODEL_ID);
  });

  it('puts a subject in the "default" partition when none is given', async () => {
    const partitions = await (await fetch(`${url}/api/v1/partitions`)).json();
    expect(partitions.partitions).toEqual(expect.arrayContaining(['default', 'visitors']));
    const stats = await (await fetch(`${url}/api/v1/stats`)).json();
    expect(stats.partitions.default).toBe(IDENTITIES.length);
    expect(stats.partitions.visitors).toBe(1);
    expect(stats.total_subjects).toBe(IDENTITIES.length + 1);
  });

  it('adds a template when a subject is enrolled again', async () => {
    const probe = fixture('faces/George_W_Bush/3.jpg');
    const before = await readXml(await postMultipart(url, '/api/v1/verify', { image: probe, metadata: { subject_id: 'George_W_Bush' } }));
    const again = await readXml(await postMultipart(url, '/api/v1/enrol', { image: probe, metadata: { subject_id: 'George_W_Bush' } }));
    expect(again.status).toBe(200);
    const after = await readXml(await postMultipart(url, '/api/v1/verify', { image: probe, metadata: { subject_id: 'George_W_Bush' } }));
    // The same image is now among the subject's templates, so its own score is near 1.
    expect(Number(after.body.score)).toBeGreaterThan(Number(before.body.score));
    expect(Number(after.body.score)).toBeGreaterThan(0.99);
    const stats = await (await fetch(`${url}/api/v1/stats`)).json();
    expect(stats.partitions.default).toBe(IDENTITIES.length);
  });
});

describe('search', () => {
  it.each(IDENTITIES)('finds $id at rank 1 from another photo', async (identity) => {
    const reply = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture(identity.probe), metadata: { top_k: 3, threshold: 0 } }));
    expect(reply.status).toBe(200);
    const first = reply.body.candidates.candidate[0];
    expect(first.subject_id).toBe(identity.id);
    expect(first.rank).toBe('1');
  });

  it('answers the contract XML with defaults when metadata is omitted', async () => {
    const reply = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_002/2.jpg') }));
    expect(reply.status).toBe(200);
    expect(reply.root).toBe('SearchResponse');
    expect(reply.elements).toEqual(['status', 'candidates', 'quality_score', 'model_id', 'face_count']);
    expect(reply.body.status).toBe('OK');
    const candidates = reply.body.candidates.candidate as Array<Record<string, string>>;
    expect(candidates.length).toBeGreaterThanOrEqual(1);
    expect(candidates.length).toBeLessThanOrEqual(5);
    candidates.forEach((candidate, index) => {
      expect(Object.keys(candidate)).toEqual(['subject_id', 'score', 'rank']);
      expect(candidate.rank).toBe(String(index + 1));
      expect(Number(candidate.score)).toBeGreaterThanOrEqual(0.45); // contract default threshold
      expect(Number(candidate.score)).toBeLessThanOrEqual(1);
    });
    const scores = candidates.map((c) => Number(c.score));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('honours top_k and threshold', async () => {
    const all = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_003/2.jpg'), metadata: { top_k: 100, threshold: 0 } }));
    expect(all.body.candidates.candidate).toHaveLength(IDENTITIES.length);
    const two = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_003/2.jpg'), metadata: { top_k: 2, threshold: 0 } }));
    expect(two.body.candidates.candidate).toHaveLength(2);
    const none = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_003/2.jpg'), metadata: { threshold: 1 } }));
    expect(none.body.candidates).toBe('');
  });

  it('refuses an unknown partition with 404', async () => {
    const reply = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_003/2.jpg'), metadata: { partition: 'nowhere' } }));
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('unknown_partition');
  });
});

describe('verify', () => {
  it.each(IDENTITIES)('matches a genuine pair for $id at the default threshold', async (identity) => {
    const reply = await readXml(await postMultipart(url, '/api/v1/verify', { image: fixture(identity.probe), metadata: { subject_id: identity.id } }));
    expect(reply.status).toBe(200);
    expect(reply.body.match).toBe('true');
  });

  it.each(IDENTITIES.map((identity, i) => ({ probe: identity, claimed: IDENTITIES[(i + 1) % IDENTITIES.length] })))(
    'rejects $probe.id claiming to be $claimed.id',
    async ({ probe, claimed }) => {
      const reply = await readXml(await postMultipart(url, '/api/v1/verify', { image: fixture(probe.probe), metadata: { subject_id: claimed.id } }));
      expect(reply.status).toBe(200);
      expect(reply.body.match).toBe('false');
    },
  );

  it('answers the contract XML, element by element', async () => {
    const reply = await readXml(await postMultipart(url, '/api/v1/verify', { image: fixture('faces/london_001/2.jpg'), metadata: { subject_id: 'london_001', partition: 'default', threshold: 0.5 } }));
    expect(reply.root).toBe('VerifyResponse');
    expect(reply.elements).toEqual(['status', 'match', 'score', 'subject_id', 'quality_score', 'model_id', 'face_count']);
    expect(reply.body.face_count).toBe('1');
    expect(reply.body.status).toBe('OK');
    expect(reply.body.subject_id).toBe('london_001');
    expect(Number(reply.body.score)).toBeGreaterThanOrEqual(0);
    expect(Number(reply.body.score)).toBeLessThanOrEqual(1);
    expect(reply.body.model_id).toBe(RECOGNITION_MODEL_ID);
  });

  it('refuses an unknown subject with 404', async () => {
    const reply = await readXml(await postMultipart(url, '/api/v1/verify', { image: fixture('faces/london_001/2.jpg'), metadata: { subject_id: 'nobody' } }));
    expect(reply.status).toBe(404);
    expect(reply.root).toBe('ErrorResponse');
    expect(reply.body.code).toBe('unknown_subject');
  });
});

describe('delete', () => {
  it('removes a subject from search and verify', async () => {
    const enrol = await readXml(await postMultipart(url, '/api/v1/enrol', { image: fixture('faces/london_006/1.jpg'), metadata: { subject_id: 'to-delete', partition: 'temp' } }));
    expect(enrol.status).toBe(200);
    const found = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_006/2.jpg'), metadata: { partition: 'temp', threshold: 0 } }));
    expect(found.body.candidates.candidate[0].subject_id).toBe('to-delete');

    const response = await postJson(url, '/api/v1/delete', { subject_id: 'to-delete', partition: 'temp' });
    const reply = await readXml(response);
    expect(reply.status).toBe(200);
    expect(reply.root).toBe('DeleteResponse');
    expect(reply.elements).toEqual(['status', 'subject_id']);
    expect(reply.body).toEqual({ status: 'OK', subject_id: 'to-delete' });

    const after = await readXml(await postMultipart(url, '/api/v1/search', { image: fixture('faces/london_006/2.jpg'), metadata: { partition: 'temp', threshold: 0 } }));
    expect(after.body.candidates).toBe('');
    const verify = await readXml(await postMultipart(url, '/api/v1/verify', { image: fixture('faces/london_006/2.jpg'), metadata: { subject_id: 'to-delete', partition: 'temp' } }));
    expect(verify.status).toBe(404);
    const again = await readXml(await postJson(url, '/api/v1/delete', { subject_id: 'to-delete', partition: 'temp' }));
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('unknown_subject');
  });
});

describe('bad requests', () => {
  const cases: Array<{ name: string; send: () => Promise<Response>; status: number; code: string }> = [
    { name: 'a photo with no face', send: () => postMultipart(url, '/api/v1/search', { image: fixture('nonfaces/01.jpg') }), status: 400, code: 'no_face_detected' },
    { name: 'a corrupt JPEG', send: () => postMultipart(url, '/api/v1/search', { image: Buffer.concat([fixture('faces/london_001/1.jpg').subarray(0, 20), Buffer.alloc(5000, 7)]) }), status: 400, code: 'image_decode_failed' },
    { name: 'a text file as the image', send: () => postMultipart(url, '/api/v1/enrol', { image: Buffer.from('hello, I am not a photo'), imageType: 'text/plain', metadata: { subject_id: 'x' } }), status: 400, code: 'unsupported_image_format' },
    { name: 'a JSON body on a multipart endpoint', send: () => postJson(url, '/api/v1/search', { top_k: 1 }), status: 415, code: 'unsupported_media_type' },
    { name: 'verify without metadata', send: () => postMultipart(url, '/api/v1/verify', { image: fixture('faces/london_001/2.jpg') }), status: 400, code: 'invalid_metadata' },
    { name: 'malformed metadata JSON', send: () => postMultipart(url, '/api/v1/enrol', { image: fixture('faces/london_001/2.jpg'), metadata: '{"subject_id": ' }), status: 400, code: 'invalid_metadata' },
    { name: 'enrol without an image', send: () => postMultipart(url, '/api/v1/enrol', { metadata: { subject_id: 'x' } }), status: 400, code: 'missing_image' },
    { name: 'verify of an unknown subject', send: () => postMultipart(url, '/api/v1/verify', { image: fixture('faces/london_001/2.jpg'), metadata: { subject_id: 'ghost' } }), status: 404, code: 'unknown_subject' },
  ];

  it.each(cases)('$name → $status $code', async ({ send, status, code }) => {
    const reply = await readXml(await send());
    expect(reply.status).toBe(status);
    expect(reply.root).toBe('ErrorResponse');
    expect(reply.elements.slice(0, 4)).toEqual(['status', 'code', 'message', 'request_id']);
    expect(reply.body.code).toBe(code);
    expect(reply.body.status).toBe(String(status));
    expect(reply.body.message.length).toBeGreaterThan(5);
  });
});

describe('utility endpoints', () => {
  it('reports every component healthy and MAD enabled', async () => {
    const response = await fetch(`${url}/api/v1/health`);
    expect(response.status).toBe(200);
    const health = await response.json();
    expect(health.status).toBe('healthy');
    expect(health.components).toEqual({ faiss_index: true, template_key: true, onnx_detection: true, onnx_recognition: true, onnx_quality: true, onnx_pad: true });
    expect(health.stages.mad).toBe('enabled');
  });
});

// after the partition counts above: it adds a partition of its own
describe('JPEG 2000', () => {
  it('enrols a JPEG 2000 chip image, and verifies a JPEG photo against it', async () => {
    const chip = await jp2File(fixture('faces/london_010/1.jpg'), { width: 480 });
    const enrolled = await readXml(await postMultipart(url, '/api/v1/enrol', { image: chip, imageType: 'image/jp2', imageName: 'chip.jp2', metadata: { subject_id: 'chip-holder', partition: 'chips' } }));
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    const verified = await readXml(await postMultipart(url, '/api/v1/verify', { image: fixture('faces/london_010/2.jpg'), metadata: { subject_id: 'chip-holder', partition: 'chips' } }));
    expect(verified.body.match).toBe('true');
  });
});
