import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Template } from '../pipeline/types.ts';
import { TemplateCipher } from '../security/template-cipher.ts';
import type { Gallery } from './gallery.ts';
import { openGallery, rotateTemplateKey } from './index.ts';
import { DIMENSION, filesUnder, openTestGallery, randomUnitVector, rebuiltPartitions, recordingLogger, specCipher, temporaryDataDir } from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

let dataDir: string;
let removeDataDir: () => void;
let template: Template;
let open: Gallery[];

async function reopen(cipher = specCipher()) {
  const { logger, entries } = recordingLogger();
  const gallery = await openGallery({ dataDir, flushDelayMs: 60_000, logger, cipher, dimension: DIMENSION });
  open.push(gallery);
  return { gallery, entries };
}

/** Any 16 consecutive bytes of the template's float32 encoding, anywhere in the file. */
function leaksTemplate(bytes: Buffer, vector: Template): boolean {
  const plain = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  for (let offset = 0; offset + 16 <= plain.length; offset += 16) {
    if (bytes.includes(plain.subarray(offset, offset + 16))) return true;
  }
  return false;
}

function filesLeakingTemplate(vector: Template): string[] {
  return filesUnder(dataDir).filter((file) => !file.endsWith('indexes') && leaksTemplate(readFileSync(join(dataDir, file)), vector));
}

beforeEach(async () => {
  ({ dataDir, remove: removeDataDir } = temporaryDataDir());
  open = [];
  const random = seededRandom(31);
  template = randomUnitVector(random);
  const gallery = await openTestGallery(dataDir, recordingLogger().logger);
  await gallery.enrol('alpha', 'known', { template, modelId: 'test-model', quality: 1, source: 'enrol' });
  for (let i = 0; i < 20; i++) await gallery.enrol(i % 2 ? 'alpha' : 'beta', `other-${i}`, { template: randomUnitVector(random), modelId: 'test-model', quality: 1, source: 'enrol' });
  await gallery.close();
});

afterEach(async () => {
  for (const gallery of open) await gallery.close();
  removeDataDir();
});

