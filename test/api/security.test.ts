import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEvent } from '../../src/audit/audit-log.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { openGallery } from '../../src/gallery/index.ts';
import { quietLogger } from '../helpers/quiet-logger.ts';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService, type KeyScopes } from '../../src/security/auth.service.ts';
import { readKeyFile } from '../../src/security/template-key.ts';
import { fixture } from '../helpers/fixtures.ts';
import { readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';

const ENROL_IMAGE = 'faces/london_001/1.jpg';
const PROBE_IMAGE = 'faces/london_001/2.jpg';

let server: TestServer;
let keys: ApiKeyRepository;
let auth: AuthService;

beforeAll(async () => {
  server = await startTestServer({ auth: { required: true } });
  keys = new ApiKeyRepository(join(server.dataDir, 'keys.sqlite'));
  auth = new AuthService(keys, true);
});

afterAll(async () => {
  keys?.close();
  await server?.stop();
});

function cli(script: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', resolve(PROJECT_ROOT, 'src/cli', script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: server.dataDir },
  });
}

const newKey = (scopes: Partial<KeyScopes> = {}) => auth.createKey({ name: 'test', operations: ['enrol', 'search', 'verify', 'delete'], partitions: ['*'], ...scopes }).key;

type Headers = Record<string, string>;
const bearer = (key: string): Headers => ({ Authorization: `Bearer ${key}` });

function multipart(path: string, image: string, metadata: object, headers: Headers = {}): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(fixture(image))], { type: 'image/jpeg' }), 'image.jpg');
  form.append('metadata', JSON.stringify(metadata));
  return fetch(`${server.url}${path}`, { method: 'POST', body: form, headers });
}

function deleteSubject(metadata: object, headers: Headers = {}): Promise<Response> {
  return fetch(`${server.url}/api/v1/delete`, { method: 'POST', body: JSON.stringify(metadata), headers: { 'Content-Type': 'application/json', ...headers } });
}

async function expectRefusal(response: Response, status: number, code: string, xml: boolean): Promise<void> {
  if (xml) {
    const reply = await readXml(response);
    expect([reply.status, reply.root, reply.body.code]).toEqual([status, 'ErrorResponse', code]);
  } else {
    expect(response.headers.get('content-type')).toMatch(/json/);
    expect([response.status, (await response.json()).code]).toEqual([status, code]);
  }
}

