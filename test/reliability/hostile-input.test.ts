import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { fixture } from '../helpers/fixtures.ts';
import { postJson, postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { faceAt, readErrorReply } from './support.ts';

// Small enough that an oversized upload is cheap to send, large enough for every fixture used here.
const MAX_IMAGE_BYTES = 256 * 1024;
const MAX_JSON_BYTES = 16 * 1024; // over the 10 kB subject id, so that id meets the length rule

let server: TestServer;
let url: string;
let pngBomb: Buffer;
let forgedPngBomb: Buffer;

const face = faceAt(0);
const pngFace = fixture('faces/bbt_amy/1.png');

/**
 * 7000×7000 one-colour greyscale: 49 megapixels (147 MB once decoded to RGB) in about 60 kB, over the
 * default 40-megapixel cap. A true 30000×30000 image takes sharp ~15 s to encode, so that size is
 * also sent as the same file with its header rewritten: the cap must refuse it from the header alone.
 */
async function decompressionBombs(): Promise<{ real: Buffer; forged: Buffer }> {
  const real = await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#808080' }, limitInputPixels: false })
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toBuffer();
  const forged = Buffer.from(real);
  // IHDR data starts at byte 16 (8-byte signature, 4-byte length, "IHDR"); its CRC covers type + 13 data bytes.
  forged.writeUInt32BE(30_000, 16);
  forged.writeUInt32BE(30_000, 20);
  const { crc32 } = await import('node:zlib');
  forged.writeUInt32BE(crc32(forged.subarray(12, 29)), 29);
  return { real, forged };
}

/** A multipart body built part by part, for shapes FormData helpers would not send. */
function form(parts: Array<[name: string, value: Buffer | string, filename?: string]>): FormData {
  const body = new FormData();
  for (const [name, value, filename] of parts) {
    if (typeof value === 'string' && filename === undefined) body.append(name, value);
    else body.append(name, new Blob([new Uint8Array(Buffer.from(value))], { type: 'application/octet-stream' }), filename ?? 'upload.bin');
  }
  return body;
}

const send = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, { method: 'POST', ...init });
const raw = (path: string, contentType: string | undefined, body: string | Buffer) =>
  send(path, { headers: contentType ? { 'Content-Type': contentType } : {}, body: typeof body === 'string' ? body : new Uint8Array(body) });
const multipartTo = (path: string, parts: Parameters<typeof form>[0]) => send(path, { body: form(parts) });
const enrolWith = (metadata: unknown, image: Buffer = face) => postMultipart(url, '/api/v1/enrol', { image, metadata });
const searchWith = (metadata: unknown, image: Buffer = face) => postMultipart(url, '/api/v1/search', { image, metadata });
const imageOnly = (image: Buffer, imageType = 'application/octet-stream') => postMultipart(url, '/api/v1/search', { image, imageType });

const BOUNDARY = 'hostile-boundary-1234';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

const SVG = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000"><rect width="100%" height="100%"/></svg>';
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const PDF = '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n';

interface HostileCase {
  name: string;
  path: string;
  send: () => Promise<Response>;
  status: number;
  code: string;
}

const ENROL = '/api/v1/enrol';
const SEARCH = '/api/v1/search';
const VERIFY = '/api/v1/verify';
const DELETE = '/api/v1/delete';

