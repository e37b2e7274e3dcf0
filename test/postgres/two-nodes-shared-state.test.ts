// Two API servers (real src/main.ts processes) with API keys required, over one PostgreSQL database: a key
// made by `npm run keys` against DATABASE_URL works on both, and once revoked is refused by both; the
// audit log is one log, so each node's GET /api/v1/audit (and `npm run audit -- export`) shows what was done on the other;
// a claim token issued on one node is used and validated on the other, its tries and its validation counted once;
// a passport-photo job analysed on one node is generated and downloaded on the other, and stored on neither,
// its progress streamed by the other.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { ChildServerGroup, type ChildServer } from '../helpers/child-server.ts';
import { postMultipart, readXml } from '../helpers/test-server.ts';
import { postgresInstalled, startPrimary, type PostgresServer } from '../helpers/postgres-cluster.ts';
import { documentPortrait, postClaimImage, postClaimJson } from '../claims/support.ts';
import { fixture } from '../helpers/fixtures.ts';
import { ENROLLABLE_FACES } from '../reliability/support.ts';

// one pipeline worker each: two servers share the test machine's two cores
const NODE_CONFIG = { pipeline: { workers: 1 } };

let primary: PostgresServer;
let databaseUrl: string;
const nodes = new ChildServerGroup();

/** `npm run -s keys|audit -- …` as an operator runs it on a machine of its own (a data directory no server uses). */
async function cli(script: 'keys.ts' | 'audit.ts', ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', `src/cli/${script}`, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATA_DIR: nodes.dataDir(), DATABASE_URL: databaseUrl },
  });
}

const startNode = () => nodes.start({ config: NODE_CONFIG, env: { DATABASE_URL: databaseUrl, AUTH_REQUIRED: 'true' } });

const bearer = (key: string, requestId: string) => ({ Authorization: `Bearer ${key}`, 'X-Request-Id': requestId });

