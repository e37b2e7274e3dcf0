import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatorOf } from '../../src/runtime/allocator.ts';
import { scratchDataDir, startChildServer, startScriptEnv, type ChildServer } from '../helpers/child-server.ts';
import { postMultipart } from '../helpers/test-server.ts';
import { faceAt } from './support.ts';

// Under glibc's malloc the server's resident set grows for as long as traffic lasts (benchmarks/soak.ts);
// `npm start` preloads jemalloc. The child server is started with the environment of package.json's
// start script, so this checks the configuration production gets, in a real server process.

let scratch: ReturnType<typeof scratchDataDir>;
let server: ChildServer;

beforeAll(async () => {
  scratch = scratchDataDir();
  server = await startChildServer({ dataDir: scratch.dataDir });
});

afterAll(async () => {
  await server?.stop();
  scratch?.remove();
});

describe('memory allocator', () => {
  it('npm start preloads jemalloc', () => {
    expect(startScriptEnv()).toMatchObject({ LD_PRELOAD: 'libjemalloc.so.2' });
  });

  it('the server process, pipeline workers included, allocates through jemalloc', async () => {
    // the workers are threads of this process: an image through the pipeline runs their native code on it
    const response = await postMultipart(server.url, '/api/v1/search', { image: faceAt(0), metadata: { top_k: 1 } });
    expect(response.status).toBe(200);
    expect(allocatorOf(server.pid)).toBe('jemalloc');
    expect(server.output()).toMatch(/"allocator":"jemalloc","msg":"memory allocator"/);
  });

  it('a server without the preload says so at start', async () => {
    const plain = scratchDataDir();
    const glibc = await startChildServer({ dataDir: plain.dataDir, env: { LD_PRELOAD: '' } });
    try {
      expect(allocatorOf(glibc.pid)).toBe('glibc');
      expect(glibc.output()).toMatch(/"level":40,.*"allocator":"glibc".*memory allocator is not jemalloc/);
    } finally {
      await glibc.stop();
      plain.remove();
    }
  });
});
