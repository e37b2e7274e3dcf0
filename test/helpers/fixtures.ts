import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/config.ts';

/** The shared fixtures sit beside the repository; they are read in place, never copied in. */
export const FIXTURES_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures');

export function fixture(relativePath: string): Buffer {
  return readFileSync(resolve(FIXTURES_DIR, relativePath));
}