async function auditRows(node: ChildServer, key: string): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${node.url}/api/v1/audit?limit=200`, { headers: { Authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: Array<Record<string, unknown>> }).events;
}

describe.skipIf(!postgresInstalled())('API keys, the audit log, claim tokens and photo jobs shared by two API nodes over PostgreSQL', () => {
  let a: ChildServer;
  let b: ChildServer;

  beforeAll(async () => {
    primary = await startPrimary();
    databaseUrl = await primary.createDatabase('faces');
    [a, b] = await Promise.all([startNode(), startNode()]);
  }, 180_000);

  afterAll(async () => {
    await nodes.stopAll();
    primary?.destroy();
  });

  it('accepts a key made by the CLI on both nodes, audits on both what either did, and refuses the key on both once revoked', async () => {
    const created = await cli('keys.ts', 'create', '--name', 'gate', '--scopes', 'enrol,search,admin', '--partitions', '*');
    const key = created.stdout.trim();
    expect(key).toMatch(/^fsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const keyId = key.slice(0, 16);
    expect(created.stderr).toContain(`created ${keyId} "gate"`);
    const listed = (await cli('keys.ts', 'list')).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(listed).toMatchObject([{ id: keyId, name: 'gate', operations: ['enrol', 'search', 'admin'], partitions: ['*'], revokedAt: null }]);

    // no key: refused on both (keys are required)
    for (const node of [a, b]) expect((await readXml(await postMultipart(node.url, '/api/v1/search', { image: ENROLLABLE_FACES[1].bytes, metadata: { partition: 'gate' } }))).status).toBe(401);

    const enrolled = await readXml(await postMultipart(a.url, '/api/v1/enrol', { image: ENROLLABLE_FACES[0].bytes, metadata: { subject_id: 'sharon', partition: 'gate' } }, bearer(key, 'enrol-on-a')));
    expect(enrolled.status).toBe(200);
    const found = await readXml(await postMultipart(b.url, '/api/v1/search', { image: ENROLLABLE_FACES[1].bytes, metadata: { partition: 'gate' } }, bearer(key, 'search-on-b')));
    expect(found.status).toBe(200);
    expect(found.body.candidates.candidate[0].subject_id).toBe('sharon');

    // one log: each node shows the enrolment made on A and the search made on B, newest first
    for (const node of [a, b]) {
      const rows = (await auditRows(node, key)).filter((row) => String(row.request_id).endsWith('-on-a') || String(row.request_id).endsWith('-on-b'));
      expect(rows).toMatchObject([
        { request_id: 'search-on-b', key_id: keyId, operation: 'search', partition: 'gate', status: 200, code: 'ok', decision: 'hit' },
        { request_id: 'enrol-on-a', key_id: keyId, operation: 'enrol', partition: 'gate', subject_id: 'sharon', status: 200, code: 'ok', decision: 'enrolled' },
      ]);
    }

    // and `npm run audit -- export` against the database exports them, as JSON lines
    const exported = (await cli('audit.ts', 'export')).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(exported.filter((row) => String(row.request_id).includes('-on-')).map((row) => [row.request_id, row.decision])).toEqual([
      ['enrol-on-a', 'enrolled'],
      ['search-on-b', 'hit'],
    ]);

    const revoked = await cli('keys.ts', 'revoke', keyId);
    expect(revoked.stderr).toContain(`revoked ${keyId}`);
    // refused at once by both nodes: neither holds keys in memory
    for (const [node, name] of [[a, 'a'], [b, 'b']] as const) {
      const refused = await readXml(await postMultipart(node.url, '/api/v1/search', { image: ENROLLABLE_FACES[1].bytes, metadata: { partition: 'gate' } }, bearer(key, `revoked-on-${name}`)));
      expect([refused.status, refused.body.code]).toEqual([401, 'unauthorized']);
    }
    // and the refusals are on record in the shared log, read here straight from the database
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query("SELECT request_id, status, code FROM audit_events WHERE request_id LIKE 'revoked-on-%' ORDER BY request_id");
    await client.end();
    expect(rows).toEqual([
      { request_id: 'revoked-on-a', status: 401, code: 'unauthorized' },
      { request_id: 'revoked-on-b', status: 401, code: 'unauthorized' },
    ]);
  }, 180_000);

  it('honours a claim token on the node it was not issued on, and counts its tries and its validation once across both', async () => {
    const key = (await cli('keys.ts', 'create', '--name', 'claims', '--scopes', 'claim_enrol,claim_verify,check', '--partitions', '*')).stdout.trim();
    const headers = { Authorization: `Bearer ${key}` };
    const json = async (node: ChildServer, path: string, body: unknown) => {
      const response = await postClaimJson(node.url, path, body, headers);
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const image = async (node: ChildServer, path: string, token: string, bytes: Buffer, source?: string) => {
      const response = await postClaimImage(node.url, path, { token, image: bytes, source }, headers);
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };

    // enrol: token from A, document portrait posted to B
    const enrolToken = await json(a, '/api/v1/claim/enrol/token', { user_id: 'alice', partition: 'claims', source: 'oid' });
    expect(enrolToken.status, JSON.stringify(enrolToken.body)).toBe(200);
    const portrait = await documentPortrait(a.url, 'faces/london_010/1.jpg', headers);
    const enrolled = await image(b, '/api/v1/claim/enrol/image', enrolToken.body.token, portrait, 'oid');
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    // used up on both nodes
    expect((await image(a, '/api/v1/claim/enrol/image', enrolToken.body.token, portrait, 'oid')).body.code).toBe('token_used');

    // verify: token from B, live capture posted to A, validated on B, once
    const verifyToken = await json(b, '/api/v1/claim/verify/token', { user_id: 'alice', partition: 'claims' });
    expect(verifyToken.status, JSON.stringify(verifyToken.body)).toBe(200);
    expect((await image(a, '/api/v1/claim/verify/image', verifyToken.body.token, fixture('faces/london_010/2.jpg'))).status).toBe(200);
    const validated = await json(b, '/api/v1/claim/verify/validate', { token: verifyToken.body.token, user_id: 'alice' });
    expect(validated.status, JSON.stringify(validated.body)).toBe(200);
    expect(validated.body).toMatchObject({ passed: true, source: 'oid' });
    expect(await json(a, '/api/v1/claim/verify/validate', { token: verifyToken.body.token, user_id: 'alice' })).toMatchObject({ status: 409, body: { code: 'token_used' } });

    // tries: six captures without a face posted at once, three to each node, against a token of three tries
    const raced = await json(a, '/api/v1/claim/verify/token', { user_id: 'alice', partition: 'claims' });
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => image(i % 2 === 0 ? a : b, '/api/v1/claim/verify/image', raced.body.token, fixture('nonfaces/01.jpg'))));
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 200, 200, 429, 429, 429]);
    expect(await json(b, '/api/v1/claim/verify/validate', { token: raced.body.token, user_id: 'alice' })).toMatchObject({ status: 200, body: { passed: false, failure_reason: 'no_face_detected' } });
  }, 180_000);

  it('streams the progress of, generates and downloads on one node a passport-photo job analysed on the other, for its key only', async () => {
    const [key, otherKey] = await Promise.all(['passport app', 'other app'].map(async (name) => (await cli('keys.ts', 'create', '--name', name, '--scopes', 'photo', '--partitions', '*')).stdout.trim()));
    // the progress stream is opened on B, the upload goes to A (as a load balancer may send them)
    const progress = fetch(`${b.url}/api/v1/jobs/two-nodes-1/progress`, { headers: { Authorization: `Bearer ${key}` } }).then(async (response) =>
      (await response.text())
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)) as { percent: number; stage: string }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(fixture('faces/london_010/1.jpg'))], { type: 'image/jpeg' }), 'head shot.jpg');
    form.append('clientJobId', 'two-nodes-1');
    const analysed = await fetch(`${a.url}/api/v1/tools/passport-photo/analyze`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${key}` } });
    const analysis = (await analysed.json()) as Record<string, any>;
    expect(analysed.status, JSON.stringify(analysis)).toBe(200);
    expect((await progress).map((event) => [event.percent, event.stage])).toEqual([
      [0, 'started'],
      [30, 'landmarks'],
      [95, 'background'],
      [100, 'done'],
    ]);

    // the photo's own background kept (no bgColor): the job's upload, mask and analysis come from PostgreSQL
    const generate = (node: ChildServer, as: string) =>
      fetch(`${node.url}/api/v1/tools/passport-photo/generate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${as}` },
        body: JSON.stringify({ jobId: analysis.jobId, filename: analysis.filename, landmarks: analysis.landmarks, imageWidth: analysis.imageWidth, imageHeight: analysis.imageHeight, countryCode: 'US' }),
      });
    const generated = await generate(b, key);
    const photo = (await generated.json()) as Record<string, any>;
    expect(generated.status, JSON.stringify(photo)).toBe(200);
    expect(photo).toMatchObject({ jobId: analysis.jobId, downloadUrl: `/api/v1/download/${analysis.jobId}/head_shot_passport.jpg`, dimensions: { widthPx: 600, heightPx: 600 } });

    const download = async (node: ChildServer, path: string, as: string) => {
      const response = await fetch(`${node.url}${path}`, { headers: { Authorization: `Bearer ${as}` } });
      return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
    };
    // the photo made on B is served by A, byte for byte; the upload by B
    const [fromA, fromB] = await Promise.all([download(a, photo.downloadUrl, key), download(b, photo.downloadUrl, key)]);
    expect(fromA.status).toBe(200);
    expect(fromA.bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(fromA.bytes.equals(fromB.bytes)).toBe(true);
    // another key is told 404 on either node, for the job and its files
    expect((await generate(a, otherKey)).status).toBe(404);
    expect((await download(b, photo.downloadUrl, otherKey)).status).toBe(404);

    // stored in the database, on neither node's disk
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const files = (await admin.query<{ name: string }>('SELECT name FROM photo_job_files WHERE job_id = $1 ORDER BY name', [analysis.jobId])).rows.map((row) => row.name);
    await admin.end();
    expect(files).toEqual(expect.arrayContaining(['head_shot_passport.jpg', 'upload']));
    for (const dataDir of nodes.dataDirs()) expect(existsSync(join(dataDir, 'photo-jobs'))).toBe(false);
  }, 180_000);
});
