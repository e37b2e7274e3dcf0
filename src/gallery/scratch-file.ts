import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** RAM-backed where Linux has it: plaintext index bytes pass through a file there, never the data disk. */
const RAM_SCRATCH = '/dev/shm';

/**
 * faiss-node reads and writes indexes only through paths (its toBuffer/fromBuffer never free their
 * copy), so plaintext index bytes pass through a file in a private directory that is removed at
 * once: in RAM when /dev/shm has room (a full one would abort FAISS mid-write), else the temp dir.
 */
export function withScratchFile<T>(bytes: number, use: (path: string) => T): T {
  const directory = mkdtempSync(join(hasRoom(RAM_SCRATCH, 2 * bytes + (1 << 20)) ? RAM_SCRATCH : tmpdir(), 'faceserver-index-'));
  try {
    return use(join(directory, 'index.faiss'));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function hasRoom(directory: string, bytes: number): boolean {
  try {
    const { bavail, bsize } = statfsSync(directory);
    return bavail * bsize >= bytes;
  } catch {
    return false;
  }
}
