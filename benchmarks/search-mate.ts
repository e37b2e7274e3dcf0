// 1:N search as the server serves it, judged by MATE recall: is the probe's own subject ranked first?
// One partition of synthetic 512-d unit templates (one per subject) plus the real fixture faces planted in
// it, written into a real gallery (SQLite, sealed), indexed by the search workers (one shard per worker,
// inverted lists above search.approximateAbove). Synthetic probes are an enrolled template mixed with noise
// to a cosine drawn from the genuine-score distribution the calibration measured; real probes are the
// other photos of each planted person. The gallery is closed and reopened for each probe fraction: each
// reopen is a restart that loads the saved index (timed), and probe fraction 1 scans every list, which is
// exact search, the reference for mate recall. While two clients stream searches, GET /api/v1/health is
// timed through the server's own router (utilityRouter) over HTTP.
//   npm run bench:search-mate [-- --size 100000 --fractions 1,0.1,0.25,0.5 --served 0.5 --queries 500 --name search-mate-100k]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import Koa from 'koa';
import { pino } from 'pino';
import { ApiError } from '../src/errors.ts';
import type { Gallery } from '../src/gallery/gallery.ts';
import { GalleryRepository } from '../src/gallery/gallery-repository.ts';
import { openGallery } from '../src/gallery/index.ts';
import { searchConfigSchema } from '../src/gallery/search/search-config.ts';
import { utilityRouter } from '../src/http/utility.controller.ts';
import { pipelineConfigSchema } from '../src/pipeline/config.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { TemplateCipher } from '../src/security/template-cipher.ts';
import { fixtureImages, identityOf, latency, MODELS_DIR, RESULTS_DIR, round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '2' },
    /** probe fractions to measure, each after a restart; 1 (every list: exact) is always measured first */
    fractions: { type: 'string', default: '0.1,0.25,0.5,0.75' },
    /** the fraction the /health stream runs with (the served setting) */
    served: { type: 'string', default: '0.5' },
    queries: { type: 'string', default: '500' },
    /** random: isotropic unit vectors; shaped: impostor cosines spread as the calibration measured */
    gallery: { type: 'string', default: 'random' },
    /** also time searches of an exact index (search.approximateAbove above the size: one list per shard) */
    exact: { type: 'boolean', default: false },
    name: { type: 'string', default: 'search-mate' },
  },
});
const DIMENSION = 512;
const PARTITION = 'bench';
const size = Number(args.size);
const workers = Number(args.workers);
const fractions = [1, ...args.fractions.split(',').map(Number).filter((f) => f !== 1)];
const servedFraction = Number(args.served);
const queryCount = Number(args.queries);
const GOALS = { p50Ms: 5, p99Ms: 20, relativeMateRecall: 0.999, healthP99Ms: 20, restartS: 10 };

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
const quiet = pino({ level: 'warn' });

interface Probe {
  kind: 'synthetic' | 'fixture';
  mate: string;
  vector: Float32Array;
}

console.log(`${args.gallery} gallery of ${size}, ${workers} search workers, fractions ${fractions.join('/')}, ${queryCount} synthetic queries; load ${load().join(' ')}`);
const loadAtStart = load();
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