describe('API keys on a server that requires them', () => {
  it('lets health and the OpenAPI document through without a key', async () => {
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/v1/openapi.json`)).status).toBe(200);
  });

  it('no key → 401 unauthorized, XML on biometric paths and JSON elsewhere', async () => {
    await expectRefusal(await multipart('/api/v1/enrol', ENROL_IMAGE, { subject_id: 'nobody' }), 401, 'unauthorized', true);
    await expectRefusal(await deleteSubject({ subject_id: 'nobody' }), 401, 'unauthorized', true);
    for (const path of ['/api/v1/stats', '/api/v1/partitions', '/metrics']) await expectRefusal(await fetch(`${server.url}${path}`), 401, 'unauthorized', false);
  });

  it('wrong, malformed and revoked keys → 401', async () => {
    const key = newKey();
    const wrongSecret = key.slice(0, -6) + (key.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
    for (const presented of [wrongSecret, 'not-a-key', `${key}x`]) {
      await expectRefusal(await multipart('/api/v1/search', PROBE_IMAGE, {}, bearer(presented)), 401, 'unauthorized', true);
    }
    const revoked = newKey();
    auth.revokeKey(revoked.slice(0, 16));
    await expectRefusal(await multipart('/api/v1/search', PROBE_IMAGE, {}, { 'X-API-Key': revoked }), 401, 'unauthorized', true);
  });

  it('a valid key works as Bearer and as X-API-Key', async () => {
    const key = newKey();
    expect((await readXml(await multipart('/api/v1/enrol', ENROL_IMAGE, { subject_id: 'london_001' }, bearer(key)))).status).toBe(200);
    expect((await readXml(await multipart('/api/v1/verify', PROBE_IMAGE, { subject_id: 'london_001' }, { 'X-API-Key': key }))).body.match).toBe('true');
  });

  it('missing operation scope → 403 forbidden', async () => {
    const searchOnly = newKey({ operations: ['search'] });
    await expectRefusal(await multipart('/api/v1/enrol', ENROL_IMAGE, { subject_id: 'x' }, bearer(searchOnly)), 403, 'forbidden', true);
    await expectRefusal(await multipart('/api/v1/verify', PROBE_IMAGE, { subject_id: 'london_001' }, bearer(searchOnly)), 403, 'forbidden', true);
    await expectRefusal(await deleteSubject({ subject_id: 'london_001' }, bearer(searchOnly)), 403, 'forbidden', true);
    for (const path of ['/api/v1/stats', '/api/v1/partitions', '/metrics']) await expectRefusal(await fetch(`${server.url}${path}`, { headers: bearer(searchOnly) }), 403, 'forbidden', false);
    // Routers ignore case and a trailing slash; the scope check and the error format resolve routes the same way.
    await expectRefusal(await multipart('/API/v1/Enrol/', ENROL_IMAGE, { subject_id: 'x' }, bearer(searchOnly)), 403, 'forbidden', true);
    const admin = newKey({ operations: ['admin'] });
    expect((await fetch(`${server.url}/api/v1/stats`, { headers: bearer(admin) })).status).toBe(200);
  });

  it('photo checks need the "check" scope and no partition', async () => {
    const noCheck = newKey();
    await expectRefusal(await multipart('/api/v1/photo/check', ENROL_IMAGE, {}, bearer(noCheck)), 403, 'forbidden', false);
    const checkOnly = newKey({ operations: ['check'], partitions: ['vip'] });
    const response = await multipart('/api/v1/photo/check', ENROL_IMAGE, { profile: 'enrolment' }, bearer(checkOnly));
    expect(response.status).toBe(200);
    expect((await response.json()).compliant).toBe(true);
  });

  it('partition outside the key → 403 forbidden, for multipart metadata and JSON bodies alike', async () => {
    const vipOnly = newKey({ partitions: ['vip'] });
    expect((await readXml(await multipart('/api/v1/enrol', ENROL_IMAGE, { subject_id: 'v1', partition: 'vip' }, bearer(vipOnly)))).status).toBe(200);
    await expectRefusal(await multipart('/api/v1/search', PROBE_IMAGE, { partition: 'default' }, bearer(vipOnly)), 403, 'forbidden', true);
    // No partition in the metadata means "default", which this key may not touch.
    await expectRefusal(await multipart('/api/v1/enrol', ENROL_IMAGE, { subject_id: 'v2' }, bearer(vipOnly)), 403, 'forbidden', true);
    await expectRefusal(await deleteSubject({ subject_id: 'london_001', partition: 'default' }, bearer(vipOnly)), 403, 'forbidden', true);
    const stats = await (await fetch(`${server.url}/api/v1/stats`, { headers: bearer(newKey({ operations: ['admin'] })) })).json();
    expect(stats.partitions).toEqual({ default: 1, vip: 1 });
  });

  it('the keys CLI creates a working key, lists it without its secret, and revokes it', async () => {
    const created = cli('keys.ts', ['create', '--name', 'cli gate', '--scopes', 'search', '--partitions', 'default']);
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^fsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect((await readXml(await multipart('/api/v1/search', PROBE_IMAGE, {}, bearer(key)))).status).toBe(200);

    const listed = cli('keys.ts', ['list']);
    const entry = listed.stdout.trim().split('\n').map((line) => JSON.parse(line)).find((k) => key.startsWith(`${k.id}_`));
    expect(entry).toMatchObject({ name: 'cli gate', operations: ['search'], partitions: ['default'], revokedAt: null });
    expect(listed.stdout).not.toContain(key.slice(17));

    expect(cli('keys.ts', ['revoke', entry.id]).status).toBe(0);
    await expectRefusal(await multipart('/api/v1/search', PROBE_IMAGE, {}, bearer(key)), 401, 'unauthorized', true);
    expect(cli('keys.ts', ['create', '--name', 'x', '--scopes', 'fly', '--partitions', 'default']).status).toBe(2);
    // every partition is asked for, never the silent default of a forgotten flag
    const unscoped = cli('keys.ts', ['create', '--name', 'x', '--scopes', 'search']);
    expect([unscoped.status, unscoped.stdout]).toEqual([2, '']);
    expect(unscoped.stderr).toMatch(/--partitions is required/);
  });
});

describe('audit log', () => {
  let events: AuditEvent[];

  beforeAll(async () => {
    const key = newKey({ name: 'auditor' } as Partial<KeyScopes>);
    const headers = { ...bearer(key), 'X-Request-Id': 'audit-probe-1' };
    await multipart('/api/v1/enrol', 'faces/london_002/1.jpg', { subject_id: 'audited', partition: 'audit' }, headers);
    await multipart('/api/v1/search', 'faces/london_002/2.jpg', { partition: 'audit' }, headers);
    await multipart('/api/v1/verify', 'faces/london_002/2.jpg', { subject_id: 'audited', partition: 'audit' }, headers);
    await multipart('/api/v1/search', 'nonfaces/01.jpg', { partition: 'audit' }, headers);
    await deleteSubject({ subject_id: 'audited', partition: 'audit' }, headers);
    const log = new AuditLog(join(server.dataDir, 'audit.sqlite'));
    events = [...log.between('0000', '9999')];
    log.close();
  });

  it('records every biometric operation with key, partition, subject, outcome, score and quality', () => {
    const mine = events.filter((event) => event.request_id === 'audit-probe-1');
    expect(mine.map((event) => [event.operation, event.partition, event.subject_id, event.status, event.code, event.decision, event.threshold])).toEqual([
      ['enrol', 'audit', 'audited', 200, 'ok', 'enrolled', null],
      ['search', 'audit', 'audited', 200, 'ok', 'hit', 0.45],
      ['verify', 'audit', 'audited', 200, 'ok', 'match', 0.45],
      ['search', 'audit', null, 400, 'no_face_detected', null, null],
      ['delete', 'audit', 'audited', 200, 'ok', 'deleted', null],
    ]);
    expect(new Set(mine.map((event) => event.key_id)).size).toBe(1);
    expect(mine[0].key_id).toMatch(/^fsk_[0-9a-f]{12}$/);
    for (const event of mine.slice(0, 3)) expect(event.quality).toBeGreaterThan(0);
    expect(mine[1].score).toBeGreaterThan(0.45);
    // search (FAISS, float32) and verify (float64 sums) agree to the reported four decimals
    expect(mine[2].score).toBeCloseTo(mine[1].score!, 4);
    for (const event of mine) expect(Date.parse(event.at)).toBeGreaterThan(Date.now() - 10 * 60_000);
  });

  it('records refusals too: 401 without a key id, 403 with the partition that was refused', () => {
    expect(events.some((event) => event.code === 'unauthorized' && event.status === 401 && event.key_id === null && event.operation === 'enrol')).toBe(true);
    expect(events.some((event) => event.code === 'forbidden' && event.operation === 'search' && event.partition === 'default' && event.key_id !== null)).toBe(true);
  });

  it('holds no image or template bytes', () => {
    const bytes = readFileSync(join(server.dataDir, 'audit.sqlite'));
    const wal = join(server.dataDir, 'audit.sqlite-wal');
    const all = Buffer.concat([bytes, statSync(wal, { throwIfNoEntry: false }) ? readFileSync(wal) : Buffer.alloc(0)]);
    for (const image of ['faces/london_002/1.jpg', 'faces/london_002/2.jpg', 'nonfaces/01.jpg']) {
      const data = fixture(image);
      for (const offset of [100, Math.floor(data.length / 2), data.length - 64]) expect(all.includes(data.subarray(offset, offset + 32)), image).toBe(false);
    }
    const columns = Object.keys(events[0]).sort();
    expect(columns).toEqual(['at', 'claim_token_id', 'code', 'decision', 'key_id', 'matched_subject_id', 'operation', 'partition', 'quality', 'request_id', 'score', 'status', 'subject_id', 'threshold']);
  });

  it('refuses UPDATE and DELETE', () => {
    const db = new Database(join(server.dataDir, 'audit.sqlite'));
    try {
      expect(() => db.exec("UPDATE audit_events SET code = 'ok'")).toThrow(/append-only/);
      expect(() => db.exec('DELETE FROM audit_events')).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  it('the audit CLI exports the day as JSON lines', () => {
    const today = new Date().toISOString().slice(0, 10);
    const exported = cli('audit.ts', ['export', '--from', today, '--to', today]);
    expect(exported.status, exported.stderr).toBe(0);
    const lines = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as AuditEvent);
    expect(lines.length).toBeGreaterThanOrEqual(events.length);
    expect(lines.slice(0, events.length)).toEqual(events);
    expect(cli('audit.ts', ['export', '--from', '2001-01-01', '--to', '2001-12-31']).stdout).toBe('');
    const inverted = cli('audit.ts', ['export', '--from', '2026-12-31', '--to', '2026-01-01']);
    expect([inverted.status, inverted.stdout]).toEqual([2, '']);
    expect(inverted.stderr).toMatch(/is not before --to/);
  });
});

describe('metrics', () => {
  it('expose request counts, latency, pipeline stages, rejections, gallery sizes and event-loop lag after traffic', async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: bearer(newKey({ operations: ['admin'] })) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    expect(value(/^faceserver_http_requests_total\{route="\/api\/v1\/enrol",method="POST",status="200"\} (\d+)$/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^faceserver_http_requests_total\{route="\/api\/v1\/enrol",method="POST",status="401"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^faceserver_http_request_duration_seconds_count\{route="\/api\/v1\/search",method="POST",status="200"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^faceserver_http_errors_total\{route="\/api\/v1\/search",code="forbidden"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    for (const stage of ['detect', 'embed', 'total']) {
      expect(value(new RegExp(`^faceserver_pipeline_stage_duration_seconds_count\\{stage="${stage}",purpose="probe"\\} (\\d+)$`, 'm')), stage).toBeGreaterThanOrEqual(1);
    }
    expect(value(/^faceserver_pipeline_rejections_total\{code="no_face_detected",purpose="probe"\} (\d+)$/m)).toBe(1);
    expect(value(/^faceserver_gallery_subjects\{partition="vip"\} (\d+)$/m)).toBe(1);
    expect(value(/^faceserver_gallery_templates\{partition="default"\} (\d+)$/m)).toBe(1);
    expect(text).toMatch(/^faceserver_nodejs_eventloop_lag_seconds \d/m);
    // each pipeline worker that has run a job reports its own V8 heap, apart from the main thread's
    const workerHeap = value(/^faceserver_worker_memory_bytes\{pool="pipeline",worker="0",kind="heap_used"\} (\d+)$/m);
    expect(workerHeap).toBeGreaterThan(1e6);
    expect(value(/^faceserver_worker_memory_bytes\{pool="pipeline",worker="0",kind="heap_total"\} (\d+)$/m)).toBeGreaterThanOrEqual(workerHeap);
  });
});

describe('encryption at rest', () => {
  it('after shutdown, no file of the data directory holds a template in plaintext', async () => {
    await server.close();
    const cipher = readKeyFile(join(server.dataDir, 'template.key'));
    const gallery = await openGallery({ dataDir: server.dataDir, flushDelayMs: 60_000, logger: quietLogger, cipher });
    const templates = [...((await gallery.subjectTemplates('default', 'london_001')) ?? []), ...((await gallery.subjectTemplates('vip', 'v1')) ?? [])].map((stored) => stored.template);
    await gallery.close();
    expect(templates).toHaveLength(2);

    const files = readdirSync(server.dataDir, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(server.dataDir, file)).isFile());
    expect(files).toEqual(expect.arrayContaining(['gallery.sqlite', join('indexes', 'default.faiss'), join('indexes', 'vip.faiss')]));
    for (const file of files) {
      const bytes = readFileSync(join(server.dataDir, file));
      for (const template of templates) {
        const plain = Buffer.from(template.buffer, template.byteOffset, template.byteLength);
        for (let offset = 0; offset < plain.length; offset += 256) expect(bytes.includes(plain.subarray(offset, offset + 16)), file).toBe(false);
      }
    }
    expect(statSync(join(server.dataDir, 'template.key')).mode & 0o777).toBe(0o600);
  });
});
