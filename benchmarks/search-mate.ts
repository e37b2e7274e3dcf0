// 1:N search judged by MATE recall: is the probe's own subject ranked first? One partition of synthetic
// 512-d unit templates (one per subject) split across worker-thread shards (ShardedIndex over IvfIndex),
// plus the real fixture faces planted in it. Synthetic probes are an enrolled template mixed with noise to
// a cosine drawn from the genuine-score distribution the calibration measured; real probes are the other
// photos of each planted person. Reports rank-1 mate recall of each probes setting relative to exact
// search (every list scanned), latency one query at a time, build time, memory, the event-loop delay
// (a /health endpoint in this process) while searches stream, and exact-scan time with 1 and 2 shards.
//   npm run bench:search-mate [-- --size 100000 --shards 2 --lists 224 --probes 4,8,16,32 --queries 1000 --name search-mate-100k]
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError } from '../src/errors.ts';
import type { IvfEntry } from '../src/gallery/ivf-index.ts';
import { ShardedIndex } from '../src/gallery/search/sharded-index.ts';
import { pipelineConfigSchema } from '../src/pipeline/config.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { fixtureImages, identityOf, latency, MODELS_DIR, RESULTS_DIR, round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '100000' },
    shards: { type: 'string', default: '2' },
    /** lists per shard; default √(templates per shard) */
    lists: { type: 'string' },
    probes: { type: 'string', default: '4,8,16,32' },
    queries: { type: 'string', default: '1000' },
    /** up to this size, also build one shard of the same data to compare exact-scan times (doubles memory) */
    'compare-up-to': { type: 'string', default: '200000' },
    /** random: isotropic unit vectors; shaped: impostor cosines spread as the calibration measured */
    gallery: { type: 'string', default: 'random' },
    name: { type: 'string', default: 'search-mate' },
  },
});
const DIMENSION = 512;
const size = Number(args.size);
const shardCount = Number(args.shards);
const listsPerShard = Number(args.lists ?? Math.round(Math.sqrt(size / shardCount)));
const probeSettings = args.probes.split(',').map(Number);
const queryCount = Number(args.queries);
const GOALS = { p50Ms: 5, p99Ms: 20, relativeMateRecall: 0.999, healthP99Ms: 20 };

/** xorshift32 + Box–Muller: reproducible Gaussian draws without a dependency. */
function gaussian(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i], 0);

/** Inverse CDF of the calibration's genuine cosines, piecewise linear through min, p1 … p99, max. */
function genuineCosineSampler(): { draw: (u: number) => number; impostorSd: number; source: unknown } {
  const calibration = JSON.parse(readFileSync(join(RESULTS_DIR, 'calibration.json'), 'utf8'));
  const genuine = calibration.cosine.genuine as { min: number; max: number; count: number; percentiles: Record<string, number> };
  const knots: Array<[number, number]> = [[0, genuine.min], ...Object.entries(genuine.percentiles).map(([p, value]): [number, number] => [Number(p.slice(1)) / 100, value]), [1, genuine.max]];
  const draw = (u: number) => {
    const upper = knots.findIndex(([q]) => q >= u);
    if (upper <= 0) return knots[0][1];
    const [q0, v0] = knots[upper - 1];
    const [q1, v1] = knots[upper];
    return v0 + ((u - q0) / (q1 - q0)) * (v1 - v0);
  };
  return { draw, impostorSd: calibration.cosine.impostor.sd, source: { pairs: genuine.count, percentiles: genuine.percentiles, min: genuine.min, max: genuine.max, generated: calibration.generated } };
}

/** A probe at cosine `c` to `mate`: c·mate + √(1−c²)·u, u a gallery-like unit vector made orthogonal to mate. */
function mateProbe(mate: Float32Array, c: number, noise: Float32Array): Float32Array {
  const along = dot(noise, mate);
  for (let i = 0; i < DIMENSION; i++) noise[i] -= along * mate[i];
  normalise(noise);
  const s = Math.sqrt(1 - c * c);
  return normalise(Float32Array.from(mate, (value, i) => c * value + s * noise[i]));
}

