// 1:N search in PostgreSQL + pgvector, judged as the embedded store is (bench:search-mate): rank-1 MATE
// recall relative to exact search, and latency, on the same synthetic galleries with real fixture faces
// planted in them (benchmarks/mate-probes.ts). A private cluster in a temporary directory (the tests'
// harness); the gallery is the served PostgresGallery. Exact search first, then the partition's HNSW index
// as the gallery builds it (CREATE INDEX CONCURRENTLY once the partition outgrows approximateAbove), at
// several hnsw.ef_search values; then throughput with concurrent clients, exact and HNSW.
//   npm run bench:postgres-search [-- --size 100000 --ef 100,400,1000 --queries 500 --gallery shaped --name postgres-search-100k]
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { PostgresGallery } from '../src/gallery/postgres/postgres-gallery.ts';
import { startPrimary } from '../test/helpers/postgres-cluster.ts';
import { latency, round, writeResults } from './fixtures.ts';
import { DIMENSION, mateDataSet, mateHits } from './mate-probes.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '100000' },
    ef: { type: 'string', default: '100,400,1000' },
    queries: { type: 'string', default: '500' },
    gallery: { type: 'string', default: 'shaped' },
    /** memory for the index build; below the graph's size pgvector builds far more slowly */
    'maintenance-work-mem': { type: 'string', default: '1GB' },
    /** concurrent clients for the throughput runs */
    clients: { type: 'string', default: '4' },
    name: { type: 'string', default: 'postgres-search' },
  },
});
const PARTITION = 'bench';
const size = Number(args.size);
const efSettings = args.ef.split(',').map(Number);
const load = () => loadavg().map((value) => round(value, 2));
const logger = pino({ level: 'silent' });

console.log(`PostgreSQL ${args.gallery} gallery of ${size}, ef_search ${efSettings.join('/')}; load ${load().join(' ')}`);
const data = await mateDataSet(size, Number(args.queries), args.gallery === 'shaped' ? 'shaped' : 'random');
const vectorText = (row: number) => `[${Array.from(data.vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION)).join(',')}]`;

