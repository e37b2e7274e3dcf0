import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { KEY_BYTES, TemplateCipher } from './template-cipher.ts';

export interface TemplateKeySettings {
  /** base64, validated by the config schema */
  templateKey?: string;
  templateKeyFile?: string;
}

export type TemplateKeySource = { kind: 'env' } | { kind: 'file'; path: string };

/** Where the key comes from: TEMPLATE_KEY, TEMPLATE_KEY_FILE, else `<dataDir>/template.key`. */
export function templateKeySource(settings: TemplateKeySettings, dataDir: string): TemplateKeySource {
  if (settings.templateKey !== undefined) return { kind: 'env' };
  return { kind: 'file', path: settings.templateKeyFile ?? join(dataDir, 'template.key') };
}

/**
 * The cipher for templates and index files. Only the default key file is created when missing: a
 * configured TEMPLATE_KEY_FILE that is absent is an error, since a fresh key would not open the data.
 */
export function loadTemplateCipher(settings: TemplateKeySettings, dataDir: string, logger: Logger): TemplateCipher {
  if (settings.templateKey !== undefined) return new TemplateCipher(Buffer.from(settings.templateKey, 'base64'));
  const source = templateKeySource(settings, dataDir) as { kind: 'file'; path: string };
  if (!existsSync(source.path)) {
    if (settings.templateKeyFile !== undefined) throw new Error(`TEMPLATE_KEY_FILE ${source.path} does not exist`);
    const cipher = TemplateCipher.generate();
    writeKeyFile(source.path, cipher, 'wx');
    logger.warn(
      { key_file: source.path },
      'generated a template encryption key beside the data: anyone who copies the data directory can decrypt the templates; set TEMPLATE_KEY or TEMPLATE_KEY_FILE to keep the key elsewhere',
    );
    return cipher;
  }
  if ((statSync(source.path).mode & 0o077) !== 0) logger.warn({ key_file: source.path }, 'template key file is readable by other users; chmod 600 it');
  return readKeyFile(source.path);
}

export function readKeyFile(path: string): TemplateCipher {
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`template key file ${path} must hold base64 of ${KEY_BYTES} bytes`);
  return new TemplateCipher(key);
}

/** Owner-only, synced: a key lost in a crash would make every template unreadable. */
export function writeKeyFile(path: string, cipher: TemplateCipher, flags: 'wx' | 'w'): void {
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, `${cipher.exportKey()}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
