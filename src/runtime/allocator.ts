import { readFileSync } from 'node:fs';

/**
 * The C allocator behind this process's native memory: ONNX Runtime, libvips, SQLite and FAISS all
 * allocate through it. With glibc's malloc the resident set of a busy server grows without levelling
 * off — each of its threads (pipeline workers, libvips and libuv pools) gets its own arena, and freed
 * blocks stay fragmented there — so `npm start` preloads jemalloc (benchmarks/soak.ts measures both).
 */
export type Allocator = 'jemalloc' | 'glibc' | 'unknown';

/** The environment that makes the server run on jemalloc; `npm start` sets the same (package.json). */
export const JEMALLOC_PRELOAD = 'libjemalloc.so.2';

/** Which allocator a process runs on, from the libraries mapped into it (Linux only: else `unknown`). */
export function allocatorOf(pid: number | 'self' = 'self'): Allocator {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return 'unknown';
  }
  if (/\/libjemalloc\.so/.test(maps)) return 'jemalloc';
  return /\/libc\.so\.6/.test(maps) ? 'glibc' : 'unknown';
}
