// Morphing-attack detection through the HTTP API, with the real models and a morph generated here from
// two fixture faces of identities `npm run morphs` holds out of training (seed 20059: london_003, london_004).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { pipelineConfigSchema } from '../../src/pipeline/config.ts';
import { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import { contract } from '../helpers/contract.ts';
import { fixture } from '../helpers/fixtures.ts';
import { fixtureMorph } from '../helpers/morphs.ts';
import { postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
let morph: Buffer;
const first = 'faces/london_003';
const second = 'faces/london_004';
const inTheWild = 'faces/George_W_Bush';

beforeAll(async () => {
  server = await startTestServer();
  const pipeline = await FacePipeline.create(join(PROJECT_ROOT, 'models'), pipelineConfigSchema.parse({}));
  morph = await fixtureMorph(pipeline, `${first}/1.jpg`, `${second}/1.jpg`, { alpha: 0.5, variant: 'spliced' });
});

afterAll(async () => {
  await server?.stop();
});

async function madScores(image: Buffer, referenceImage?: Buffer) {
  const response = await postMultipart(server.url, '/api/v1/mad', { image, referenceImage });
  const body = await response.json();
  expect(contract().check('/api/v1/mad', response.status, 'application/json', body), 'the answer fits the OpenAPI document').toBe(true);
  return { status: response.status, body };
}

function auditEvent(requestId: string | null) {
  const log = new AuditLog(join(server.dataDir, 'audit.sqlite'));
  try {
    return [...log.between('0000', '9999')].find((event) => event.request_id === requestId);
  } finally {
    log.close();
  }
}

describe('GET /api/v1/health', () => {
  it('reports MAD enabled', async () => {
    const health = await (await fetch(`${server.url}/api/v1/health`)).json();
    expect(health.stages.mad).toBe('enabled');
  });
});

describe('POST /api/v1/mad', () => {
  it('scores a bona fide photo against another photo of the same person as bona fide, and the morph against a contributor as a morph', async () => {
    const bonaFide = await madScores(fixture(`${first}/1.jpg`), fixture(`${first}/2.jpg`));
    expect(bonaFide.status).toBe(200);
    expect(bonaFide.body.s_mad.decision).toBe('bona_fide');
    expect(bonaFide.body.d_mad.decision).toBe('bona_fide');

    for (const contributor of [first, second]) {
      const attack = await madScores(morph, fixture(`${contributor}/2.jpg`));
      expect(attack.status).toBe(200);
      expect(attack.body.d_mad).toMatchObject({ decision: 'morph', threshold: server.config.pipeline.mad.differentialThreshold });
      expect(attack.body.d_mad.score).toBeGreaterThanOrEqual(attack.body.d_mad.threshold);
    }
  });

  it('does not judge against a reference capture unlike those D-MAD was calibrated on, and says why', async () => {
    // a 250-pixel news photo as the reference: its eyes are closer than pipeline.mad.differentialCapture.minInterEyePx
    const { status, body } = await madScores(fixture(`${inTheWild}/1.jpg`), fixture(`${inTheWild}/5.jpg`));
    expect(status).toBe(200);
    expect(body.d_mad).toEqual({ decision: 'not_applicable', reason: 'capture_face_too_small', threshold: server.config.pipeline.mad.differentialThreshold });
  });

  it('gives S-MAD alone without a reference image', async () => {
    const { status, body } = await madScores(fixture(`${first}/1.jpg`));
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['s_mad']);
    expect(body.s_mad.threshold).toBe(server.config.pipeline.mad.singleImageThreshold);
  });
});

describe('POST /api/v1/enrol with a reference_image', () => {
  it('refuses the morph with 451 morphing_attack_detected, stores nothing and writes an audit row', async () => {
    const response = await postMultipart(server.url, '/api/v1/enrol', { image: morph, referenceImage: fixture(`${first}/2.jpg`), metadata: { subject_id: 'morph-holder', partition: 'mad' } });
    const reply = await readXml(response);
    expect([reply.status, reply.body.code]).toEqual([451, 'morphing_attack_detected']);
    const stats = await (await fetch(`${server.url}/api/v1/stats`)).json();
    expect(stats.partitions.mad).toBeUndefined();
    const event = auditEvent(response.headers.get('X-Request-Id'));
    expect(event).toMatchObject({ operation: 'enrol', status: 451, code: 'morphing_attack_detected', subject_id: 'morph-holder' });
    expect(event!.score).toBeGreaterThanOrEqual(event!.threshold!);
  });

  it('enrols the person from their own photo with their other photo as reference', async () => {
    const response = await postMultipart(server.url, '/api/v1/enrol', { image: fixture(`${first}/1.jpg`), referenceImage: fixture(`${first}/2.jpg`), metadata: { subject_id: 'genuine', partition: 'mad' } });
    const reply = await readXml(response);
    expect([reply.status, reply.body.status]).toEqual([200, 'OK']);
    // XML carries numbers as text
    const { decision, score, threshold } = reply.body.differential_mad;
    expect([decision, Number(threshold)]).toEqual(['bona_fide', server.config.pipeline.mad.differentialThreshold]);
    expect(Number(score)).toBeLessThan(Number(threshold));
  });

  it('enrols, and says D-MAD did not judge the pair, when the reference capture is not one it can judge', async () => {
    const response = await postMultipart(server.url, '/api/v1/enrol', { image: fixture(`${inTheWild}/1.jpg`), referenceImage: fixture(`${inTheWild}/5.jpg`), metadata: { subject_id: 'in-the-wild', partition: 'mad' } });
    const reply = await readXml(response);
    expect([reply.status, reply.body.status]).toEqual([200, 'OK']);
    expect({ ...reply.body.differential_mad, threshold: Number(reply.body.differential_mad.threshold) }).toEqual({
      decision: 'not_applicable',
      reason: 'capture_face_too_small',
      threshold: server.config.pipeline.mad.differentialThreshold,
    });
  });

  it('gives no differential_mad element on an enrolment without a reference', async () => {
    const reply = await readXml(await postMultipart(server.url, '/api/v1/enrol', { image: fixture(`${second}/2.jpg`), metadata: { subject_id: 'no-reference', partition: 'mad' } }));
    expect([reply.status, reply.elements.includes('differential_mad')]).toEqual([200, false]);
  });
});
