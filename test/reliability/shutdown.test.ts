// Shutdown with requests whose clients have hung up: their handlers still run (the pipeline job, the
// audit row), and close() must wait for them before it closes the stores beneath them.
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { faceAt } from './support.ts';

let server: TestServer | undefined;
afterAll(() => server && rmSync(server.dataDir, { recursive: true, force: true }));

it('finishes the requests of clients that hung up before it closes the audit log and the gallery', async () => {
  server = await startTestServer();
  const abandoned = 6;
  const sent = await Promise.all(
    Array.from({ length: abandoned }, async (_, i) => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(faceAt(i))], { type: 'image/jpeg' }), 'probe.jpg');
      form.append('metadata', JSON.stringify({ top_k: 1 }));
      const encoded = new Request('http://localhost/', { method: 'POST', body: form });
      const body = Buffer.from(await encoded.arrayBuffer());
      return new Promise<void>((resolve) => {
        const { port } = new URL(server!.url);
        const request = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/search', method: 'POST', headers: { 'content-type': encoded.headers.get('content-type')!, 'content-length': body.length } });
        request.on('error', () => resolve());
        // the whole body sent, then the client hangs up while the server is still working on it
        request.end(body, () => setTimeout(() => request.destroy(), 30));
        request.on('close', () => resolve());
      });
    }),
  );
  expect(sent).toHaveLength(abandoned);
  await server.close();

  const audit = new Database(join(server.dataDir, 'audit.sqlite'), { readonly: true });
  try {
    const { count } = audit.prepare<[], { count: number }>("SELECT count(*) AS count FROM audit_events WHERE operation = 'search'").get()!;
    expect(count).toBe(abandoned);
  } finally {
    audit.close();
  }
}, 60_000);
