// 1:N search over one partition of synthetic 512-d unit templates at growing sizes: exact search
// (IndexFlatIP, what the gallery uses) against an approximate HNSW index (faiss-node's
// Index.fromFactory), with recall@k of the approximate answer against the exact one, build time,
// memory and load time.
//   npm run bench:search-scale [-- --sizes 10000,100000,1000000 --hnsw-sizes 10000,100000 --ef 64,128,256]
//
// faiss-node 0.5.1 exposes no efSearch setter, but the HNSW index file carries efSearch, so the
// benchmark sets it by rewriting that field in the serialised index and reading it back.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import faiss, { type Index } from 'faiss-node';
import { latency, round, writeResults } from './fixtures.ts';
import { gaussian, normalise } from './mate-probes.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    'hnsw-sizes': { type: 'string', default: '10000,100000' },
    ef: { type: 'string', default: '64,128,256' },
    'hnsw-m': { type: 'string', default: '32' },
    queries: { type: 'string', default: '200' },
  },
});
const DIMENSION = 512;
const K = 5;
const TARGET = { p50Ms: 5, recallAt5: 0.99, size: 1_000_000 };
const sizes = args.sizes.split(',').map(Number);
const hnswSizes = new Set(args['hnsw-sizes'].split(',').map(Number));
const efValues = args.ef.split(',').map(Number);
const queryCount = Number(args.queries);

/** `count` random unit vectors, the way L2-normalised embeddings of unrelated people spread out. */
function randomUnitVectors(count: number, seed: number): Float32Array {
  const draw = gaussian(seed);
  const all = new Float32Array(count * DIMENSION);
  for (let row = 0; row < count; row++) {
    const vector = all.subarray(row * DIMENSION, (row + 1) * DIMENSION);
    for (let i = 0; i < DIMENSION; i++) vector[i] = draw();
    normalise(vector);
  }
  return all;
}

/**
 * Two query sets: "genuine" probes are gallery templates plus noise (cosine ≈ 0.7 to their source,
 * like a second photo of an enrolled person), "random" probes are unrelated people.
 */
function queries(gallery: Float32Array, size: number): Record<'genuine' | 'random', Float32Array[]> {
  const draw = gaussian(7);
  const genuine = Array.from({ length: queryCount }, (_, q) => {
    const source = Math.floor((q * 2654435761) % size);
    const probe = new Float32Array(DIMENSION);
    for (let i = 0; i < DIMENSION; i++) probe[i] = gallery[source * DIMENSION + i] + draw() / Math.sqrt(DIMENSION);
    return normalise(probe);
  });
  const random = Array.from({ length: queryCount }, (_, q) => randomUnitVectors(1, 1000 + q));
  return { genuine, random };
}

/**
 * IndexFlatIP straight from its serialised form: the vectors go in as bytes, not as number[].
 * faiss-node 0.5.1's fromBuffer/toBuffer never free their intermediate copy, so each call here leaks
 * one index's worth of memory: fine for a benchmark process, not for the server.
 */
function flatFromVectors(vectors: Float32Array): Index {
  const count = vectors.length / DIMENSION;
  const header = Buffer.alloc(45);
  header.write('IxFI', 0, 'ascii');
  header.writeInt32LE(DIMENSION, 4);
  header.writeBigInt64LE(BigInt(count), 8);
  header.writeBigInt64LE(1n << 20n, 16);
  header.writeBigInt64LE(1n << 20n, 24);
  header.writeUInt8(1, 32); // is_trained
  header.writeInt32LE(0, 33); // METRIC_INNER_PRODUCT
  header.writeBigInt64LE(BigInt(vectors.length), 37);
  return faiss.IndexFlatIP.fromBuffer(Buffer.concat([header, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength)]));
}

/** Adds through faiss-node's number[] API in slices that keep the temporary array small. */
function addInBatches(index: Index, vectors: Float32Array, batch = 8192): void {
  for (let start = 0; start < vectors.length; start += batch * DIMENSION) index.add(Array.from(vectors.subarray(start, start + batch * DIMENSION)));
}

