// faiss-node 0.5.1 as published never frees the copy of each search's query; setup compiles it with that
// fixed (scripts/setup.mjs, FAISS_NODE_LEAK_FIXES). The published build grows ~40 MiB in the searches
// below: point FAISS_NODE_BINDING at an unpatched faiss-node.node to see the test fail.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const binding =
  process.env.FAISS_NODE_BINDING ??
  join(dirname(createRequire(import.meta.url).resolve('faiss-node/package.json')), 'build', 'Release', 'faiss-node.node');

/**
 * Runs `repeat` in a fresh Node process after running it `warmUp` times, and returns how much the resident
 * set grew over `times` more runs, in MiB. Garbage is collected and finalizers run before each reading,
 * so objects waiting for the collector are not counted.
 */
function residentGrowthMiB(repeat: string, warmUp: number, times: number): number {
  const script = `
    const { IndexFlatIP } = require(${JSON.stringify(binding)});
    const rss = () => Number(require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\\s+(\\d+)/)[1]) / 1024;
    const settled = () => new Promise((done) => { gc(); setTimeout(() => { gc(); setTimeout(done, 50); }, 50); });
    const index = new IndexFlatIP(512);
    index.add(Array.from({ length: 100 * 512 }, (_, i) => Math.sin(i)));
    const probe = Array.from({ length: 512 }, (_, i) => Math.cos(i));
    const run = () => { ${repeat} };
    (async () => {
      for (let i = 0; i < ${warmUp}; i++) run();
      await settled();
      const before = rss();
      for (let i = 0; i < ${times}; i++) run();
      await settled();
      process.stdout.write(String(rss() - before));
    })();
  `;
  return Number(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: '' } }));
}

describe('faiss-node as built by setup', () => {
  it('holds its resident set through 20,000 searches of a 512-d probe', () => {
    expect(residentGrowthMiB('index.search(probe, 10);', 2000, 20_000)).toBeLessThan(12);
  }, 60_000);
});
