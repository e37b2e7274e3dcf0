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
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import Koa from 'koa';
import { pino } from 'pino';
import type { Gallery } from '../src/gallery/gallery.ts';
import { GalleryRepository } from '../src/gallery/gallery-repository.ts';
import { openGallery } from '../src/gallery/index.ts';
import { searchConfigSchema } from '../src/gallery/search/search-config.ts';
import { utilityRouter } from '../src/http/utility.controller.ts';
import { TemplateCipher } from '../src/security/template-cipher.ts';
import { latency, round, writeResults } from './fixtures.ts';
import { DIMENSION, describeGallery, fixtureTemplates, gaussian, genuineCosineSampler, mateHits, mateProbe, normalise, shapedGenerator, type MateProbe } from './mate-probes.ts';

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
const PARTITION = 'bench';
const size = Number(args.size);
const workers = Number(args.workers);
const fractions = [1, ...args.fractions.split(',').map(Number).filter((f) => f !== 1)];
const servedFraction = Number(args.served);
const queryCount = Number(args.queries);
const GOALS = { p50Ms: 5, p99Ms: 20, relativeMateRecall: 0.999, healthP99Ms: 20, restartS: 10 };

const rssMb = () => round(process.memoryUsage().rss / 2 ** 20, 0);
const load = () => loadavg().map((value) => round(value, 2));
const quiet = pino({ level: 'warn' });

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
const probes: MateProbe[] = [];
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
probes.push(...planted.flatMap(([identity, templates]) => templates.slice(1).map((vector): MateProbe => ({ kind: 'fixture', mate: `fixture-${identity}`, vector }))));
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

const counts = { synthetic: probes.filter((p) => p.kind === 'synthetic').length, fixture: probes.filter((p) => p.kind === 'fixture').length };
let exactRun: { firsts: string[]; hits: number } | undefined;
const rows: Array<Record<string, unknown>> = [];
for (const fraction of fractions) {
  const { gallery, seconds } = await open(fraction);
  const run = await rankOne(gallery);
  await gallery.close();
  const hits = mateHits(probes, run.firsts);
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
  exactIndex = { rebuild_s: round(rebuilt.seconds, 1), ...latency(run.times), mate_rank1_relative_to_exact: round(Object.values(mateHits(probes, run.firsts)).reduce((a, b) => a + b) / exactRun!.hits), health_during_search_stream: stream };
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
    gallery: describeGallery(shaped, basis.length, calibration.impostorSd),
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
