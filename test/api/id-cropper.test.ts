import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Quad } from '../../src/documents/quad.ts';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService } from '../../src/security/auth.service.ts';
import { contract } from '../helpers/contract.ts';
import { idCardFixtures, synthesizeScene, type Scene } from '../helpers/document-scenes.ts';
import { fixture } from '../helpers/fixtures.ts';
import { smartDocJaccard } from '../helpers/smartdoc-jaccard.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

// Real photos made from the idcards fixtures (pasted under a known perspective, so the true corners are
// known), cropped by the real server: OpenCV in its cropper worker, the model bundle's face detector.

let server: TestServer;
let keys: ApiKeyRepository;
let key: string;
let passport: Scene;

const card = (doc: string) => idCardFixtures().find((c) => c.doc === doc)!;

beforeAll(async () => {
  server = await startTestServer({ auth: { required: true } });
  keys = new ApiKeyRepository(join(server.dataDir, 'keys.sqlite'));
  key = new AuthService(keys, true).createKey({ name: 'kiosk', operations: ['documents'], partitions: ['*'] }).key;
  passport = await synthesizeScene(card('pass-hrv'), 'plain_desk', 7, { width: 1280, height: 960 });
});

afterAll(async () => {
  keys?.close();
  await server?.stop();
});

function crop(body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${key}` }, path = '/api/v1/id_cropper/register'): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function readJson(response: Response): Promise<{ status: number; body: any }> {
  const body = await response.json();
  expect(contract().check(new URL(response.url).pathname, response.status, 'application/json', body), 'the answer fits the OpenAPI document').toBe(true);
  return { status: response.status, body };
}

async function expectRefusal(response: Response, status: number, code: string): Promise<any> {
  const { status: actual, body } = await readJson(response);
  expect([actual, body.code]).toEqual([status, code]);
  expect(body.message).toEqual(expect.any(String));
  return body;
}

describe('POST /api/v1/id_cropper/register', () => {
  it('returns the document straightened and upright, its corners where they are in the photo, and its portrait', async () => {
    const response = await crop({ img: passport.image.toString('base64'), bundle_key: 'ignored' });
    const { status, body } = await readJson(response);
    expect(status).toBe(200);
    expect(body.transaction_id).toBe(response.headers.get('X-Request-Id'));
    const { data } = body;
    expect(smartDocJaccard(passport.corners, data.corners as Quad, 1000, 700)).toBeGreaterThan(0.95);
    // the upright document's top-left corner is the scan's top-left corner
    expect(Math.hypot(data.corners[0][0] - passport.corners[0][0], data.corners[0][1] - passport.corners[0][1])).toBeLessThan(15);
    expect([data.document_type, data.rotation]).toEqual(['ID-3', 0]);
    const document = await sharp(Buffer.from(data.img, 'base64')).metadata();
    expect(document.format).toBe('jpeg');
    expect(document.width! / document.height!).toBeCloseTo(125 / 88, 1);
    const portrait = await sharp(Buffer.from(data.portrait, 'base64')).metadata();
    expect(portrait.format).toBe('jpeg');
    expect(portrait.height).toBeGreaterThan(60);
  });

  it('answers on the reference\'s other spelling too, and turns a document photographed upside down upright', async () => {
    const scene = await synthesizeScene(card('pass-chn'), 'any_rotation', 3, { width: 1280, height: 960 });
    const { status, body } = await readJson(await crop({ img: scene.image.toString('base64') }, undefined, '/api/v1/id_cropper_register'));
    expect(status).toBe(200);
    expect(smartDocJaccard(scene.corners, body.data.corners, 1000, 700)).toBeGreaterThan(0.95);
    expect(Math.hypot(body.data.corners[0][0] - scene.corners[0][0], body.data.corners[0][1] - scene.corners[0][1])).toBeLessThan(15);
    expect(body.data.portrait).toEqual(expect.any(String));
    const lay = (Math.atan2(scene.corners[1][1] - scene.corners[0][1], scene.corners[1][0] - scene.corners[0][0]) * 180) / Math.PI;
    expect(body.data.rotation).toBe((((360 - Math.round(lay / 90) * 90) % 360) + 360) % 360);
  });

  it('reads the photo as displayed: corners are found in the EXIF-rotated frame', async () => {
    // stored turned a quarter left with orientation 6 ("rotate 90° clockwise to display")
    const stored = await sharp(passport.image).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const { status, body } = await readJson(await crop({ img: stored.toString('base64') }));
    expect(status).toBe(200);
    expect(smartDocJaccard(passport.corners, body.data.corners, 1000, 700)).toBeGreaterThan(0.95);
  });

  it('takes a document that fills the whole photo (a scan) as it is', async () => {
    const scan = fixture('idcards/100_pass-hrv.jpg');
    const { width, height } = await sharp(scan).metadata();
    const { status, body } = await readJson(await crop({ img: `data:image/jpeg;base64,${scan.toString('base64')}` }));
    expect(status).toBe(200);
    const whole: Quad = [[0, 0], [width! - 1, 0], [width! - 1, height! - 1], [0, height! - 1]];
    expect(smartDocJaccard(whole, body.data.corners, 1000, 700)).toBeGreaterThan(0.9);
    expect(body.data.portrait).toEqual(expect.any(String));
  });

  it('finds a document whose sides the background breaks into pieces (strong perspective over stems)', async () => {
    // found at Jaccard 0.63 before collinear Hough pieces were joined into lines
    const scene = await synthesizeScene(card('id-usa'), 'strong_perspective', 13301);
    const { status, body } = await readJson(await crop({ img: scene.image.toString('base64') }));
    expect(status).toBe(200);
    expect(smartDocJaccard(scene.corners, body.data.corners, 1000, 700)).toBeGreaterThan(0.95);
  });

  it('finds the portrait on a long scan of a card\'s front and back side by side', async () => {
    const strip = idCardFixtures().find((c) => c.file === '33_id-usa.jpg')!;
    const scene = await synthesizeScene(strip, 'blur', 6201);
    const { status, body } = await readJson(await crop({ img: scene.image.toString('base64') }));
    expect(status).toBe(200);
    expect(body.data.portrait).toEqual(expect.any(String));
  });

  it('422 document_not_found for a photo with no document, in the language asked for', async () => {
    const img = fixture('nonfaces/04.jpg').toString('base64');
    const english = await expectRefusal(await crop({ img }), 422, 'document_not_found');
    expect(english.error_code).toBe('document_not_found');
    expect(english.message).toMatch(/no document/);
    const arabic = await expectRefusal(await crop({ img, lang: 'ar' }), 422, 'document_not_found');
    expect(arabic.message).toMatch(/[\u0600-\u06FF]/);
    const unknown = await expectRefusal(await crop({ img, lang: 'tlh' }), 422, 'document_not_found');
    expect(unknown.message).toBe(english.message);
  });

  it('422 document_blurred when the document cannot be read', async () => {
    const blurred = await sharp(passport.image).blur(12).jpeg().toBuffer();
    const body = await expectRefusal(await crop({ img: blurred.toString('base64') }), 422, 'document_blurred');
    expect(body.error_code).toBe('document_blurred');
  });

  it('422 document_glare when a reflection hides a large part of the document', async () => {
    const [cx, cy] = passport.corners.reduce((c, p) => [c[0] + p[0] / 4, c[1] + p[1] / 4], [0, 0]);
    const r = Math.hypot(passport.corners[1][0] - passport.corners[0][0], passport.corners[1][1] - passport.corners[0][1]) * 0.3;
    const spot = Buffer.from(`<svg width="${passport.width}" height="${passport.height}"><circle cx="${cx}" cy="${cy}" r="${r}" fill="#fff"/></svg>`);
    const glared = await sharp(passport.image).composite([{ input: spot }]).jpeg().toBuffer();
    await expectRefusal(await crop({ img: glared.toString('base64') }), 422, 'document_glare');
  });

  it('422 document_cut when the photo ends a quarter of the way into the document', async () => {
    const xs = passport.corners.map((p) => p[0]);
    const width = Math.round((Math.min(...xs) + Math.max(...xs)) / 2 + (Math.max(...xs) - Math.min(...xs)) * 0.25);
    const cut = await sharp(passport.image).extract({ left: 0, top: 0, width, height: passport.height }).jpeg().toBuffer();
    await expectRefusal(await crop({ img: cut.toString('base64') }), 422, 'document_cut');
  });

  it('422 document_too_small for a document a few hundred pixels across', async () => {
    const tiny = await synthesizeScene(card('pass-hrv'), 'plain_desk', 7, { width: 640, height: 480, scale: [0.35, 0.4] });
    await expectRefusal(await crop({ img: tiny.image.toString('base64') }), 422, 'document_too_small');
  });

  it('400 for a missing or mistyped field, an unknown field or a body that is not JSON', async () => {
    await expectRefusal(await crop({ lang: 'en' }), 400, 'bad_request');
    await expectRefusal(await crop({ img: 42 }), 400, 'bad_request');
    await expectRefusal(await crop({ img: passport.image.toString('base64'), colour: 'red' }), 400, 'bad_request');
    await expectRefusal(await crop('{"img": '), 400, 'bad_request');
  });

  it('415 when img is not base64 of an image, or the body is not JSON', async () => {
    await expectRefusal(await crop({ img: 'this is not base64!' }), 415, 'unsupported_media_type');
    await expectRefusal(await crop({ img: Buffer.from('hello, world').toString('base64') }), 415, 'unsupported_media_type');
    const form = await fetch(`${server.url}/api/v1/id_cropper/register`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'text/plain' }, body: 'x' });
    await expectRefusal(form, 415, 'unsupported_media_type');
  });

  it('401 without a valid key, 403 for a key without the documents scope', async () => {
    const img = passport.image.toString('base64');
    await expectRefusal(await crop({ img }, {}), 401, 'unauthorized');
    await expectRefusal(await crop({ img }, { Authorization: 'Bearer fsk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), 401, 'unauthorized');
    const enrolOnly = new AuthService(keys, true).createKey({ name: 'enrol', operations: ['enrol', 'search'], partitions: ['*'] }).key;
    await expectRefusal(await crop({ img }, { Authorization: `Bearer ${enrolOnly}` }), 403, 'forbidden');
  });
});
