import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/**
 * A gallery export on disk: one JSON header line in clear (format, model id, partition, count and the
 * key-derivation parameters, so an import can refuse another model's file before asking anything else),
 * then the AES-256-GCM ciphertext of the records, then the 16-byte tag. The header line is the cipher's
 * associated data: changing the model id or the count breaks the tag.
 */
export const EXPORT_FORMAT = 'faceserver-templates/1';

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  model_id: string;
  partition: string;
  records: number;
  created_at: string;
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  cipher: { name: 'aes-256-gcm'; iv: string };
}

export interface ExportRecord {
  subject_id: string;
  source: string;
  quality: number;
  model_id: string;
  created_at: string;
  /** little-endian float32 template, base64 */
  template: string;
}

// scrypt at N=2^15, r=8 (32 MiB, ~0.1 s): a passphrase guess costs the attacker as much as one unlock
const SCRYPT = { N: 1 << 15, r: 8, p: 1 };
const TAG_BYTES = 16;

function deriveKey(passphrase: string, kdf: ExportHeader['kdf']): Buffer {
  return scryptSync(passphrase.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 128 * kdf.N * kdf.r * 2 });
}

export function sealExport(passphrase: string, meta: { modelId: string; partition: string }, records: ExportRecord[]): Buffer {
  if (passphrase.length === 0) throw new Error('an empty passphrase seals nothing');
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    model_id: meta.modelId,
    partition: meta.partition,
    records: records.length,
    created_at: new Date().toISOString(),
    kdf: { name: 'scrypt', salt: randomBytes(16).toString('base64'), ...SCRYPT },
    cipher: { name: 'aes-256-gcm', iv: randomBytes(12).toString('base64') },
  };
  const headerLine = Buffer.from(`${JSON.stringify(header)}\n`);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, header.kdf), Buffer.from(header.cipher.iv, 'base64'));
  cipher.setAAD(headerLine);
  const body = Buffer.concat([cipher.update(records.map((record) => `${JSON.stringify(record)}\n`).join('')), cipher.final()]);
  return Buffer.concat([headerLine, body, cipher.getAuthTag()]);
}

export function readExportHeader(file: Buffer): ExportHeader {
  const end = file.indexOf(0x0a);
  let header: ExportHeader | undefined;
  try {
    header = end > 0 ? (JSON.parse(file.subarray(0, end).toString('utf8')) as ExportHeader) : undefined;
  } catch {
    header = undefined;
  }
  if (header?.format !== EXPORT_FORMAT) throw new Error(`not a faceserver template export (format ${EXPORT_FORMAT})`);
  return header;
}

/** Opens the records; a wrong passphrase and an altered file are the same failed tag. */
export function openExport(passphrase: string, file: Buffer): { header: ExportHeader; records: ExportRecord[] } {
  const header = readExportHeader(file);
  const headerEnd = file.indexOf(0x0a) + 1;
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, header.kdf), Buffer.from(header.cipher.iv, 'base64'));
  decipher.setAAD(file.subarray(0, headerEnd));
  decipher.setAuthTag(file.subarray(file.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(file.subarray(headerEnd, file.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error('the export does not open: wrong passphrase, or the file was altered');
  }
  const records = plain
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ExportRecord);
  if (records.length !== header.records) throw new Error(`the export holds ${records.length} records, its header says ${header.records}`);
  return { header, records };
}
