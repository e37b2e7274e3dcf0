import { createCipheriv, createDecipheriv, createHmac, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';

const FORMAT_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** Bytes per read while sealing or opening a file: large enough to amortise syscalls, small enough to stay in cache. */
const FILE_CHUNK_BYTES = 8 << 20;

/**
 * AES-256-GCM for templates and index files. A sealed blob is
 * `version (1) | nonce (12) | ciphertext | tag (16)`. The caller's context string is the AAD: it names
 * what the blob belongs to (partition, subject, row), so a blob copied to another row fails to open.
 */
export class TemplateCipher {
  /** Names the key without revealing it: stored beside the data to detect a wrong or rotated key. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`template key must be ${KEY_BYTES} bytes, got ${key.length}`);
    this.keyId = createHmac('sha256', key).update('faceserver template key id').digest('hex').slice(0, 16);
  }

  static generate(): TemplateCipher {
    return new TemplateCipher(randomBytes(KEY_BYTES));
  }

  /** base64 of the key, for writing it to a key file or printing it once */
  exportKey(): string {
    return this.key.toString('base64');
  }

  seal(plaintext: Uint8Array, context: string): Buffer {
    const { header, cipher } = this.encryptor(context);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  open(sealed: Uint8Array, context: string): Buffer {
    assertSealedLength(sealed.length);
    if (sealed[0] !== FORMAT_VERSION) throw new Error(`not a sealed blob (format ${sealed[0]})`);
    const decipher = this.decryptor(sealed.subarray(1, 1 + NONCE_BYTES), sealed.subarray(sealed.length - TAG_BYTES), context);
    return this.openedOrThrow(context, () => Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]));
  }

  /**
   * seal() straight into a new file (mode 0600), synced: the sealed bytes never sit in memory beside the
   * plaintext, which for a search index shard is a gigabyte. Returns the sealed size.
   */
  sealToFile(plaintext: Uint8Array, path: string, context: string): number {
    const { header, cipher } = this.encryptor(context);
    const fd = openSync(path, 'w', 0o600);
    try {
      let written = writeAll(fd, header);
      for (let from = 0; from < plaintext.length; from += FILE_CHUNK_BYTES) {
        written += writeAll(fd, cipher.update(plaintext.subarray(from, Math.min(plaintext.length, from + FILE_CHUNK_BYTES))));
      }
      written += writeAll(fd, Buffer.concat([cipher.final(), cipher.getAuthTag()]));
      fsyncSync(fd);
      return written;
    } finally {
      closeSync(fd);
    }
  }

  /** open() of a file sealToFile() or seal() wrote, decrypted chunk by chunk into one buffer of the plaintext's size. */
  openFromFile(path: string, context: string): Buffer {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      assertSealedLength(size);
      const header = Buffer.alloc(1 + NONCE_BYTES);
      const tag = Buffer.alloc(TAG_BYTES);
      readSync(fd, header, 0, header.length, 0);
      readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES);
      if (header[0] !== FORMAT_VERSION) throw new Error(`not a sealed file (format ${header[0]})`);
      const decipher = this.decryptor(header.subarray(1), tag, context);
      const plaintext = Buffer.allocUnsafe(size - header.length - TAG_BYTES);
      let filled = 0;
      forEachChunk(fd, header.length, size - TAG_BYTES, (chunk) => {
        filled += decipher.update(chunk).copy(plaintext, filled);
      });
      // Only final() checks the tag: until it returns, the buffer holds unauthenticated bytes.
      this.openedOrThrow(context, () => decipher.final());
      return plaintext;
    } finally {
      closeSync(fd);
    }
  }

  /** A fresh cipher and the header (format version, nonce) that goes in front of its output. */
  private encryptor(context: string): { header: Buffer; cipher: CipherGCM } {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    return { header: Buffer.concat([Buffer.of(FORMAT_VERSION), nonce]), cipher };
  }

  private decryptor(nonce: Uint8Array, tag: Uint8Array, context: string): DecipherGCM {
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return decipher;
  }

  private openedOrThrow<T>(context: string, decrypt: () => T): T {
    try {
      return decrypt();
    } catch {
      throw new Error(`sealed blob does not open with template key ${this.keyId} for ${context}: wrong key, or altered or moved data`);
    }
  }
}

function assertSealedLength(bytes: number): void {
  if (bytes < 1 + NONCE_BYTES + TAG_BYTES) throw new Error(`not a sealed blob (${bytes} bytes)`);
}

/** writeSync until every byte is written (one call may write fewer). */
function writeAll(fd: number, bytes: Uint8Array): number {
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
  return bytes.length;
}

/** Calls `use` with successive chunks of bytes [from, to) of an open file; each chunk is valid only during the call. */
function forEachChunk(fd: number, from: number, to: number, use: (chunk: Buffer) => void): void {
  const buffer = Buffer.allocUnsafe(Math.min(FILE_CHUNK_BYTES, Math.max(to - from, 1)));
  for (let position = from; position < to; ) {
    const read = readSync(fd, buffer, 0, Math.min(buffer.length, to - position), position);
    if (read === 0) throw new Error(`file ended at byte ${position}, expected ${to}`);
    use(buffer.subarray(0, read));
    position += read;
  }
}
