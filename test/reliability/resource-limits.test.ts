import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { postMultipart, readXml, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { faceAt } from './support.ts';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('a saturated pipeline', () => {
  it('refuses what it cannot queue with 503 service_unavailable and Retry-After, and serves the rest', async () => {
    server = await startTestServer({ pipeline: { workers: 1, maxQueue: 1 } });
    const url = server.url;
    const responses = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const response = await postMultipart(url, '/api/v1/enrol', { image: faceAt(i), metadata: { subject_id: `load-${i}`, partition: 'load' } });
        return { retryAfter: response.headers.get('Retry-After'), ...(await readXml(response)) };
      }),
    );
    const refused = responses.filter((r) => r.status === 503);
    const served = responses.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThanOrEqual(2); // one running, one queued
    expect(refused.length + served.length).toBe(responses.length);
    for (const reply of refused) {
      expect(reply.body.code).toBe('service_unavailable');
      expect(Number(reply.retryAfter)).toBeGreaterThan(0);
    }
    // A refused enrolment left nothing behind; an accepted one is all there.
    const stats = await (await fetch(`${url}/api/v1/stats`)).json();
    expect(stats.partitions.load).toBe(served.length);
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
  });
});

describe('a request that outlives the limit', () => {
  it('a stalled upload gets 408 upload_timeout without Retry-After, and the server carries on', async () => {
    const timeoutMs = 100;
    server = await startTestServer({ limits: { requestTimeoutMs: timeoutMs } });
    const { hostname, port } = new URL(server.url);
    const boundary = 'slow-client';
    // A client that sends the headers and the start of an upload, then stalls: the server must not wait forever.
    const reply = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ hostname, port, path: '/api/v1/enrol', method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body });
        });
      });
      req.on('error', reject);
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
      req.write(faceAt(0).subarray(0, 1000));
    });
    // the client's fault, not the server's load: retrying at once would stall again
    expect(reply.status).toBe(408);
    expect(reply.retryAfter).toBeUndefined();
    const parsed = new XMLParser().parse(reply.body) as { ErrorResponse: { code: string } };
    expect(parsed.ErrorResponse.code).toBe('upload_timeout');
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
  });
});