describe('templates at rest', () => {
  it('the detector finds the template in plaintext bytes (so its silence below means something)', async () => {
    const plain = Buffer.from(template.buffer, template.byteOffset, template.byteLength);
    expect(leaksTemplate(Buffer.concat([Buffer.alloc(100, 1), plain.subarray(200, 240), Buffer.alloc(100, 2)]), template)).toBe(true);
  });

  it('no file of the data directory holds the template bytes, while SQLite and the saved index still answer', async () => {
    expect(filesUnder(dataDir)).toEqual(expect.arrayContaining(['gallery.sqlite', join('indexes', 'alpha.faiss'), join('indexes', 'beta.faiss')]));
    expect(filesLeakingTemplate(template)).toEqual([]);

    const { gallery, entries } = await reopen();
    expect(rebuiltPartitions(entries)).toEqual([]);
    expect(await gallery.subjectTemplates('alpha', 'known')).toEqual([{ template, source: 'enrol' }]);
    expect((await gallery.search('alpha', template, 1))[0]).toMatchObject({ subjectId: 'known' });
  });

  it('a ciphertext moved to another row does not open', async () => {
    const db = new Database(join(dataDir, 'gallery.sqlite'));
    const rows = db.prepare<[], { id: number; vector: Buffer }>('SELECT id, vector FROM templates ORDER BY id LIMIT 2').all();
    const move = db.prepare('UPDATE templates SET vector = ? WHERE id = ?');
    move.run(rows[0].vector, rows[1].id);
    move.run(rows[1].vector, rows[0].id);
    db.close();
    const { gallery } = await reopen();
    await expect(gallery.subjectTemplates('alpha', 'known')).rejects.toThrow(/does not open/);
  });

  it('refuses to open with another key', async () => {
    await expect(reopen(TemplateCipher.generate())).rejects.toThrow(/not the one the gallery is encrypted with/);
  });

  it('an index file presented as another generation does not open and is rebuilt', async () => {
    // Sidecar and SQLite agree on everything but the sealed file was written for the previous generation.
    const sidecarPath = join(dataDir, 'indexes', 'alpha.json');
    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
    writeFileSync(sidecarPath, JSON.stringify({ ...sidecar, generation: sidecar.generation + 1 }));
    const db = new Database(join(dataDir, 'gallery.sqlite'));
    db.exec("UPDATE partitions SET generation = generation + 1 WHERE name = 'alpha'");
    db.close();
    const { gallery, entries } = await reopen();
    expect(entries.find((entry) => entry.partition === 'alpha')?.reason).toMatch(/does not open/);
    expect((await gallery.search('alpha', template, 1))[0]).toMatchObject({ subjectId: 'known' });
  });

  it('encrypts templates stored in plaintext before encryption existed', async () => {
    const db = new Database(join(dataDir, 'gallery.sqlite'));
    db.prepare("UPDATE templates SET vector = ? WHERE id = 1").run(Buffer.from(template.buffer, template.byteOffset, template.byteLength));
    // A gallery from before encryption has no record that its rows were sealed.
    db.prepare("DELETE FROM gallery_meta WHERE name = 'all_templates_sealed_at'").run();
    db.close();
    expect(filesLeakingTemplate(template)).not.toEqual([]);

    const { gallery, entries } = await reopen();
    expect(entries.find((entry) => entry.msg.startsWith('encrypted templates stored before'))).toMatchObject({ templates: 1 });
    expect(await gallery.subjectTemplates('alpha', 'known')).toEqual([{ template, source: 'enrol' }]);
    await gallery.close();
    expect(filesLeakingTemplate(template)).toEqual([]);
  });

  it('looks for plaintext rows once: a gallery records that every row is sealed', async () => {
    const sealedAt = () => {
      const db = new Database(join(dataDir, 'gallery.sqlite'), { readonly: true });
      try {
        return (db.prepare("SELECT value FROM gallery_meta WHERE name = 'all_templates_sealed_at'").get() as { value: string } | undefined)?.value;
      } finally {
        db.close();
      }
    };
    const recorded = sealedAt();
    expect(Date.parse(recorded ?? '')).not.toBeNaN();
    await (await reopen()).gallery.close();
    expect(sealedAt()).toBe(recorded);
  });
});

describe('key rotation', () => {
  it('re-encrypts every template and index under the new key; the old key no longer opens the gallery', async () => {
    const next = TemplateCipher.generate();
    const before = readFileSync(join(dataDir, 'indexes', 'alpha.faiss'));
    expect(await rotateTemplateKey({ dataDir, current: specCipher(), next, logger: recordingLogger().logger, dimension: DIMENSION })).toBe(21);
    expect(readFileSync(join(dataDir, 'indexes', 'alpha.faiss')).equals(before)).toBe(false);
    expect(filesLeakingTemplate(template)).toEqual([]);
    expect(existsSync(join(dataDir, 'gallery.sqlite-wal'))).toBe(false);

    await expect(reopen()).rejects.toThrow(/not the one/);
    const { gallery, entries } = await reopen(next);
    expect(rebuiltPartitions(entries)).toEqual([]);
    expect(await gallery.subjectTemplates('alpha', 'known')).toEqual([{ template, source: 'enrol' }]);
    expect((await gallery.search('alpha', template, 1))[0]).toMatchObject({ subjectId: 'known' });
  });

  it('a process still holding the old key cannot add templates sealed under it', async () => {
    const { gallery } = await reopen();
    await rotateTemplateKey({ dataDir, current: specCipher(), next: TemplateCipher.generate(), logger: recordingLogger().logger, dimension: DIMENSION });
    await expect(gallery.enrol('alpha', 'late', { template, modelId: 'test-model', quality: 1, source: 'enrol' })).rejects.toThrow(/re-encrypted under template key/);
  });
});
