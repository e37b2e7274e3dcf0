import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyRepository } from '../../src/security/api-key.repository.ts';
import { AuthService } from '../../src/security/auth.service.ts';
import { fixture } from '../helpers/fixtures.ts';
import { postMultipart, startTestServer, type TestServer } from '../helpers/test-server.ts';

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

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const audit = async (key: string, query = '') => {
  const response = await fetch(`${server.url}/api/v1/audit${query}`, { headers: bearer(key) });
  return { status: response.status, body: (await response.json()) as any };
};

describe('GET /api/v1/audit', () => {
  it('lists the latest rows newest first, each key seeing only its partitions', async () => {
    const enroller = auth.createKey({ name: 'enrol', operations: ['enrol'], partitions: ['*'] }).key;
    const image = fixture('faces/london_001/1.jpg');
    expect((await postMultipart(server.url, '/api/v1/enrol', { image, metadata: { subject_id: 'a', partition: 'east' } }, bearer(enroller))).status).toBe(200);
    expect((await postMultipart(server.url, '/api/v1/enrol', { image, metadata: { subject_id: 'b', partition: 'west' } }, bearer(enroller))).status).toBe(200);

    const everything = auth.createKey({ name: 'admin', operations: ['admin'], partitions: ['*'] }).key;
    const all = await audit(everything);
    expect(all.status).toBe(200);
    expect(all.body.events.map((event: any) => [event.partition, event.subject_id, event.decision])).toEqual([
      ['west', 'b', 'enrolled'],
      ['east', 'a', 'enrolled'],
    ]);
    expect((await audit(everything, '?limit=1')).body.events).toHaveLength(1);

    const eastAdmin = auth.createKey({ name: 'east', operations: ['admin'], partitions: ['east'] }).key;
    expect((await audit(eastAdmin)).body.events.map((event: any) => event.subject_id)).toEqual(['a']);
  }, 60_000);

  it('needs the admin scope and a sane limit', async () => {
    const searcher = auth.createKey({ name: 'search', operations: ['search'], partitions: ['*'] }).key;
    expect((await audit(searcher)).status).toBe(403);
    const admin = auth.createKey({ name: 'admin2', operations: ['admin'], partitions: ['*'] }).key;
    const tooMany = await audit(admin, '?limit=201');
    expect([tooMany.status, tooMany.body.code, tooMany.body.message]).toEqual([400, 'invalid_metadata', 'limit must be at most 200']);
  });
});