/** Real templates of the fixture faces, by identity, through the served pipeline (gates and PAD off). */
async function fixtureTemplates(): Promise<Map<string, Float32Array[]>> {
  const config = pipelineConfigSchema.parse({ pad: { enabled: false }, quality: { enrolMinimum: 0, probeMinimum: 0 } });
  const pipeline = await FacePipeline.create(MODELS_DIR, config);
  const byIdentity = new Map<string, Float32Array[]>();
  for (const { name, bytes } of fixtureImages('faces')) {
    try {
      const { template } = await pipeline.process(bytes, 'probe');
      byIdentity.set(identityOf(name), [...(byIdentity.get(identityOf(name)) ?? []), normalise(Float32Array.from(template))]);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }
  return byIdentity;
}

/**
 * Unit vectors spread like real templates of different people. Isotropic 512-d vectors have impostor
 * cosines with sd 1/√512 = 0.044; the calibration measured 0.099 for real faces: embeddings use fewer
 * directions. A shaped vector is a random mix of real fixture templates (the basis, people never planted)
 * plus isotropic noise, the noise weight chosen so that the cosine between two of them has the measured sd.
 */
function shapedGenerator(basis: readonly Float32Array[], targetSd: number, draw: () => number) {
  const make = (noiseWeight: number) => (out: Float32Array) => {
    out.fill(0);
    for (const template of basis) {
      const weight = draw() / Math.sqrt(basis.length);
      for (let i = 0; i < DIMENSION; i++) out[i] += weight * template[i];
    }
    for (let i = 0; i < DIMENSION; i++) out[i] += (noiseWeight * draw()) / Math.sqrt(DIMENSION);
    return normalise(out);
  };
  const cosineSd = (noiseWeight: number) => {
    const generate = make(noiseWeight);
    const cosines = Array.from({ length: 600 }, () => dot(generate(new Float32Array(DIMENSION)), generate(new Float32Array(DIMENSION))));
    const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
    return Math.sqrt(cosines.reduce((sum, c) => sum + (c - mean) ** 2, 0) / cosines.length);
  };
  // More noise, smaller spread: bisect on the noise weight.
  let [low, high] = [0, 8];
  for (let step = 0; step < 16; step++) {
    const middle = (low + high) / 2;
    if (cosineSd(middle) > targetSd) low = middle;
    else high = middle;
  }
  const noiseWeight = (low + high) / 2;
  return { generate: make(noiseWeight), noiseWeight, cosineSd: cosineSd(noiseWeight) };
}

const rssMb = () => round(process.memoryUsage().rss / 2 ** 20, 0);
const load = () => loadavg().map((value) => round(value, 2));

interface Probe {
  kind: 'synthetic' | 'fixture';
  mate: string;
  vector: Float32Array;
}

console.log(`${args.gallery} gallery of ${size}, ${shardCount} shards × ${listsPerShard} lists, probes ${probeSettings.join('/')}, ${queryCount} synthetic queries; load ${load().join(' ')}`);
const draw = gaussian(size);
// Real people: identities alternate between the shaping basis and the planted subjects, so no planted
// face helped shape the gallery it is searched in. The first photo of a planted person is enrolled, the
// others are its probes.
const fixtures = [...(await fixtureTemplates())];
const basis = fixtures.filter((_, i) => i % 2 === 1).flatMap(([, templates]) => templates);
const planted = fixtures.filter(([, templates], i) => i % 2 === 0 && templates.length >= 2);
const calibration = genuineCosineSampler();
const shaped = args.gallery === 'shaped' ? shapedGenerator(basis, calibration.impostorSd, draw) : undefined;
const galleryVector = (out: Float32Array): Float32Array => {
  if (shaped) return shaped.generate(out);
  for (let i = 0; i < DIMENSION; i++) out[i] = draw();
  return normalise(out);
};
const started = performance.now();
const vectors = new Float32Array(size * DIMENSION);
for (let row = 0; row < size; row++) galleryVector(vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION));
const generateS = (performance.now() - started) / 1000;

const entries = function* (): Generator<IvfEntry> {
  for (let row = 0; row < size; row++) yield { templateId: row + 1, subjectId: `synthetic-${row}`, vector: vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION) };
  let templateId = size + 1;
  for (const [identity, templates] of planted) yield { templateId: templateId++, subjectId: `fixture-${identity}`, vector: templates[0] };
};
const templateCount = size + planted.length;

const probes: Probe[] = [
  ...Array.from({ length: queryCount }, (_, q): Probe => {
    const row = Math.floor((q * 2654435761) % size);
    const mate = vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION);
    return { kind: 'synthetic', mate: `synthetic-${row}`, vector: mateProbe(mate, calibration.draw((q + 0.5) / queryCount), galleryVector(new Float32Array(DIMENSION))) };
  }),
  ...planted.flatMap(([identity, templates]) => templates.slice(1).map((vector): Probe => ({ kind: 'fixture', mate: `fixture-${identity}`, vector }))),
];

const baseRss = rssMb();
const index = await ShardedIndex.start({ dimension: DIMENSION, shards: shardCount });
const buildStarted = performance.now();
const shardStats = await index.build(entries(), templateCount, { lists: listsPerShard, probes: probeSettings[0] });
const buildS = (performance.now() - buildStarted) / 1000;
const builtRss = rssMb();
console.log(`built in ${round(buildS, 1)} s (${JSON.stringify(shardStats)}), RSS +${builtRss - baseRss} MB over the generated vectors`);

async function rankOne(probesPerShard: number) {
  const times: number[] = [];
  const firsts: string[] = [];
  for (const probe of probes) {
    const t0 = performance.now();
    const [first] = await index.search(probe.vector, 1, probesPerShard);
    times.push(performance.now() - t0);
    firsts.push(first?.subjectId ?? '');
  }
  return { times, firsts };
}

