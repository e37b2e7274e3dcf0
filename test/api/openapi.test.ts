import { loadProfiles } from '../../src/compliance/profiles.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/http/openapi.ts';
import { contract } from '../helpers/contract.ts';
import { fixture } from '../helpers/fixtures.ts';
import { postJson, postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A JSON answer, checked against the document like readXml checks XML ones. */
async function readJson(response: Response): Promise<{ status: number; body: any }> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await response.json();
  expect(contract().check(new URL(response.url).pathname, response.status, 'application/json', body), `${response.url} is documented`).toBe(true);
  return { status: response.status, body };
}

describe('the document', () => {
  it('is served at /api/v1/openapi.json, as OpenAPI 3.1, matching the running configuration', async () => {
    const { status, body } = await readJson(await fetch(`${server.url}/api/v1/openapi.json`));
    expect(status).toBe(200);
    expect(body).toEqual(JSON.parse(JSON.stringify(openApiDocument(server.config, loadProfiles()))));
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual(
      [
        '/api/v1/audit', '/api/v1/claim/enrol/image', '/api/v1/claim/enrol/token', '/api/v1/claim/verify/image', '/api/v1/claim/verify/token', '/api/v1/claim/verify/validate',
        '/api/v1/delete', '/api/v1/download/{jobId}/{file}', '/api/v1/enrol', '/api/v1/health', '/api/v1/id_cropper/register',
        '/api/v1/id_cropper_register', '/api/v1/jobs/{clientJobId}/progress', '/api/v1/mad', '/api/v1/openapi.json', '/api/v1/partitions',
        '/api/v1/photo/check', '/api/v1/search', '/api/v1/stats', '/api/v1/subjects/{partition}', '/api/v1/subjects/{partition}/{subject_id}',
        '/api/v1/tools/passport-photo', '/api/v1/tools/passport-photo/analyze', '/api/v1/tools/passport-photo/generate', '/api/v1/verify', '/metrics',
        '/v2/getIdPhotoNoWatermark', '/v2/getIdPhotoSpec', '/v2/health', '/v2/listIdPhotoSpecCode', '/v2/makeIdPhoto',
        '/v2/makeIdPhotoWatermark', '/v2/queryAccountStatus',
      ],
    );
  });

  it('names every multipart part and metadata field of the biometric endpoints', () => {
    const { paths, components } = contract().document as any;
    const metadataFields = (path: string) => {
      const form = paths[path].post.requestBody.content['multipart/form-data'].schema;
      expect(Object.keys(form.properties)).toEqual(path === '/api/v1/enrol' ? ['image', 'metadata', 'reference_image'] : ['image', 'metadata']);
      return Object.keys(components.schemas[form.properties.metadata.$ref.split('/').at(-1)].properties);
    };
    expect(metadataFields('/api/v1/enrol')).toEqual(['subject_id', 'partition']);
    // sources: the one optional field added to the core contract (issue 13)
    expect(metadataFields('/api/v1/search')).toEqual(['partition', 'top_k', 'threshold', 'sources']);
    expect(metadataFields('/api/v1/verify')).toEqual(['subject_id', 'partition', 'threshold', 'sources']);
    expect(Object.keys(components.schemas.DeleteRequest.properties)).toEqual(['subject_id', 'partition']);
  });

  it('the validator refuses a response that breaks the document (so passing checks mean something)', () => {
    expect(() => contract().check('/api/v1/verify', 200, 'application/xml', { status: 'OK', match: 'perhaps', score: '0.5' })).toThrow();
    expect(() => contract().check('/api/v1/search', 200, 'application/xml', { status: 'OK', candidates: { candidate: [{ subject_id: 'a', score: '2', rank: '1' }] }, quality_score: '0.5', model_id: 'm' })).toThrow();
    expect(() => contract().check('/api/v1/stats', 200, 'application/json', { total_subjects: -1, partitions: {} })).toThrow();
  });
});

describe('real responses fit the document', () => {
  const image = (path: string) => fixture(`faces/${path}`);

  it('biometric answers, XML', async () => {
    // readXml checks each against the document; here the status says which response was checked.
    expect((await readXml(await postMultipart(server.url, '/api/v1/enrol', { image: image('london_001/1.jpg'), metadata: { subject_id: 'a', partition: 'oa' } }))).status).toBe(200);
    expect((await readXml(await postMultipart(server.url, '/api/v1/search', { image: image('london_001/2.jpg'), metadata: { partition: 'oa', threshold: 0 } }))).status).toBe(200);
    const none = await readXml(await postMultipart(server.url, '/api/v1/search', { image: image('london_001/2.jpg'), metadata: { partition: 'oa', threshold: 1 } }));
    expect([none.status, none.body.candidates]).toEqual([200, '']);
    expect((await readXml(await postMultipart(server.url, '/api/v1/verify', { image: image('london_001/2.jpg'), metadata: { subject_id: 'a', partition: 'oa' } }))).status).toBe(200);
    expect((await readXml(await postJson(server.url, '/api/v1/delete', { subject_id: 'a', partition: 'oa' }))).status).toBe(200);
  });

  it.each([
    ['missing image', () => postMultipart(server.url, '/api/v1/enrol', { metadata: { subject_id: 'x' } }), 400],
    ['invalid metadata', () => postMultipart(server.url, '/api/v1/search', { image: image('london_001/2.jpg'), metadata: { top_k: 0 } }), 400],
    ['no face', () => postMultipart(server.url, '/api/v1/search', { image: fixture('nonfaces/01.jpg') }), 400],
    ['unknown partition', () => postMultipart(server.url, '/api/v1/search', { image: image('london_001/2.jpg'), metadata: { partition: 'nowhere' } }), 404],
    ['wrong media type', () => postJson(server.url, '/api/v1/verify', {}), 415],
    ['wrong method', () => fetch(`${server.url}/api/v1/enrol`), 405],
    ['unknown delete', () => postJson(server.url, '/api/v1/delete', { subject_id: 'ghost' }), 404],
  ])('XML error: %s', async (_, send, status) => {
    const reply = await readXml(await send());
    expect([reply.status, reply.root]).toEqual([status, 'ErrorResponse']);
  });

  it('utility answers, JSON', async () => {
    for (const path of ['/api/v1/health', '/api/v1/partitions', '/api/v1/stats']) {
      expect((await readJson(await fetch(`${server.url}${path}`))).status).toBe(200);
    }
    const notAllowed = await readJson(await fetch(`${server.url}/api/v1/stats`, { method: 'DELETE' }));
    expect([notAllowed.status, notAllowed.body.code]).toEqual([405, 'method_not_allowed']);
    const metrics = await fetch(`${server.url}/metrics`);
    expect(contract().responseSchema('/metrics', metrics.status, (metrics.headers.get('content-type') ?? '').split(';')[0])).toEqual({ type: 'string' });
  });
});
