import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const FORMAT_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

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
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_VERSION), nonce, body, cipher.getAuthTag()]);
  }

  open(sealed: Uint8Array, context: string): Buffer {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT_VERSION) {
      throw new Error(`not a sealed blob (${sealed.length} bytes)`);
    }
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Error(`sealed blob does not open with template key ${this.keyId} for ${context}: wrong key, or altered or moved data`);
    }
  }
}