const exact = await rankOne(listsPerShard);
const mateFirst = (firsts: string[], kind: Probe['kind']) => probes.filter((probe, q) => probe.kind === kind && firsts[q] === probe.mate).length;
const counts = { synthetic: probes.filter((p) => p.kind === 'synthetic').length, fixture: probes.filter((p) => p.kind === 'fixture').length };
const exactHits = { synthetic: mateFirst(exact.firsts, 'synthetic'), fixture: mateFirst(exact.firsts, 'fixture') };
const rows: Array<Record<string, unknown>> = [
  { probes_per_shard: listsPerShard, mode: 'exact (every list)', ...latency(exact.times), mate_rank1_synthetic: round(exactHits.synthetic / counts.synthetic), mate_rank1_fixture: round(exactHits.fixture / counts.fixture), relative_to_exact: 1 },
];
for (const setting of probeSettings) {
  const run = await rankOne(setting);
  const hits = { synthetic: mateFirst(run.firsts, 'synthetic'), fixture: mateFirst(run.firsts, 'fixture') };
  const row = {
    probes_per_shard: setting,
    mode: `IVF, ${round((100 * setting) / listsPerShard, 1)} % of lists`,
    ...latency(run.times),
    mate_rank1_synthetic: round(hits.synthetic / counts.synthetic),
    mate_rank1_fixture: round(hits.fixture / counts.fixture),
    relative_to_exact: round((hits.synthetic + hits.fixture) / (exactHits.synthetic + exactHits.fixture)),
    same_rank1_as_exact: round(run.firsts.filter((first, q) => first === exact.firsts[q]).length / probes.length),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

/** /health latency from a client in this process while `streams` searches run back to back. */
async function healthDuringSearches(probesPerShard: number, streams: number, durationMs: number) {
  const server = createServer((_, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const probeHealth = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      request({ host: '127.0.0.1', port, path: '/health', agent: false }, (response) => response.resume().on('end', () => resolve(performance.now() - t0))).on('error', reject).end();
    });
  let running = true;
  let searches = 0;
  const stream = async (offset: number) => {
    for (let q = offset; running; q++) {
      await index.search(probes[q % probes.length].vector, 5, probesPerShard);
      searches++;
    }
  };
  const streamsDone = Array.from({ length: streams }, (_, s) => stream(s * 97));
  const times: number[] = [];
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    times.push(await probeHealth());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  running = false;
  await Promise.all(streamsDone);
  server.close();
  return { ...latency(times), searches_per_s: round(searches / (durationMs / 1000), 1) };
}

const health = {
  exact_scans: await healthDuringSearches(listsPerShard, 2, 10_000),
  ivf: await healthDuringSearches(probeSettings.at(-1)!, 2, 10_000),
};
console.log('health during searches', JSON.stringify(health));

// Parallelism: one exact scan over the same templates with 1 shard against `shardCount` shards.
let oneShard: Record<string, unknown> | undefined;
if (size <= Number(args['compare-up-to']) && shardCount > 1) {
  const single = await ShardedIndex.start({ dimension: DIMENSION, shards: 1 });
  await single.build(entries(), templateCount, { lists: 1, probes: 1 });
  const time = async (target: ShardedIndex, probesPerShard: number) => {
    const times: number[] = [];
    for (const probe of probes.slice(0, 50)) {
      const t0 = performance.now();
      await target.search(probe.vector, 5, probesPerShard);
      times.push(performance.now() - t0);
    }
    return latency(times);
  };
  const [one, many] = [await time(single, 1), await time(index, listsPerShard)];
  await single.close();
  oneShard = { one_shard_exact: one, [`${shardCount}_shards_exact`]: many, speed_up_p50: round(one.p50 / many.p50, 2) };
  console.log('exact scan, 1 shard vs', shardCount, JSON.stringify(oneShard));
}
await index.close();

writeResults(args.name, {
  setup: {
    size,
    planted_fixture_subjects: planted.length,
    templates: templateCount,
    shards: shardCount,
    lists_per_shard: listsPerShard,
    synthetic_queries: counts.synthetic,
    fixture_queries: counts.fixture,
    gallery: shaped
      ? { kind: 'shaped', basis_templates: basis.length, noise_weight: round(shaped.noiseWeight), impostor_cosine_sd: round(shaped.cosineSd), target_sd: calibration.impostorSd }
      : { kind: 'random unit vectors (impostor cosine sd 1/√512 = 0.044; the worst case for a coarse quantiser: no structure)' },
    one_template_per_subject: true,
    genuine_cosines_from: calibration.source,
    generate_s: round(generateS, 1),
  },
  goals: GOALS,
  build: { seconds: round(buildS, 1), shards: shardStats, rss_mb_before: baseRss, rss_mb_after: builtRss, rss_mb_added: builtRss - baseRss },
  search: rows,
  health_during_search_stream: health,
  parallel_scan: oneShard,
});