// The gallery: the server's own schema and key, the rows written straight into SQLite in plaintext (the
// format a gallery from before encryption holds: the first open seals them), as bench:startup does.
const dataDir = mkdtempSync(join(tmpdir(), 'search-mate-'));
const cipher = TemplateCipher.generate();
new GalleryRepository(join(dataDir, 'gallery.sqlite'), DIMENSION, cipher).close();
const generateStarted = performance.now();
const probes: Probe[] = [];
{
  const db = new Database(join(dataDir, 'gallery.sqlite'));
  db.pragma('synchronous = OFF');
  const partitionId = Number(db.prepare('INSERT INTO partitions (name) VALUES (?)').run(PARTITION).lastInsertRowid);
  const insertSubject = db.prepare('INSERT INTO subjects (partition_id, subject_id) VALUES (?, ?)');
  const insertTemplate = db.prepare("INSERT INTO templates (subject_ref, vector, model_id, quality, source) VALUES (?, ?, 'bench', 0.9, 'enrol')");
  const insert = (subjectId: string, vector: Float32Array) => insertTemplate.run(Number(insertSubject.run(partitionId, subjectId).lastInsertRowid), Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
  const probeRows = new Map(Array.from({ length: queryCount }, (_, q) => [Math.floor((q * 2654435761) % size), q]));
  const vector = new Float32Array(DIMENSION);
  const BATCH = 50_000;
  for (let from = 0; from < size; from += BATCH) {
    db.transaction(() => {
      for (let row = from; row < Math.min(size, from + BATCH); row++) {
        galleryVector(vector);
        insert(`synthetic-${row}`, vector);
        const q = probeRows.get(row);
        if (q !== undefined) probes.push({ kind: 'synthetic', mate: `synthetic-${row}`, vector: mateProbe(vector, calibration.draw((q + 0.5) / queryCount), galleryVector(new Float32Array(DIMENSION))) });
      }
    })();
  }
  db.transaction(() => {
    for (const [identity, templates] of planted) insert(`fixture-${identity}`, templates[0]);
  })();
  db.prepare('UPDATE partitions SET generation = generation + 1 WHERE id = ?').run(partitionId);
  db.prepare("DELETE FROM gallery_meta WHERE name = 'all_templates_sealed_at'").run();
  db.close();
}
probes.push(...planted.flatMap(([identity, templates]) => templates.slice(1).map((vector): Probe => ({ kind: 'fixture', mate: `fixture-${identity}`, vector }))));
const generateS = (performance.now() - generateStarted) / 1000;
const templateCount = size + planted.length;
console.log(`gallery written in ${round(generateS, 1)} s: ${templateCount} templates, ${probes.length} probes`);

const open = async (probeFraction: number, approximateAbove = 1): Promise<{ gallery: Gallery; seconds: number }> => {
  const started = performance.now();
  const gallery = await openGallery({ dataDir, flushDelayMs: 60_000, logger: quiet, cipher, search: searchConfigSchema.parse({ workers, approximateAbove, probeFraction }) });
  return { gallery, seconds: (performance.now() - started) / 1000 };
};

// First open: seals the plaintext rows, builds the index (k-means per worker), and close() saves it.
const baseRss = rssMb();
const first = await open(1);
const builtRss = rssMb();
const closeStarted = performance.now();
await first.gallery.close();
const build = { open_and_build_s: round(first.seconds, 1), save_on_close_s: round((performance.now() - closeStarted) / 1000, 1), rss_mb_before: baseRss, rss_mb_built: builtRss, rss_mb_added: builtRss - baseRss, load: load() };
console.log('built', JSON.stringify(build));

async function rankOne(gallery: Gallery) {
  const times: number[] = [];
  const firsts: string[] = [];
  for (const probe of probes) {
    const t0 = performance.now();
    const [best] = await gallery.search(PARTITION, probe.vector, 1);
    times.push(performance.now() - t0);
    firsts.push(best?.subjectId ?? '');
  }
  return { times, firsts };
}

const mateFirst = (firsts: string[], kind: Probe['kind']) => probes.filter((probe, q) => probe.kind === kind && firsts[q] === probe.mate).length;
const counts = { synthetic: probes.filter((p) => p.kind === 'synthetic').length, fixture: probes.filter((p) => p.kind === 'fixture').length };
let exactRun: { firsts: string[]; hits: number } | undefined;
const rows: Array<Record<string, unknown>> = [];
for (const fraction of fractions) {
  const { gallery, seconds } = await open(fraction);
  const run = await rankOne(gallery);
  await gallery.close();
  const hits = { synthetic: mateFirst(run.firsts, 'synthetic'), fixture: mateFirst(run.firsts, 'fixture') };
  exactRun ??= { firsts: run.firsts, hits: hits.synthetic + hits.fixture };
  const row = {
    probe_fraction: fraction,
    mode: fraction === 1 ? 'every list scanned (exact)' : `inverted lists, ${round(100 * fraction, 1)} % scanned`,
    restart_ready_s: round(seconds, 2),
    ...latency(run.times),
    mate_rank1_synthetic: round(hits.synthetic / counts.synthetic),
    mate_rank1_fixture: round(hits.fixture / counts.fixture),
    relative_to_exact: round((hits.synthetic + hits.fixture) / exactRun.hits),
    same_rank1_as_exact: round(run.firsts.filter((best, q) => best === exactRun!.firsts[q]).length / probes.length),
    load: load(),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

/** GET /api/v1/health through the server's router over HTTP while `streams` clients search back to back. */
async function healthDuringSearches(gallery: Gallery, streams: number, durationMs: number) {
  const app = new Koa();
  const health = async () => ({
    components: { faiss_index: await gallery.isHealthy(), template_key: await gallery.templateKeyCurrent(), onnx_detection: true, onnx_recognition: true, onnx_quality: true, onnx_pad: true },
    stages: {},
  });
  app.use(utilityRouter(gallery, health).routes());
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/health`;
  let running = true;
  let searches = 0;
  const stream = async (offset: number) => {
    for (let q = offset; running; q++) {
      await gallery.search(PARTITION, probes[q % probes.length].vector, 5);
      searches++;
    }
  };
  const streamsDone = Array.from({ length: streams }, (_, s) => stream(s * 97));
  const times: number[] = [];
  let unhealthy = 0;
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    const t0 = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    times.push(performance.now() - t0);
    if (response.status !== 200) unhealthy++;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  running = false;
  await Promise.all(streamsDone);
  server.close();
  return { ...latency(times), probes: times.length, not_200: unhealthy, searches_per_s: round(searches / (durationMs / 1000), 1), load: load() };
}

const served = await open(servedFraction);
const healthDuringStream = await healthDuringSearches(served.gallery, 2, 15_000);
console.log('health during searches', JSON.stringify(healthDuringStream));
await served.gallery.close();

let exactIndex: Record<string, unknown> | undefined;
if (args.exact) {
  // search.approximateAbove above the size: the saved index is the wrong kind, so it is rebuilt exact.
  const rebuilt = await open(1, templateCount + 1);
  const run = await rankOne(rebuilt.gallery);
  const stream = await healthDuringSearches(rebuilt.gallery, 2, 15_000);
  await rebuilt.gallery.close();
  exactIndex = { rebuild_s: round(rebuilt.seconds, 1), ...latency(run.times), mate_rank1_relative_to_exact: round((mateFirst(run.firsts, 'synthetic') + mateFirst(run.firsts, 'fixture')) / exactRun!.hits), health_during_search_stream: stream };
  console.log('exact index', JSON.stringify(exactIndex));
}
rmSync(dataDir, { recursive: true, force: true });

writeResults(args.name, {
  setup: {
    size,
    planted_fixture_subjects: planted.length,
    templates: templateCount,
    search_workers: workers,
    lists_per_shard: Math.max(2, Math.round(Math.sqrt(templateCount / workers))),
    synthetic_queries: counts.synthetic,
    fixture_queries: counts.fixture,
    gallery: shaped
      ? { kind: 'shaped', basis_templates: basis.length, noise_weight: round(shaped.noiseWeight), impostor_cosine_sd: round(shaped.cosineSd), target_sd: calibration.impostorSd }
      : { kind: 'random unit vectors (impostor cosine sd 1/√512 = 0.044; the worst case for a coarse quantiser: no structure)' },
    one_template_per_subject: true,
    genuine_cosines_from: calibration.source,
    generate_s: round(generateS, 1),
    load_at_start: loadAtStart,
  },
  goals: GOALS,
  build,
  search: rows,
  served_probe_fraction: servedFraction,
  health_during_search_stream: healthDuringStream,
  exact_index: exactIndex,
});
