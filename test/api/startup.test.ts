import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { quietLogger } from '../helpers/quiet-logger.ts';
import { startServer } from '../../src/server.ts';
import { fixture } from '../helpers/fixtures.ts';
import { postMultipart, readXml, startTestServer } from '../helpers/test-server.ts';

it('refuses to start on a gallery enrolled with another recognition model, naming both', async () => {
  const first = await startTestServer();
  const enrolled = await readXml(await postMultipart(first.url, '/api/v1/enrol', { image: fixture('faces/london_030/1.jpg'), metadata: { subject_id: 'p-30' } }));
  expect(enrolled.status).toBe(200);
  await first.close();
  try {
    // as if the templates had been made by an earlier model bundle
    const db = new Database(join(first.dataDir, 'gallery.sqlite'));
    db.prepare("UPDATE templates SET model_id = 'arcface-w600k-r50'").run();
    db.close();
    await expect(startServer(first.config, quietLogger)).rejects.toThrow(/templates made by arcface-w600k-r50, but the model bundle's recognition model is faceplugin-feature-512/);
  } finally {
    rmSync(first.dataDir, { recursive: true, force: true });
  }
});
