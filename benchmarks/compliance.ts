// Photo-compliance check latency: the work one photo check does in a pipeline worker (decode, detect,
// mesh, align, every measure), warm, one request at a time, on 1-megapixel JPEGs (London-set photos
// resized to 1000 × 1000), plus the HTTP round trip through a real server with its 2 workers.
//   npm run bench:compliance [-- --runs N]
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../src/config/config.ts';
import { measurePhoto } from '../src/compliance/measures/index.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { postMultipart, startTestServer } from '../test/helpers/test-server.ts';
import { fixtureImages, latency, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
const runs = Number(args.runs);
const TARGET_MS = 300;

const photos = await Promise.all(
  fixtureImages('faces')
    .filter((f) => /london_0(0|1)\d\/1\.jpg$/.test(f.name))
    .slice(0, 10)
    .map(async (f) => new Uint8Array(await sharp(f.bytes).resize(1000, 1000).jpeg({ quality: 92 }).toBuffer())),
);

const config = loadConfig();
const pipeline = await FacePipeline.create(config.modelsDir, config.pipeline);
const stages: Record<string, number[]> = {};
const check = async (bytes: Uint8Array) => {
  const measured = measurePhoto(await pipeline.examine(bytes));
  for (const [stage, ms] of Object.entries(measured.timings)) (stages[stage] ??= []).push(ms);
  return measured;
};
for (const bytes of photos) await check(bytes); // warm-up: ONNX arenas, JIT
for (const key of Object.keys(stages)) delete stages[key];
const inThread: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await check(photos[i % photos.length]);
  inThread.push(performance.now() - t0);
}

// over HTTP, one client at a time: what a caller waits for
const server = await startTestServer();
const overHttp: number[] = [];
try {
  for (const bytes of photos) await postMultipart(server.url, '/api/v1/photo/check', { image: Buffer.from(bytes) });
  for (let i = 0; i < Math.min(runs, 100); i++) {
    const t0 = performance.now();
    const response = await postMultipart(server.url, '/api/v1/photo/check', { image: Buffer.from(photos[i % photos.length]) });
    if (response.status !== 200) throw new Error(`photo check answered ${response.status}`);
    await response.json();
    overHttp.push(performance.now() - t0);
  }
} finally {
  await server.stop();
}

const results = {
  command: `npm run bench:compliance -- --runs ${runs}`,
  image: '10 London-set photos (faces/london_00*/1.jpg, london_01*/1.jpg) resized to 1000 × 1000, JPEG q92',
  target: { p50_ms: TARGET_MS, note: 'a 1-megapixel photo checked in ≤ 300 ms on 2 cores' },
  in_worker: latency(inThread),
  stages: Object.fromEntries(Object.entries(stages).map(([stage, values]) => [stage, latency(values)])),
  http_one_client: latency(overHttp),
};
console.table({ in_worker: results.in_worker, http_one_client: results.http_one_client, ...results.stages });
writeResults('compliance-bench', results);
