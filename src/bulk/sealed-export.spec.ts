import { describe, expect, it } from 'vitest';
import { openExport, readExportHeader, sealExport, type ExportRecord } from './sealed-export.ts';

const record = (subject: string): ExportRecord => ({
  subject_id: subject,
  source: 'enrol',
  quality: 0.9,
  model_id: 'model-a',
  created_at: '2026-11-24T10:00:00.000Z',
  template: Buffer.from(new Float32Array([0.6, 0.8]).buffer).toString('base64'),
});

describe('sealed export', () => {
  const sealed = sealExport('s3cret passphrase', { modelId: 'model-a', partition: 'gate' }, [record('alice'), record('bob')]);

  it('opens with the passphrase and hides the records', () => {
    expect(readExportHeader(sealed)).toMatchObject({ format: 'faceserver-templates/1', model_id: 'model-a', partition: 'gate', records: 2 });
    expect(sealed.includes(Buffer.from('alice'))).toBe(false);
    expect(openExport('s3cret passphrase', sealed).records).toEqual([record('alice'), record('bob')]);
  });

  it('refuses a wrong passphrase, an edited header and an edited body alike', () => {
    expect(() => openExport('S3cret passphrase', sealed)).toThrow('wrong passphrase, or the file was altered');
    const headerEnd = sealed.indexOf(0x0a);
    const header = JSON.parse(sealed.subarray(0, headerEnd).toString('utf8'));
    const relabelled = Buffer.concat([Buffer.from(JSON.stringify({ ...header, model_id: 'model-b' })), sealed.subarray(headerEnd)]);
    expect(() => openExport('s3cret passphrase', relabelled)).toThrow('wrong passphrase, or the file was altered');
    const flipped = Buffer.from(sealed);
    flipped[headerEnd + 5] ^= 1;
    expect(() => openExport('s3cret passphrase', flipped)).toThrow('wrong passphrase, or the file was altered');
  });

  it('is not fooled by another file', () => {
    expect(() => readExportHeader(Buffer.from('{"format":"other"}\n...'))).toThrow('not a faceserver template export');
    expect(() => sealExport('', { modelId: 'm', partition: 'p' }, [])).toThrow('empty passphrase');
  });
});