const primary = await startPrimary();
try {
  const url = await primary.createDatabase('bench');
  await primary.withClient(async (admin) => {
    await admin.query(`ALTER SYSTEM SET maintenance_work_mem = '${args['maintenance-work-mem'].replace(/[^0-9A-Za-z]/g, '')}'`);
    await admin.query('SELECT pg_reload_conf()');
  });
  const open = (efSearch: number, approximateAbove: number) =>
    PostgresGallery.open({ url, dimension: DIMENSION, approximateAbove, efSearch, poolSize: Number(args.clients), logger });

  // The planted people go in through the gallery (the served write path); the synthetic subjects by the
  // bulk load an operator would use (one statement per thousand rows), before any index exists.
  const exact = await open(100, Number.MAX_SAFE_INTEGER);
  for (const [identity, templates] of data.planted) await exact.enrol(PARTITION, `fixture-${identity}`, { template: templates[0], modelId: 'fr_feature', quality: 1, source: 'enrol' });
  const loadStarted = performance.now();
  const loader = new pg.Client({ connectionString: url });
  await loader.connect();
  const { rows: partitionRows } = await loader.query<{ id: string }>('SELECT id FROM partitions WHERE name = $1', [PARTITION]);
  for (let start = 0; start < size; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, size - start) }, (_, i) => start + i);
    await loader.query(
      `WITH s AS (INSERT INTO subjects (partition_id, subject_id) SELECT $1, unnest($2::text[]) RETURNING id, subject_id)
       INSERT INTO templates (partition_id, subject_ref, embedding, model_id, quality, source)
       SELECT $1, s.id, v.embedding::vector, 'synthetic', 1, 'enrol' FROM s JOIN unnest($2::text[], $3::text[]) AS v(subject_id, embedding) USING (subject_id)`,
      [partitionRows[0].id, rows.map((row) => `synthetic-${row}`), rows.map(vectorText)],
    );
  }
  await loader.query('VACUUM ANALYZE templates');
  await loader.end();
  const loadS = (performance.now() - loadStarted) / 1000;
  console.log(`loaded ${size} templates in ${round(loadS, 1)} s`);

  async function rankOne(gallery: PostgresGallery) {
    const times: number[] = [];
    const firsts: string[] = [];
    for (const probe of data.probes) {
      const t0 = performance.now();
      const [first] = await gallery.search(PARTITION, probe.vector, 1);
      times.push(performance.now() - t0);
      firsts.push(first?.subjectId ?? '');
    }
    return { times, firsts };
  }

  /** Searches per second with `clients` concurrent callers for `seconds`. */
  async function throughput(gallery: PostgresGallery, seconds: number) {
    const clients = Number(args.clients);
    let searches = 0;
    const until = performance.now() + seconds * 1000;
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let q = c * 31; performance.now() < until; q++) {
          const t0 = performance.now();
          await gallery.search(PARTITION, data.probes[q % data.probes.length].vector, 5);
          times.push(performance.now() - t0);
          searches++;
        }
      }),
    );
    return { clients, searches_per_s: round(searches / seconds, 1), ...latency(times) };
  }

  const counts = { synthetic: data.probes.filter((p) => p.kind === 'synthetic').length, fixture: data.probes.filter((p) => p.kind === 'fixture').length };
  const reference = await rankOne(exact);
  const exactHits = mateHits(data.probes, reference.firsts);
  const rows: Array<Record<string, unknown>> = [
    { mode: 'exact (sequential scan of the partition)', ...latency(reference.times), mate_rank1_synthetic: round(exactHits.synthetic / counts.synthetic), mate_rank1_fixture: round(exactHits.fixture / counts.fixture), relative_to_exact: 1 },
  ];
  console.log(JSON.stringify(rows[0]));
  const exactThroughput = await throughput(exact, 20);
  console.log('exact throughput', JSON.stringify(exactThroughput));
  await exact.close();

  // The gallery builds the index itself when a write finds the partition above approximateAbove: re-enrolling
  // a subject with its own template changes no search answer.
  const indexing = await open(efSettings[0], 0);
  const buildStarted = performance.now();
  await indexing.enrol(PARTITION, 'synthetic-0', { template: data.vectors.slice(0, DIMENSION), modelId: 'synthetic', quality: 1, source: 'enrol' });
  const buildS = (performance.now() - buildStarted) / 1000;
  await indexing.close();
  const sizes = new pg.Client({ connectionString: url });
  await sizes.connect();
  const { rows: relationSizes } = await sizes.query<{ name: string; mb: string }>(
    `SELECT relname AS name, round(pg_relation_size(oid) / 1048576.0, 1)::text AS mb FROM pg_class WHERE relname IN ('templates') OR relname LIKE 'templates_hnsw_%'`,
  );
  await sizes.end();
  console.log(`HNSW built in ${round(buildS, 1)} s; ${JSON.stringify(relationSizes)}`);

  let servedThroughput: Record<string, unknown> | undefined;
  for (const ef of efSettings) {
    const gallery = await open(ef, 0);
    const run = await rankOne(gallery);
    const hits = mateHits(data.probes, run.firsts);
    const row = {
      mode: `HNSW, ef_search ${ef}`,
      ...latency(run.times),
      mate_rank1_synthetic: round(hits.synthetic / counts.synthetic),
      mate_rank1_fixture: round(hits.fixture / counts.fixture),
      relative_to_exact: round((hits.synthetic + hits.fixture) / (exactHits.synthetic + exactHits.fixture)),
      same_rank1_as_exact: round(run.firsts.filter((first, q) => first === reference.firsts[q]).length / data.probes.length),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    if (ef === 400) servedThroughput = await throughput(gallery, 20);
    await gallery.close();
  }
  if (servedThroughput) console.log('HNSW (ef_search 400) throughput', JSON.stringify(servedThroughput));

  writeResults(args.name, {
    setup: { ...data.description, store: 'PostgreSQL 15 + pgvector 0.8.0, private cluster, default settings but maintenance_work_mem', maintenance_work_mem: args['maintenance-work-mem'], index: 'HNSW m 16, ef_construction 64 (pgvector defaults), vector_ip_ops, partial per partition' },
    load_average_at_end: load(),
    bulk_load: { seconds: round(loadS, 1), templates: size },
    hnsw_build: { seconds: round(buildS, 1), relation_mb: Object.fromEntries(relationSizes.map((r) => [r.name.replace(/_\d+$/, ''), round(Number(r.mb), 1)])) },
    search: rows,
    throughput: { exact: exactThroughput, hnsw_ef_search_400: servedThroughput },
  });
} finally {
  primary.destroy();
}
