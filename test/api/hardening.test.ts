// The findings of an outside trial (issue 18), each as it was found: from outside, over HTTP, with
// real keys, the real pipeline and the real audit log.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { AuditLog, type AuditEvent } from '../../src/audit/audit-log.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { rotateTemplateKey } from '../../src/gallery/index.ts';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService, type KeyScopes } from '../../src/security/auth.service.ts';
import { TemplateCipher } from '../../src/security/template-cipher.ts';
import { readKeyFile } from '../../src/security/template-key.ts';
import { fixture } from '../helpers/fixtures.ts';
import { quietLogger } from '../helpers/quiet-logger.ts';
import { readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
let keys: ApiKeyRepository;
let auth: AuthService;
let admin: string;

beforeAll(async () => {
  server = await startTestServer({
    auth: { required: true },
    policy: {
      partitions: {
        border: { duplicates: { mode: 'refuse' } },
        registry: { duplicates: { mode: 'report' } },
      },
    },
  });
  keys = new ApiKeyRepository(join(server.dataDir, 'keys.sqlite'));
  auth = new AuthService(keys, true);
  admin = newKey({ operations: ['enrol', 'search', 'verify', 'delete', 'admin'] });
});

afterAll(async () => {
  keys?.close();
  await server?.stop();
});

function newKey(scopes: Partial<KeyScopes> = {}): string {
  return auth.createKey({ name: 'trial', operations: ['enrol', 'search', 'verify', 'delete'], partitions: ['*'], ...scopes }).key;
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** A multipart body built byte by byte, so metadata can carry bytes a FormData would re-encode. */
function rawMultipart(path: string, image: Buffer, metadata: Buffer, key = admin): Promise<Response> {
  const boundary = 'trial-boundary-7f3a';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="face.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    image,
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n`),
    metadata,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return fetch(`${server.url}${path}`, { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, ...bearer(key) } });
}

function multipart(path: string, image: Buffer, metadata: object, key = admin): Promise<Response> {
  return rawMultipart(path, image, Buffer.from(JSON.stringify(metadata)), key);
}

function deleteBody(body: Buffer, key = admin): Promise<Response> {
  return fetch(`${server.url}/api/v1/delete`, { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': 'application/json', ...bearer(key) } });
}

function auditEvents(): AuditEvent[] {
  const log = new AuditLog(join(server.dataDir, 'audit.sqlite'));
  try {
    return [...log.between('0000', '9999')];
  } finally {
    log.close();
  }
}

const stats = async (key = admin) => (await fetch(`${server.url}/api/v1/stats`, { headers: bearer(key) })).json();

describe('1. ids that are not valid UTF-8, or that look alike, never merge two people', () => {
  it('refuses Latin-1 metadata with 400 invalid_metadata, so "José" and "Josè" cannot both become "Jos\uFFFD"', async () => {
    const latin1 = (id: string) => Buffer.from(`{"subject_id":"${id}","partition":"utf8"}`, 'latin1');
    for (const id of ['José', 'Josè']) {
      const reply = await readXml(await rawMultipart('/api/v1/enrol', fixture('faces/london_013/1.jpg'), latin1(id)));
      expect([reply.status, reply.body.code]).toEqual([400, 'invalid_metadata']);
      expect(reply.body.message).toMatch(/not valid UTF-8/);
    }
    const deleted = await readXml(await deleteBody(latin1('José')));
    expect([deleted.status, deleted.body.code]).toEqual([400, 'invalid_metadata']);
    expect((await stats()).partitions.utf8).toBeUndefined();
  });

  it('enrols the same id in NFC and NFD as one subject, and echoes the NFC form', async () => {
    const nfd = 'Jose\u0301';
    const enrolled = await readXml(await multipart('/api/v1/enrol', fixture('faces/london_013/1.jpg'), { subject_id: nfd, partition: 'utf8' }));
    expect([enrolled.status, enrolled.body.subject_id]).toEqual([200, 'José'.normalize('NFC')]);
    const verified = await readXml(await multipart('/api/v1/verify', fixture('faces/london_013/2.jpg'), { subject_id: 'José'.normalize('NFC'), partition: 'utf8' }));
    expect(verified.body.match).toBe('true');
    expect((await stats()).partitions.utf8).toBe(1);
  });

  it.each([
    ['a zero-width space', 'ali\u200Bce', /format characters/],
    ['a right-to-left override', 'ecila\u202E', /format characters/],
    ['a noncharacter', 'alice\uFDD0', /noncharacters/],
    ['only white space', '   ', /blank/],
    ['surrounding white space', ' alice', /white space/],
    ['a private-use character', 'alice\uE000', /private-use/],
    ['U+FFFD', 'Jos\uFFFD', /replacement character/],
  ])('refuses an id with %s, saying why', async (_name, id, reason) => {
    const reply = await readXml(await multipart('/api/v1/enrol', fixture('faces/london_013/1.jpg'), { subject_id: id, partition: 'utf8' }));
    expect([reply.status, reply.body.code]).toEqual([400, 'invalid_metadata']);
    expect(reply.body.message).toMatch(reason);
  });

  it('names a lone surrogate as such, not as a control character', async () => {
    const reply = await readXml(await rawMultipart('/api/v1/enrol', fixture('faces/london_013/1.jpg'), Buffer.from('{"subject_id":"a\\ud800b"}')));
    expect(reply.body.message).toMatch(/unpaired UTF-16 surrogate/);
  });

  it('refuses a byte-order mark alike on a metadata part and a /delete body', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const body = Buffer.concat([bom, Buffer.from('{"subject_id":"José","partition":"utf8"}')]);
    const metadata = await readXml(await rawMultipart('/api/v1/verify', fixture('faces/london_013/2.jpg'), body));
    const deleted = await readXml(await deleteBody(body));
    for (const reply of [metadata, deleted]) {
      expect([reply.status, reply.body.code]).toEqual([400, 'invalid_metadata']);
      expect(reply.body.message).toMatch(/byte-order mark/);
    }
    expect((await stats()).partitions.utf8).toBe(1);
  });
});

describe('2. an admin key sees only its own partitions', () => {
  it('filters /stats, /partitions and /metrics to the key', async () => {
    for (const [partition, file] of [['vip', 'faces/london_014/1.jpg'], ['staff', 'faces/london_017/1.jpg']]) {
      expect((await readXml(await multipart('/api/v1/enrol', fixture(file), { subject_id: `${partition}-1`, partition }))).status).toBe(200);
    }
    const vipAdmin = newKey({ operations: ['admin'], partitions: ['vip'] });
    expect(await (await fetch(`${server.url}/api/v1/partitions`, { headers: bearer(vipAdmin) })).json()).toEqual({ partitions: ['vip'] });
    expect(await stats(vipAdmin)).toEqual({ total_subjects: 1, partitions: { vip: 1 } });
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: bearer(vipAdmin) })).text();
    expect(metrics).toMatch(/faceserver_gallery_subjects\{partition="vip"\} 1/);
    expect(metrics).not.toMatch(/partition="(?!vip")/);
    // the all-partition admin still sees everything, default included
    expect((await (await fetch(`${server.url}/api/v1/partitions`, { headers: bearer(admin) })).json()).partitions).toEqual(expect.arrayContaining(['default', 'staff', 'vip']));
  });
});

describe('3 and 4. thresholds have a floor, and nothing is learnt without a face', () => {
  it('raises a verify threshold of 0 to the partition minimum and audits the threshold and decision', async () => {
    await multipart('/api/v1/enrol', fixture('faces/london_017/1.jpg'), { subject_id: 'floor-owner', partition: 'floor' });
    const response = await multipart('/api/v1/verify', fixture('faces/london_018/1.jpg'), { subject_id: 'floor-owner', partition: 'floor', threshold: 0 });
    const requestId = response.headers.get('X-Request-Id');
    const reply = await readXml(response);
    expect(reply.body.match).toBe('false');
    const event = auditEvents().find((e) => e.request_id === requestId)!;
    expect([event.threshold, event.decision]).toEqual([0.45, 'no_match']);
  });

  it('a search with threshold 0 and top_k 100 lists no one below the floor', async () => {
    const reply = await readXml(await multipart('/api/v1/search', fixture('faces/london_018/1.jpg'), { partition: 'floor', threshold: 0, top_k: 100 }));
    expect(reply.body.candidates).toBe('');
  });

  it('a verify key learns nothing about enrolment from an image with no face', async () => {
    const verifier = newKey({ operations: ['verify'] });
    for (const subject of ['floor-owner', 'nobody-at-all']) {
      const reply = await readXml(await multipart('/api/v1/verify', fixture('nonfaces/01.jpg'), { subject_id: subject, partition: 'floor' }, verifier));
      expect([reply.status, reply.body.code]).toEqual([400, 'no_face_detected']);
    }
  });
});

describe('5. refusals of revoked and unknown keys name the key in the audit log', () => {
  it('records the public id of a revoked key and of a well-formed unknown one', async () => {
    const revoked = newKey();
    auth.revokeKey(revoked.slice(0, 16));
    const unknown = `fsk_0123456789ab_${Buffer.alloc(32, 7).toString('base64url')}`;
    const ids: string[] = [];
    for (const key of [revoked, unknown]) {
      const response = await multipart('/api/v1/search', fixture('faces/london_001/2.jpg'), {}, key);
      expect(response.status).toBe(401);
      ids.push(response.headers.get('X-Request-Id')!);
    }
    const events = auditEvents();
    expect(ids.map((id) => events.find((e) => e.request_id === id)?.key_id)).toEqual([revoked.slice(0, 16), 'fsk_0123456789ab']);
  });
});

describe('6. several faces in one image', () => {
  it('reports the face count, and refuses to enrol two faces of like size with 422 multiple_faces', async () => {
    // two whole photos side by side: PAD takes it for the bona fide photo it is made of
    const photo = (file: string) => sharp(fixture(file)).resize(500, 500).toBuffer();
    const pair = await sharp({ create: { width: 1000, height: 500, channels: 3, background: '#808080' } })
      .composite([
        { input: await photo('faces/Colin_Powell/1.jpg'), left: 0, top: 0 },
        { input: await photo('faces/Donald_Rumsfeld/1.jpg'), left: 500, top: 0 },
      ])
      .jpeg({ quality: 92 })
      .toBuffer();
    const refused = await readXml(await multipart('/api/v1/enrol', pair, { subject_id: 'two-people', partition: 'faces' }));
    expect([refused.status, refused.body.code]).toEqual([422, 'multiple_faces']);
    expect(Number(refused.body.face_count)).toBeGreaterThanOrEqual(2);
    const enrolled = await readXml(await multipart('/api/v1/enrol', fixture('faces/Colin_Powell/2.jpg'), { subject_id: 'powell', partition: 'faces' }));
    expect(enrolled.body.face_count).toBe('1');
    const search = await readXml(await multipart('/api/v1/search', pair, { partition: 'faces' }));
    expect(Number(search.body.face_count)).toBeGreaterThanOrEqual(2);
    // refusals after the face was found say how many there were too
    const attack = await readXml(await multipart('/api/v1/search', fixture('pad/spoof/014.jpg'), { partition: 'faces' }));
    expect([attack.status, attack.body.code, attack.body.face_count]).toEqual([451, 'presentation_attack_detected', '1']);
  });
});

describe('9. one person, one identity', () => {
  it('refuses a second id for an enrolled face with 409 duplicate_identity naming the first, and audits it', async () => {
    expect((await readXml(await multipart('/api/v1/enrol', fixture('faces/london_020/1.jpg'), { subject_id: 'traveller', partition: 'border' }))).status).toBe(200);
    const response = await multipart('/api/v1/enrol', fixture('faces/london_020/2.jpg'), { subject_id: 'alias', partition: 'border' });
    const requestId = response.headers.get('X-Request-Id');
    const reply = await readXml(response);
    expect([reply.status, reply.body.code, reply.body.matched_subject_id]).toEqual([409, 'duplicate_identity', 'traveller']);
    expect((await stats()).partitions.border).toBe(1);
    const event = auditEvents().find((e) => e.request_id === requestId)!;
    expect([event.code, event.subject_id, event.matched_subject_id, event.threshold]).toEqual(['duplicate_identity', 'alias', 'traveller', 0.55]);
    // a second photo of the same subject is a second template, not a duplicate
    expect((await readXml(await multipart('/api/v1/enrol', fixture('faces/london_020/2.jpg'), { subject_id: 'traveller', partition: 'border' }))).status).toBe(200);
  });

  it('in report mode enrols and names the existing subject', async () => {
    await multipart('/api/v1/enrol', fixture('faces/london_021/1.jpg'), { subject_id: 'first', partition: 'registry' });
    const response = await multipart('/api/v1/enrol', fixture('faces/london_021/2.jpg'), { subject_id: 'second', partition: 'registry' });
    const requestId = response.headers.get('X-Request-Id');
    const reply = await readXml(response);
    expect(reply.status).toBe(200);
    expect(reply.elements).toEqual(['status', 'subject_id', 'quality_score', 'model_id', 'face_count', 'duplicate_of']);
    expect(reply.body.duplicate_of.subject_id).toBe('first');
    expect(Number(reply.body.duplicate_of.score)).toBeGreaterThanOrEqual(0.55);
    const event = auditEvents().find((e) => e.request_id === requestId)!;
    expect([event.decision, event.matched_subject_id]).toEqual(['duplicate_reported', 'first']);
  });
});

describe('10. smaller findings', () => {
  it('answers a malformed multipart body without the parser\'s internals', async () => {
    const response = await fetch(`${server.url}/api/v1/search`, {
      method: 'POST',
      body: '--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc',
      headers: { 'Content-Type': 'multipart/form-data; boundary=b', ...bearer(admin) },
    });
    const reply = await readXml(response);
    expect([reply.status, reply.body.code]).toEqual([400, 'bad_request']);
    expect(reply.body.message).not.toMatch(/options\.|formidable|maxFile|parser/i);
  });

  it('stops on an invalid LOG_LEVEL with the configuration message and exit code 2, no stack trace', () => {
    const started = spawnSync(process.execPath, ['--import', 'tsx', resolve(PROJECT_ROOT, 'src/main.ts')], {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'loud', PORT: '0', DATA_DIR: join(server.dataDir, 'never-used') },
      timeout: 30_000,
    });
    expect(started.status).toBe(2);
    expect(started.stderr).toMatch(/logLevel/);
    expect(started.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists the default partition on a fresh server, as README says', async () => {
    const fresh = await startTestServer();
    try {
      expect(await (await fetch(`${fresh.url}/api/v1/partitions`)).json()).toEqual({ partitions: ['default'] });
      expect(await (await fetch(`${fresh.url}/api/v1/stats`)).json()).toEqual({ total_subjects: 0, partitions: { default: 0 } });
    } finally {
      await fresh.stop();
    }
  });
});

describe('8. rotating the template key under a running server', () => {
  it('the CLI refuses while the server runs, and a rotation behind its back turns health to 503 and enrolment to 503, not 500', async () => {
    const cli = spawnSync(process.execPath, ['--import', 'tsx', resolve(PROJECT_ROOT, 'src/cli/keys.ts'), 'rotate-template-key'], {
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: server.dataDir },
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/a server \(pid \d+\) is running/);
    const healthy = await (await fetch(`${server.url}/api/v1/health`)).json();
    expect(healthy.components.template_key).toBe(true);

    // what a rotation that ignored the lock would do (last test of the file: the server is not used after)
    const current = readKeyFile(join(server.dataDir, 'template.key'));
    rotateTemplateKey({ dataDir: server.dataDir, current, next: TemplateCipher.generate(), logger: quietLogger });
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(503);
    expect((await health.json()).components.template_key).toBe(false);
    const enrol = await readXml(await multipart('/api/v1/enrol', fixture('faces/london_019/1.jpg'), { subject_id: 'after-rotation', partition: 'keys' }));
    expect([enrol.status, enrol.body.code]).toEqual([503, 'service_unavailable']);
  });
});
