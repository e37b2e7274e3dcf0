import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService } from '../../src/security/auth.service.ts';
import { contract } from '../helpers/contract.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

// Both passport-photo APIs end to end: real models in the server's photo worker (face geometry and the
// segmentation network), real job files under DATA_DIR, keys required. Expiry of jobs is covered by
// src/photo/photo-job-store.spec.ts (TTL and sweep on a clock the test controls).

let server: TestServer;
let keys: ApiKeyRepository;
let key: string;
let otherKey: string;

const PORTRAIT = 'faces/london_010/1.jpg';
const bearer = (k: string) => ({ Authorization: `Bearer ${k}` });
const halves = (k: string) => ({ apiKey: k.slice(0, 16), apiSecret: k.slice(17) });

async function analyze(file: string, as: string, clientJobId?: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(fixture(file))], { type: 'image/jpeg' }), 'head shot.jpg');
  if (clientJobId) form.append('clientJobId', clientJobId);
  return fetch(`${server.url}/api/v1/tools/passport-photo/analyze`, { method: 'POST', body: form, headers: bearer(as) });
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

async function download(url: string, as: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(url.startsWith('http') ? url : `${server.url}${url}`, { headers: bearer(as) });
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** mean absolute difference per channel of two same-sized images */
async function meanDifference(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([sharp(a).raw().toBuffer(), sharp(b).raw().toBuffer()]);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
  return sum / x.length;
}

let analysis: any;
/** the documented generate fields that come from the analysis */
const fromAnalysis = () => ({ jobId: analysis.jobId, filename: analysis.filename, landmarks: analysis.landmarks, imageWidth: analysis.imageWidth, imageHeight: analysis.imageHeight });

beforeAll(async () => {
  server = await startTestServer({ auth: { required: true } });
  keys = new ApiKeyRepository(join(server.dataDir, 'keys.sqlite'));
  const auth = new AuthService(keys, true);
  key = auth.createKey({ name: 'photo app', operations: ['photo'], partitions: ['*'] }).key;
  otherKey = auth.createKey({ name: 'other app', operations: ['photo'], partitions: ['*'] }).key;
}, 120_000);

afterAll(async () => {
  keys?.close();
  await server?.stop();
});

describe('two-phase API (analyze → generate)', () => {
  it('analyze streams its progress to the clientJobId SSE stream and returns landmarks, preview and a job', async () => {
    const events = fetch(`${server.url}/api/v1/jobs/portrait-1/progress`, { headers: bearer(key) }).then(async (response) => {
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      return (await response.text())
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)));
    });
    // another key listening on the same clientJobId hears nothing of it
    const eavesdropper = new AbortController();
    const foreign = fetch(`${server.url}/api/v1/jobs/portrait-1/progress`, { headers: bearer(otherKey), signal: eavesdropper.signal }).then((r) => r.text()).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const response = await analyze(PORTRAIT, key, 'portrait-1');
    analysis = await response.json();
    expect(response.status, JSON.stringify(analysis)).toBe(200);
    expect(contract().check('/api/v1/tools/passport-photo/analyze', 200, 'application/json', analysis)).toBe(true);
    expect(analysis).toMatchObject({ filename: 'head shot.jpg', imageWidth: 1350, imageHeight: 1350, previewWidth: 800, previewHeight: 800 });
    expect(analysis.jobId).toMatch(/^[0-9a-f-]{36}$/);
    const preview = await sharp(Buffer.from(analysis.preview, 'base64')).metadata();
    expect([preview.format, preview.width]).toEqual(['png', 800]);
    const { landmarks } = analysis;
    for (const name of ['leftEye', 'rightEye', 'eyeCenter', 'chin', 'forehead', 'crown', 'nose']) {
      expect(landmarks[name].x, name).toBeGreaterThan(0);
      expect(landmarks[name].x, name).toBeLessThan(1);
    }
    expect(landmarks.leftEye.x).toBeLessThan(landmarks.rightEye.x);
    expect(landmarks.crown.y).toBeLessThan(landmarks.forehead.y);
    expect(landmarks.forehead.y).toBeLessThan(landmarks.eyeCenter.y);
    expect(landmarks.eyeCenter.y).toBeLessThan(landmarks.nose.y);
    expect(landmarks.nose.y).toBeLessThan(landmarks.chin.y);

    const progress = await events;
    expect(progress.map((e: { percent: number; stage: string }) => [e.percent, e.stage])).toEqual([
      [0, 'started'],
      [30, 'landmarks'],
      [95, 'background'],
      [100, 'done'],
    ]);
    eavesdropper.abort();
    expect(await foreign).not.toContain('data:');
  }, 180_000);

  it('generate makes the spec photo at the exact size and dpi, re-measured inside its bands, with a print sheet', async () => {
    const response = await post('/api/v1/tools/passport-photo/generate', { ...fromAnalysis(), countryCode: 'US', bgColor: '#FFFFFF', printLayout: '4x6', dpi: 300 }, bearer(key));
    const body = await response.json();
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(contract().check('/api/v1/tools/passport-photo/generate', 200, 'application/json', body)).toBe(true);
    expect(body).toMatchObject({
      jobId: analysis.jobId,
      downloadUrl: `/api/v1/download/${analysis.jobId}/head_shot_passport.jpg`,
      dimensions: { widthMm: 50.8, heightMm: 50.8, widthPx: 600, heightPx: 600, dpi: 300 },
      spec: { country: 'United States', countryCode: 'US', documentType: 'passport', documentLabel: 'US Passport' },
      printDownloadUrl: `/api/v1/download/${analysis.jobId}/head_shot_passport_print_4x6.jpg`,
    });
    expect(body.measured.headHeightMm.inside).toBe(true);
    expect(body.measured.eyeLineFromBottomMm.inside).toBe(true);
    expect(body.measured.crownFrom).toBe('mask');
    const photo = await download(body.downloadUrl, key);
    expect(photo.status).toBe(200);
    const meta = await sharp(photo.bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.density]).toEqual(['jpeg', 600, 600, 300]);
    // the US digital rule: at most 240 KB
    expect(photo.bytes.length).toBeLessThanOrEqual(240 * 1024);
    const sheet = await sharp((await download(body.printDownloadUrl, key)).bytes).metadata();
    expect([sheet.width, sheet.height, sheet.density]).toEqual([1200, 1800, 300]);
    // a file-size limit is met
    const small = await (await post('/api/v1/tools/passport-photo/generate', { ...fromAnalysis(), countryCode: 'US', maxFileSizeKb: 30 }, bearer(key))).json();
    expect((await download(small.downloadUrl, key)).bytes.length).toBeLessThanOrEqual(30 * 1024);
  }, 120_000);

  it('keeps the photo untouched where the spec forbids editing, and refuses a new background there', async () => {
    const kept = await post('/api/v1/tools/passport-photo/generate', { ...fromAnalysis(), countryCode: 'GB', dpi: 600 }, bearer(key));
    const body = await kept.json();
    expect(kept.status, JSON.stringify(body)).toBe(200);
    expect(body.dimensions).toEqual({ widthMm: 35, heightMm: 45, widthPx: 827, heightPx: 1063, dpi: 600 });
    expect(body.measured.headHeightMm.inside).toBe(true);
    const refused = await post('/api/v1/tools/passport-photo/generate', { ...fromAnalysis(), countryCode: 'GB', bgColor: '#FFFFFF' }, bearer(key));
    expect(refused.status).toBe(400);
    expect((await refused.json()).message).toMatch(/forbids editing the background/);
  }, 120_000);

  it('refuses an unknown spec, dpi or zoom out of range, and a job of another key (404)', async () => {
    const generate = (body: object, as = key) => post('/api/v1/tools/passport-photo/generate', { ...fromAnalysis(), countryCode: 'US', ...body }, bearer(as));
    const cases: [object, number, RegExp][] = [
      [{ countryCode: 'XX' }, 400, /no spec for country XX/],
      [{ countryCode: 'GB', documentType: 'residence-permit' }, 400, /no spec/],
      [{ dpi: 71 }, 400, /dpi must be 72-1200/],
      [{ dpi: 1201 }, 400, /dpi must be 72-1200/],
      [{ zoom: 0.4 }, 400, /zoom must be 0.5-3/],
      [{ zoom: 3.5 }, 400, /zoom must be 0.5-3/],
      [{ printLayout: 'a3' }, 400, /printLayout/],
      [{ imageWidth: 1000 }, 400, /imageWidth/],
    ];
    for (const [body, status, message] of cases) {
      const response = await generate(body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect((await response.json()).message, JSON.stringify(body)).toMatch(message);
    }
    const foreign = await generate({}, otherKey);
    expect(foreign.status).toBe(404);
    expect((await download(`/api/v1/download/${analysis.jobId}/head_shot_passport.jpg`, otherKey)).status).toBe(404);
    expect((await download(`/api/v1/download/${analysis.jobId}/mask.png`, key)).status).toBe(404);
    expect((await generate({ jobId: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
  }, 60_000);

  it('no face: 422 with the reference\'s message; the base path gives guidance', async () => {
    const response = await analyze('nonfaces/01.jpg', key);
    expect(response.status).toBe(422);
    const noFace = await response.json();
    expect(contract().check('/api/v1/tools/passport-photo/analyze', 422, 'application/json', noFace)).toBe(true);
    expect(noFace).toEqual({ error: 'No face detected', details: expect.stringMatching(/Could not detect a face/) });
    const base = await post('/api/v1/tools/passport-photo', {}, bearer(key));
    expect(base.status).toBe(400);
    expect(await base.json()).toEqual({ error: 'Use /api/v1/tools/passport-photo/analyze or /generate' });
    expect((await analyze(PORTRAIT, 'fsk_000000000000_' + 'A'.repeat(43))).status).toBe(401);
  }, 60_000);
});

describe('/v2/ API', () => {
  it('lists specs and details, answers health, and counts usage per key', async () => {
    expect(await (await fetch(`${server.url}/v2/health`)).json()).toEqual({ status: 'GOOD' });
    const list = await (await post('/v2/listIdPhotoSpecCode', halves(key))).json();
    expect(list.total).toBe(list.results.length);
    expect(list.results).toContainEqual({ specCode: 'us-passport', specCodeName: 'US Passport' });
    const us = await (await post('/v2/getIdPhotoSpec', { ...halves(key), specCode: 'us-passport' })).json();
    expect(us).toMatchObject({ specCode: 'us-passport', photoSize: '2 x 2 in', photoPixel: '600 x 600 px', photoDpi: '300 DPI', backgroundColor: '#FFFFFF', backgroundColorName: 'white' });
    expect((await post('/v2/getIdPhotoSpec', { ...halves(key), specCode: 'xx-passport' })).status).toBe(400);
    expect((await post('/v2/listIdPhotoSpecCode', { apiKey: key.slice(0, 16), apiSecret: 'A'.repeat(43) })).status).toBe(401);
    expect((await post('/v2/listIdPhotoSpecCode', {})).status).toBe(401);
  });

  it('makeIdPhoto: base64 out, issues from the compliance checks, a photo sheet in pixels', async () => {
    const response = await post('/v2/makeIdPhoto', {
      ...halves(key),
      imageBase64: fixture(PORTRAIT).toString('base64'),
      specCode: 'schengen-visa',
      outputFormat: 'IMAGE_BASE64',
      issueSensitivityOverride: { ISSUE_FACE_BRIGHTNESS_BAD: 'VERY_HIGH' },
      photoSheet: { sheetSizes: ['1800*1200'] },
    });
    const body = await response.json();
    expect(response.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(contract().check('/v2/makeIdPhoto', 200, 'application/json', body)).toBe(true);
    expect(Array.isArray(body.issues)).toBe(true);
    const photo = await sharp(Buffer.from(body.idphotoImageBase64, 'base64')).metadata();
    expect([photo.width, photo.height, photo.density]).toEqual([413, 531, 300]);
    const sheet = await download(body.photoSheet['1800*1200'], key);
    expect((await sharp(sheet.bytes).metadata()).width).toBe(1800);
    expect((await download(body.originalPhotoUrl, key)).bytes.equals(fixture(PORTRAIT))).toBe(true);
    const status = await (await post('/v2/queryAccountStatus', halves(key))).json();
    expect(status).toMatchObject({ accountStatus: 'SUBSCRIBED', usage: { makeIdPhoto: 1, makeIdPhotoWatermark: 0 } });
    expect((await (await post('/v2/queryAccountStatus', halves(otherKey))).json()).usage.makeIdPhoto).toBe(0);
  }, 180_000);

  it('watermark flow: a visibly marked preview; the clean photo only through getIdPhotoNoWatermark, for the same key', async () => {
    const made = await post('/v2/makeIdPhotoWatermark', { ...halves(key), imageBase64: fixture(PORTRAIT).toString('base64'), specCode: 'us-passport', watermarkText: 'preview' });
    const body = await made.json();
    expect(made.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(body.waterMark).toBe(true);
    const preview = await download(body.idPhotoUrl, key);
    expect(preview.status).toBe(200);
    // the clean photo's address is not open yet, and another key cannot release it
    const cleanPath = `/api/v1/download/${body.photoUuid}/photo.jpg`;
    expect((await download(cleanPath, key)).status).toBe(404);
    expect((await post('/v2/getIdPhotoNoWatermark', { ...halves(otherKey), photoUuid: body.photoUuid })).status).toBe(404);
    const released = await (await post('/v2/getIdPhotoNoWatermark', { ...halves(key), photoUuid: body.photoUuid })).json();
    expect(released).toMatchObject({ photoUuid: body.photoUuid, waterMark: false });
    expect(released.idPhotoUrl).toBe(`${server.url}${cleanPath}`);
    const clean = await download(released.idPhotoUrl, key);
    expect(clean.status).toBe(200);
    expect((await download(released.idPhotoUrl, otherKey)).status).toBe(404);
    // visibly marked: 17-20 grey levels on average over the whole photo (src/photo/watermark.spec.ts)
    expect(await meanDifference(clean.bytes, preview.bytes)).toBeGreaterThan(10);
    const refused = await post('/v2/makeIdPhotoWatermark', { ...halves(key), imageBase64: 'AAAA', specCode: 'us-passport', watermarkText: 'Sample' });
    expect(refused.status).toBe(400);
  }, 180_000);
});
