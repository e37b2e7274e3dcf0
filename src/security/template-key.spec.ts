import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/config.ts';
import { recordingLogger } from '../../test/helpers/gallery-support.ts';
import { TemplateCipher } from './template-cipher.ts';
import { loadTemplateCipher } from './template-key.ts';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'template-key-spec-'));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('template key', () => {
  it('first start generates <dataDir>/template.key, owner-only, warns once, and reuses it after', () => {
    const first = recordingLogger();
    const generated = loadTemplateCipher({}, dataDir, first.logger);
    expect(statSync(join(dataDir, 'template.key')).mode & 0o777).toBe(0o600);
    expect(first.entries.map((entry) => entry.msg)).toEqual([expect.stringMatching(/generated a template encryption key beside the data/)]);

    const second = recordingLogger();
    expect(loadTemplateCipher({}, dataDir, second.logger).keyId).toBe(generated.keyId);
    expect(second.entries).toEqual([]);
  });

  it('TEMPLATE_KEY wins, and creates no file', () => {
    const key = TemplateCipher.generate();
    expect(loadTemplateCipher({ templateKey: key.exportKey() }, dataDir, recordingLogger().logger).keyId).toBe(key.keyId);
    expect(statSync(join(dataDir, 'template.key'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('TEMPLATE_KEY_FILE is read; a missing or malformed one is an error, not a fresh key', () => {
    const key = TemplateCipher.generate();
    const file = join(dataDir, 'elsewhere.key');
    expect(() => loadTemplateCipher({ templateKeyFile: file }, dataDir, recordingLogger().logger)).toThrow(/does not exist/);
    writeFileSync(file, `${key.exportKey()}\n`, { mode: 0o600 });
    expect(loadTemplateCipher({ templateKeyFile: file }, dataDir, recordingLogger().logger).keyId).toBe(key.keyId);
    writeFileSync(file, 'c2hvcnQ=');
    expect(() => loadTemplateCipher({ templateKeyFile: file }, dataDir, recordingLogger().logger)).toThrow(/32 bytes/);
  });

  it('a sealed blob opens only with the same key and the same context', () => {
    const cipher = TemplateCipher.generate();
    const sealed = cipher.seal(Buffer.from('template bytes'), 'row 1');
    expect(cipher.open(sealed, 'row 1').toString()).toBe('template bytes');
    expect(() => cipher.open(sealed, 'row 2')).toThrow(/does not open/);
    expect(() => TemplateCipher.generate().open(sealed, 'row 1')).toThrow(/does not open/);
    expect(cipher.seal(Buffer.from('template bytes'), 'row 1').equals(sealed)).toBe(false);
  });
});

describe('configuration', () => {
  it('reads AUTH_REQUIRED, TEMPLATE_KEY and TEMPLATE_KEY_FILE from the environment', () => {
    const key = TemplateCipher.generate().exportKey();
    const config = loadConfig({ AUTH_REQUIRED: 'false', TEMPLATE_KEY: key, TEMPLATE_KEY_FILE: 'keys/template.key' });
    expect(config.auth).toEqual({ required: false, publicHealth: true });
    expect(config.encryption.templateKey).toBe(key);
    expect(config.encryption.templateKeyFile).toMatch(/\/keys\/template\.key$/);
    expect(loadConfig({}).auth.required).toBeUndefined();
  });

  it('refuses a TEMPLATE_KEY that is not 32 bytes of base64 and an AUTH_REQUIRED that is not a boolean', () => {
    expect(() => loadConfig({ TEMPLATE_KEY: Buffer.alloc(16).toString('base64') })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_REQUIRED: 'yes' })).toThrow(/AUTH_REQUIRED/);
  });
});
