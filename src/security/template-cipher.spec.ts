import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TemplateCipher } from './template-cipher.ts';

let directory: string;
const cipher = TemplateCipher.generate();
const CONTEXT = 'spec-context';

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'template-cipher-spec-'));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const path = (name: string) => join(directory, name);

describe('sealing files in chunks', () => {
  // 8 MiB chunks: these sizes cover empty, sub-chunk, exact multiples and a ragged tail.
  it.each([0, 1, 8 << 20, (8 << 20) * 2 + 12_345])('%d bytes round-trip, and open() reads what sealToFile() wrote', (bytes) => {
    const plaintext = randomBytes(bytes);
    const sealedBytes = cipher.sealToFile(plaintext, path('sealed'), CONTEXT);
    expect(statSync(path('sealed')).size).toBe(sealedBytes);
    expect(sealedBytes).toBe(bytes + 29);
    expect(cipher.open(readFileSync(path('sealed')), CONTEXT).equals(plaintext)).toBe(true);
    expect(cipher.openFromFile(path('sealed'), CONTEXT).equals(plaintext)).toBe(true);
  });

  it('openFromFile() reads what seal() wrote', () => {
    const plaintext = randomBytes(100_000);
    writeFileSync(path('sealed'), cipher.seal(plaintext, CONTEXT));
    expect(cipher.openFromFile(path('sealed'), CONTEXT).equals(plaintext)).toBe(true);
  });

  it('refuses a flipped byte, another context, another key, a truncated or a foreign file', () => {
    cipher.sealToFile(randomBytes((8 << 20) + 1000), path('sealed'), CONTEXT);
    const sealed = readFileSync(path('sealed'));
    const refuse = (bytes: Buffer, context = CONTEXT, key = cipher) => {
      writeFileSync(path('candidate'), bytes);
      return () => key.openFromFile(path('candidate'), context);
    };

    const flipped = Buffer.from(sealed);
    flipped[5 << 20] ^= 1;
    expect(refuse(flipped)).toThrow(/does not open/);
    expect(refuse(sealed, 'other-context')).toThrow(/does not open/);
    expect(refuse(sealed, CONTEXT, TemplateCipher.generate())).toThrow(/does not open/);
    expect(refuse(sealed.subarray(0, sealed.length - 1))).toThrow(/does not open/);
    expect(refuse(Buffer.alloc(10))).toThrow(/not a sealed blob/);
    expect(refuse(Buffer.concat([Buffer.of(7), sealed.subarray(1)]))).toThrow(/not a sealed file/);
  });
});
