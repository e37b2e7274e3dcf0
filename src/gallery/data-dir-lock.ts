import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_FILE = 'server.lock';

/** The pid of a live process other than this one that holds the data directory, if any. */
export function lockHolder(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dataDir, LOCK_FILE), 'utf8'), 10);
  } catch {
    return undefined;
  }
  // A lock left by a killed server names a dead pid; after a container restart it may name our own.
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: the process exists but belongs to another user
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/**
 * Marks the data directory as served by this process. Tools that must not run beside a server (the
 * template-key rotation, which re-encrypts every template under a key the server does not have) check
 * it, and a second server on the same directory is refused: two processes saving one FAISS index
 * would each overwrite the other's.
 */
export class DataDirLock {
  private constructor(private readonly path: string) {}

  static acquire(dataDir: string): DataDirLock {
    const holder = lockHolder(dataDir);
    if (holder !== undefined) throw new Error(`another server (pid ${holder}) is running on ${dataDir}; stop it first, or give this one its own DATA_DIR`);
    const path = join(dataDir, LOCK_FILE);
    // A stale lock (its process is gone) is replaced.
    const fd = openSync(path, 'w', 0o600);
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return new DataDirLock(path);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}

/** For tools: refuses to go on while a server runs on the data directory. */
export function assertNoServerRunning(dataDir: string, what: string): void {
  const holder = lockHolder(dataDir);
  if (holder !== undefined) throw new Error(`a server (pid ${holder}) is running on ${dataDir}: stop it before ${what}`);
}