const cases: HostileCase[] = [
  // bodies and parts
  { name: 'empty multipart body', path: ENROL, send: () => raw(ENROL, MULTIPART, ''), status: 400, code: 'missing_image' },
  { name: 'multipart with only the closing boundary', path: ENROL, send: () => raw(ENROL, MULTIPART, `--${BOUNDARY}--\r\n`), status: 400, code: 'missing_image' },
  { name: 'multipart body that is not multipart', path: SEARCH, send: () => raw(SEARCH, MULTIPART, 'just some text'), status: 400, code: 'bad_request' },
  {
    name: 'multipart cut off inside the image part',
    path: SEARCH,
    send: () => raw(SEARCH, MULTIPART, `--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0`),
    status: 400,
    code: 'bad_request',
  },
  { name: 'no image part', path: ENROL, send: () => multipartTo(ENROL, [['metadata', '{"subject_id":"x"}']]), status: 400, code: 'missing_image' },
  { name: 'image sent as a text field', path: SEARCH, send: () => multipartTo(SEARCH, [['image', 'not a file']]), status: 400, code: 'missing_image' },
  { name: 'two image parts', path: SEARCH, send: () => multipartTo(SEARCH, [['image', face, 'a.jpg'], ['image', face, 'b.jpg']]), status: 400, code: 'bad_request' },
  { name: 'two metadata parts', path: SEARCH, send: () => multipartTo(SEARCH, [['image', face, 'a.jpg'], ['metadata', '{}'], ['metadata', '{}']]), status: 400, code: 'invalid_metadata' },
  { name: 'an unexpected extra part', path: SEARCH, send: () => multipartTo(SEARCH, [['image', face, 'a.jpg'], ['extra', 'x']]), status: 400, code: 'bad_request' },
  {
    name: 'twenty text parts',
    path: SEARCH,
    send: () => multipartTo(SEARCH, [['image', face, 'a.jpg'], ...Array.from({ length: 20 }, (_, i) => [`f${i}`, 'x'] as [string, string])]),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'five file parts',
    path: SEARCH,
    send: () => multipartTo(SEARCH, Array.from({ length: 5 }, (_, i) => ['image', face, `${i}.jpg`] as [string, Buffer, string])),
    status: 400,
    code: 'bad_request',
  },

  // image bytes
  { name: 'zero-byte image', path: SEARCH, send: () => imageOnly(Buffer.alloc(0)), status: 400, code: 'image_decode_failed' },
  { name: 'JPEG cut in half', path: SEARCH, send: () => imageOnly(face.subarray(0, face.length >> 1)), status: 400, code: 'image_decode_failed' },
  { name: 'JPEG of only its first 100 bytes', path: SEARCH, send: () => imageOnly(face.subarray(0, 100)), status: 400, code: 'image_decode_failed' },
  { name: 'PNG cut in half', path: SEARCH, send: () => imageOnly(pngFace.subarray(0, pngFace.length >> 1)), status: 400, code: 'image_decode_failed' },
  { name: 'PNG of only its signature and IHDR', path: SEARCH, send: () => imageOnly(pngFace.subarray(0, 33)), status: 400, code: 'image_decode_failed' },
  { name: 'JPEG header then garbage', path: SEARCH, send: () => imageOnly(Buffer.concat([face.subarray(0, 20), Buffer.alloc(5000, 0x5a)])), status: 400, code: 'image_decode_failed' },
  { name: 'PNG signature then garbage', path: SEARCH, send: () => imageOnly(Buffer.concat([pngFace.subarray(0, 8), Buffer.alloc(5000, 0x5a)])), status: 400, code: 'image_decode_failed' },
  { name: 'PNG decompression bomb, 7000×7000', path: SEARCH, send: () => imageOnly(pngBomb, 'image/png'), status: 413, code: 'payload_too_large' },
  { name: 'PNG decompression bomb, 30000×30000 header', path: ENROL, send: () => enrolWith({ subject_id: 'bomb' }, forgedPngBomb), status: 413, code: 'payload_too_large' },
  { name: 'image over the byte limit', path: SEARCH, send: () => imageOnly(Buffer.concat([face, Buffer.alloc(MAX_IMAGE_BYTES, 1)])), status: 413, code: 'payload_too_large' },
  { name: 'SVG', path: SEARCH, send: () => imageOnly(Buffer.from(SVG), 'image/svg+xml'), status: 400, code: 'unsupported_image_format' },
  { name: 'GIF', path: SEARCH, send: () => imageOnly(GIF, 'image/gif'), status: 400, code: 'unsupported_image_format' },
  { name: 'PDF', path: SEARCH, send: () => imageOnly(Buffer.from(PDF), 'application/pdf'), status: 400, code: 'unsupported_image_format' },
  { name: 'plain text', path: ENROL, send: () => enrolWith({ subject_id: 'txt' }, Buffer.from('hello, I am not a photo')), status: 400, code: 'unsupported_image_format' },
  { name: 'a 1×1 PNG', path: SEARCH, send: async () => imageOnly(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer()), status: 400, code: 'no_face_detected' },
  { name: 'a photo with no face', path: VERIFY, send: () => postMultipart(url, VERIFY, { image: fixture('nonfaces/07.jpg'), metadata: { subject_id: 'anchor' } }), status: 400, code: 'no_face_detected' },

  // metadata shape
  { name: 'metadata not JSON', path: ENROL, send: () => enrolWith('{"subject_id": '), status: 400, code: 'invalid_metadata' },
  { name: 'metadata a JSON array', path: ENROL, send: () => enrolWith('[{"subject_id":"x"}]'), status: 400, code: 'invalid_metadata' },
  { name: 'metadata a JSON string', path: SEARCH, send: () => searchWith('"top_k"'), status: 400, code: 'invalid_metadata' },
  { name: 'metadata null', path: SEARCH, send: () => searchWith('null'), status: 400, code: 'invalid_metadata' },
  { name: 'metadata empty text', path: VERIFY, send: () => postMultipart(url, VERIFY, { image: face, metadata: '' }), status: 400, code: 'invalid_metadata' },
  { name: 'metadata over the JSON limit', path: ENROL, send: () => enrolWith({ subject_id: 'x', pad: 'y'.repeat(MAX_JSON_BYTES * 2) }), status: 413, code: 'payload_too_large' },
  { name: 'subject_id a number', path: ENROL, send: () => enrolWith({ subject_id: 42 }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id an object', path: VERIFY, send: () => postMultipart(url, VERIFY, { image: face, metadata: { subject_id: { $ne: null } } }), status: 400, code: 'invalid_metadata' },
  { name: 'partition a number', path: ENROL, send: () => enrolWith({ subject_id: 'x', partition: 7 }), status: 400, code: 'invalid_metadata' },
  { name: 'unknown field on enrol', path: ENROL, send: () => enrolWith({ subject_id: 'x', admin: true }), status: 400, code: 'invalid_metadata' },
  { name: 'unknown field on search', path: SEARCH, send: () => searchWith({ topk: 3 }), status: 400, code: 'invalid_metadata' },
  { name: '__proto__ field', path: SEARCH, send: () => searchWith('{"__proto__":{"top_k":1}}'), status: 400, code: 'invalid_metadata' },
  { name: 'top_k 0', path: SEARCH, send: () => searchWith({ top_k: 0 }), status: 400, code: 'invalid_metadata' },
  { name: 'top_k negative', path: SEARCH, send: () => searchWith({ top_k: -5 }), status: 400, code: 'invalid_metadata' },
  { name: 'top_k huge', path: SEARCH, send: () => searchWith({ top_k: 1e12 }), status: 400, code: 'invalid_metadata' },
  { name: 'top_k fractional', path: SEARCH, send: () => searchWith({ top_k: 2.5 }), status: 400, code: 'invalid_metadata' },
  { name: 'top_k a string', path: SEARCH, send: () => searchWith({ top_k: '5' }), status: 400, code: 'invalid_metadata' },
  { name: 'threshold negative', path: SEARCH, send: () => searchWith({ threshold: -0.01 }), status: 400, code: 'invalid_metadata' },
  { name: 'threshold above 1', path: VERIFY, send: () => postMultipart(url, VERIFY, { image: face, metadata: { subject_id: 'anchor', threshold: 1.01 } }), status: 400, code: 'invalid_metadata' },
  { name: 'threshold NaN literal', path: SEARCH, send: () => searchWith('{"threshold": NaN}'), status: 400, code: 'invalid_metadata' },
  { name: 'threshold "NaN" string', path: SEARCH, send: () => searchWith({ threshold: 'NaN' }), status: 400, code: 'invalid_metadata' },
  { name: 'threshold overflowing to Infinity', path: SEARCH, send: () => searchWith('{"threshold": 1e999}'), status: 400, code: 'invalid_metadata' },
  { name: 'threshold null', path: SEARCH, send: () => searchWith({ threshold: null }), status: 400, code: 'invalid_metadata' },

  // subject ids the server must refuse
  { name: 'subject_id empty', path: ENROL, send: () => enrolWith({ subject_id: '' }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id 10 kB long', path: ENROL, send: () => enrolWith({ subject_id: 'a'.repeat(10 * 1024) }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id 257 characters', path: VERIFY, send: () => postMultipart(url, VERIFY, { image: face, metadata: { subject_id: 'b'.repeat(257) } }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with NUL', path: ENROL, send: () => enrolWith({ subject_id: 'a\u0000b' }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with a C0 control', path: ENROL, send: () => enrolWith({ subject_id: 'a\u001bb' }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with a newline', path: ENROL, send: () => enrolWith({ subject_id: 'a\nb' }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with DEL', path: ENROL, send: () => enrolWith({ subject_id: 'a\u007fb' }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with a C1 control', path: ENROL, send: () => enrolWith({ subject_id: 'a\u0085b' }), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with a lone surrogate', path: ENROL, send: () => enrolWith('{"subject_id":"a\\ud800b"}'), status: 400, code: 'invalid_metadata' },
  { name: 'subject_id with U+FFFF', path: ENROL, send: () => enrolWith({ subject_id: 'a\uffffb' }), status: 400, code: 'invalid_metadata' },
  { name: 'delete subject_id with a control character', path: DELETE, send: () => postJson(url, DELETE, { subject_id: 'a\u0007', partition: 'hostile' }), status: 400, code: 'invalid_metadata' },

  // partitions
  { name: 'partition ../etc', path: ENROL, send: () => enrolWith({ subject_id: 'x', partition: '../etc' }), status: 400, code: 'invalid_metadata' },
  { name: 'partition with a slash', path: SEARCH, send: () => searchWith({ partition: 'a/b' }), status: 400, code: 'invalid_metadata' },
  { name: 'partition with a space', path: ENROL, send: () => enrolWith({ subject_id: 'x', partition: 'my partition' }), status: 400, code: 'invalid_metadata' },
  { name: 'partition with SQL quotes', path: SEARCH, send: () => searchWith({ partition: "x'; DROP TABLE partitions; --" }), status: 400, code: 'invalid_metadata' },
  { name: 'partition empty', path: ENROL, send: () => enrolWith({ subject_id: 'x', partition: '' }), status: 400, code: 'invalid_metadata' },
  { name: 'partition 65 characters', path: ENROL, send: () => enrolWith({ subject_id: 'x', partition: 'p'.repeat(65) }), status: 400, code: 'invalid_metadata' },
  { name: 'delete in partition ..', path: DELETE, send: () => postJson(url, DELETE, { subject_id: 'x', partition: '..' }), status: 400, code: 'invalid_metadata' },
  { name: 'search of a partition that does not exist', path: SEARCH, send: () => searchWith({ partition: 'nowhere' }), status: 404, code: 'unknown_partition' },
  { name: 'verify of a subject that does not exist', path: VERIFY, send: () => postMultipart(url, VERIFY, { image: face, metadata: { subject_id: 'ghost', partition: 'hostile' } }), status: 404, code: 'unknown_subject' },
  { name: 'delete of a subject that does not exist', path: DELETE, send: () => postJson(url, DELETE, { subject_id: 'ghost', partition: 'hostile' }), status: 404, code: 'unknown_subject' },

  // content types
  ...[ENROL, SEARCH, VERIFY].flatMap((path): HostileCase[] => [
    { name: `JSON body on ${path}`, path, send: () => postJson(url, path, { subject_id: 'x' }), status: 415, code: 'unsupported_media_type' },
    { name: `urlencoded body on ${path}`, path, send: () => raw(path, 'application/x-www-form-urlencoded', 'subject_id=x'), status: 415, code: 'unsupported_media_type' },
    { name: `raw JPEG body on ${path}`, path, send: () => raw(path, 'image/jpeg', face), status: 415, code: 'unsupported_media_type' },
    { name: `no Content-Type on ${path}`, path, send: () => raw(path, undefined, 'x'), status: 415, code: 'unsupported_media_type' },
  ]),
  { name: 'multipart body on delete', path: DELETE, send: () => multipartTo(DELETE, [['metadata', '{"subject_id":"x"}']]), status: 415, code: 'unsupported_media_type' },
  { name: 'text/plain JSON on delete', path: DELETE, send: () => raw(DELETE, 'text/plain', '{"subject_id":"x"}'), status: 415, code: 'unsupported_media_type' },
  { name: 'no Content-Type on delete', path: DELETE, send: () => raw(DELETE, undefined, '{"subject_id":"x"}'), status: 415, code: 'unsupported_media_type' },
  { name: 'delete body not JSON', path: DELETE, send: () => raw(DELETE, 'application/json', '{"subject_id": '), status: 400, code: 'invalid_metadata' },
  { name: 'delete body empty', path: DELETE, send: () => raw(DELETE, 'application/json', ''), status: 400, code: 'invalid_metadata' },
  { name: 'delete body a JSON array', path: DELETE, send: () => raw(DELETE, 'application/json', '["x"]'), status: 400, code: 'invalid_metadata' },
  { name: 'delete body a JSON number', path: DELETE, send: () => raw(DELETE, 'application/json', '42'), status: 400, code: 'invalid_metadata' },
  { name: 'delete body a JSON string holding JSON', path: DELETE, send: () => postJson(url, DELETE, JSON.stringify({ subject_id: 'anchor', partition: 'hostile' })), status: 400, code: 'invalid_metadata' },
  { name: 'delete body with unknown field', path: DELETE, send: () => postJson(url, DELETE, { subject_id: 'x', cascade: true }), status: 400, code: 'invalid_metadata' },
  { name: 'delete body over the JSON limit', path: DELETE, send: () => postJson(url, DELETE, { subject_id: 'x', pad: 'z'.repeat(MAX_JSON_BYTES * 2) }), status: 413, code: 'payload_too_large' },

  // routes and methods
  { name: 'GET on enrol', path: ENROL, send: () => fetch(`${url}${ENROL}`), status: 405, code: 'method_not_allowed' },
  { name: 'PUT on delete', path: DELETE, send: () => fetch(`${url}${DELETE}`, { method: 'PUT', body: '{}' }), status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on search', path: SEARCH, send: () => fetch(`${url}${SEARCH}`, { method: 'DELETE' }), status: 405, code: 'method_not_allowed' },
  { name: 'POST on health', path: '/api/v1/health', send: () => send('/api/v1/health'), status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on partitions', path: '/api/v1/partitions', send: () => fetch(`${url}/api/v1/partitions`, { method: 'DELETE' }), status: 405, code: 'method_not_allowed' },
  { name: 'unknown route', path: '/api/v1/identify', send: () => send('/api/v1/identify'), status: 404, code: 'not_found' },
  { name: 'unknown API version', path: '/api/v2/search', send: () => send('/api/v2/search', { body: form([['image', face, 'a.jpg']]) }), status: 404, code: 'not_found' },
  { name: 'root path', path: '/', send: () => fetch(`${url}/`), status: 404, code: 'not_found' },
  { name: 'encoded traversal in the path', path: '/api/v1/%2e%2e/%2e%2e/etc/passwd', send: () => fetch(`${url}/api/v1/%2e%2e/%2e%2e/etc/passwd`), status: 404, code: 'not_found' },
];

beforeAll(async () => {
  ({ real: pngBomb, forged: forgedPngBomb } = await decompressionBombs());
  server = await startTestServer({ limits: { maxImageBytes: MAX_IMAGE_BYTES, maxJsonBytes: MAX_JSON_BYTES } });
  url = server.url;
  // Searches check the partition before the image, so both partitions the cases use must exist.
  for (const partition of ['default', 'hostile']) {
    const anchor = await readXml(await enrolWith({ subject_id: 'anchor', partition }));
    expect(anchor.status).toBe(200);
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('hostile input', () => {
  it('has at least 50 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name → $status $code', async ({ path, send, status, code }) => {
    const reply = await readErrorReply(await send(), path);
    expect({ status: reply.status, code: reply.code }).toEqual({ status, code });
    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status).toBe(200);
  });
});

describe('hostile but valid subject ids', () => {
  const ids = [
    { name: 'XML metacharacters', id: '<a&b>"]]>' },
    { name: 'an XML comment and CDATA opener', id: "<!-- x --><![CDATA[y]]>'&amp;" },
    { name: 'unicode from several scripts and an emoji', id: 'José 山田 Ωμέγα עברית 🙂' },
    { name: 'path separators', id: '../../etc/passwd\\..\\boot.ini' },
    { name: 'SQL', id: "x'); DROP TABLE subjects; --" },
    { name: 'the longest allowed id', id: `${'é'.repeat(255)}!` },
  ];

  it.each(ids)('$name round-trips through enrol, search, verify and delete', async ({ id }) => {
    const partition = 'hostile';
    const image = faceAt(4);
    const enrolled = await readXml(await enrolWith({ subject_id: id, partition }, image));
    expect(enrolled.status).toBe(200);
    expect(enrolled.body.subject_id).toBe(id);

    const search = await readXml(await searchWith({ partition, top_k: 100, threshold: 0 }, image));
    expect(search.status).toBe(200);
    expect(search.body.candidates.candidate.map((c: { subject_id: string }) => c.subject_id)).toContain(id);

    const verify = await readXml(await postMultipart(url, VERIFY, { image, metadata: { subject_id: id, partition } }));
    expect(verify.status).toBe(200);
    expect(verify.body.subject_id).toBe(id);
    expect(verify.body.match).toBe('true');

    const deleted = await readXml(await postJson(url, DELETE, { subject_id: id, partition }));
    expect(deleted.status).toBe(200);
    expect(deleted.body.subject_id).toBe(id);
    const gone = await readXml(await postMultipart(url, VERIFY, { image, metadata: { subject_id: id, partition } }));
    expect(gone.body.code).toBe('unknown_subject');
  });

  it('escapes an id in the error body too, and keeps the body well-formed', async () => {
    const response = await postMultipart(url, VERIFY, { image: face, metadata: { subject_id: '<ghost id="1"/>&', partition: 'hostile' } });
    const reply = await readXml(response);
    expect(reply.status).toBe(404);
    expect(reply.root).toBe('ErrorResponse');
    expect(reply.body.code).toBe('unknown_subject');
  });
});