/** Rewrites efSearch in a serialised IndexHNSWFlat: it sits 8 bytes before the flat storage that ends the file. */
function withEfSearch(index: Index, efSearch: number): Index {
  const bytes = index.toBuffer();
  const storageStart = bytes.length - (45 + index.ntotal() * DIMENSION * 4);
  if (bytes.toString('ascii', 0, 4) !== 'IHNf' || bytes.toString('ascii', storageStart, storageStart + 4) !== 'IxFI') {
    throw new Error('not an IndexHNSWFlat over flat storage: cannot locate efSearch');
  }
  bytes.writeInt32LE(efSearch, storageStart - 8);
  return faiss.Index.fromBuffer(bytes);
}

const rssMb = () => round(process.memoryUsage().rss / 2 ** 20, 0);
const timeIt = <T>(work: () => T): [T, number] => {
  const started = performance.now();
  const value = work();
  return [value, performance.now() - started];
};

function searchAll(index: Index, probes: Float32Array[]) {
  const times: number[] = [];
  const labels = probes.map((probe) => {
    const [result, ms] = timeIt(() => index.search(Array.from(probe), K));
    times.push(ms);
    return result.labels;
  });
  return { labels, latency: latency(times) };
}

const recall = (approximate: number[][], exact: number[][], k: number) =>
  round(approximate.reduce((hits, labels, q) => hits + labels.slice(0, k).filter((label) => exact[q].slice(0, k).includes(label)).length, 0) / (approximate.length * k), 4);

const rows: Array<Record<string, unknown>> = [];
for (const size of sizes) {
  const baseRss = rssMb();
  const [vectors, generateMs] = timeIt(() => randomUnitVectors(size, size));
  const probes = queries(vectors, size);
  const [flat, flatBuildMs] = timeIt(() => flatFromVectors(vectors));
  const exact = { genuine: searchAll(flat, probes.genuine), random: searchAll(flat, probes.random) };
  rows.push({
    size,
    index: 'IndexFlatIP (exact)',
    // built by reading its serialised form, so building is loading
    build_s: round(flatBuildMs / 1000, 2),
    bytes_mb: round((45 + vectors.byteLength) / 2 ** 20, 0),
    load_from_buffer_s: round(flatBuildMs / 1000, 2),
    p50_ms: exact.genuine.latency.p50,
    p99_ms: exact.genuine.latency.p99,
    recall_at_5_genuine: 1,
    recall_at_5_random: 1,
    rss_mb: rssMb() - baseRss,
    note: `vectors generated in ${round(generateMs / 1000, 1)} s`,
  });
  console.log(JSON.stringify(rows.at(-1)));

  if (hnswSizes.has(size)) {
    const before = rssMb();
    const hnsw = faiss.Index.fromFactory(DIMENSION, `HNSW${args['hnsw-m']},Flat`, faiss.MetricType.METRIC_INNER_PRODUCT);
    const [, hnswBuildMs] = timeIt(() => addInBatches(hnsw, vectors));
    const hnswRss = rssMb() - before;
    for (const efSearch of efValues) {
      const [tuned, loadMs] = timeIt(() => withEfSearch(hnsw, efSearch));
      const genuine = searchAll(tuned, probes.genuine);
      const random = searchAll(tuned, probes.random);
      rows.push({
        size,
        index: `HNSW${args['hnsw-m']},Flat efSearch=${efSearch}`,
        build_s: round(hnswBuildMs / 1000, 2),
        bytes_mb: round(tuned.toBuffer().length / 2 ** 20, 0),
        load_from_buffer_s: round(loadMs / 1000, 2),
        p50_ms: genuine.latency.p50,
        p99_ms: genuine.latency.p99,
        recall_at_1_genuine: recall(genuine.labels, exact.genuine.labels, 1),
        recall_at_5_genuine: recall(genuine.labels, exact.genuine.labels, K),
        recall_at_5_random: recall(random.labels, exact.random.labels, K),
        rss_mb: hnswRss,
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
}

console.table(rows.map(({ note: _note, ...row }) => row));
writeResults('search-scale', {
  dimension: DIMENSION,
  k: K,
  queries_per_set: queryCount,
  data: 'i.i.d. Gaussian vectors, L2-normalised; genuine probes = gallery vector + N(0, 1/d) noise, renormalised (cosine ≈ 0.7); random probes = fresh unit vectors',
  latency_of: 'one query at a time through faiss-node search(number[], k=5), genuine probes',
  omp_num_threads: process.env.OMP_NUM_THREADS ?? 'unset (OpenMP default: one per core)',
  targets: TARGET,
  results: rows,
});
