// Does the server's memory stay flat under hours of traffic? The real server (`src/main.ts`, in its own
// process, started the way `npm start` starts it) gets the mixed load of a border gate — per 20 requests
// 10 verify, 7 search, 2 enrol, 1 delete, over 4 partitions — at a fixed rate, a fraction of the peak
// measured at the start of the same run. Every window it samples the server's resident set (and where
// it sits: glibc's main heap, other anonymous memory, mapped files), threads, open descriptors and the
// latency percentiles of the window; at the end every acknowledged enrol and delete is checked against
// /api/v1/stats, before and after a restart of the server on the same data.
//   npm run bench:soak [-- --minutes 30 --fraction 0.5 | --rate R] [--mix mixed|read|write|steady] [--window 60]
//                      [--warm-up 5] [--peak-seconds 60] [--results soak] [--env NAME=VALUE ...]
// `--mix read` holds the gallery fixed (verify and search only), `--mix write` only enrols and deletes,
// `--mix steady` is the mixed load with as many deletes as enrols (the gallery stays at its seeded size):
// the diagnosis runs that separate the pipeline from the gallery. `--env` adds to the server's
// environment (e.g. `--env LD_PRELOAD=` runs it on glibc's allocator, to compare).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChildServer, scratchDataDir, startChildServer, startScriptEnv } from '../test/helpers/child-server.ts';
import { postJson, postMultipart } from '../test/helpers/test-server.ts';
import { ENROLLABLE_FACES } from '../test/reliability/support.ts';
import sharp from 'sharp';
import { round, summarise, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    fraction: { type: 'string', default: '0.5' },
    rate: { type: 'string' },
    mix: { type: 'string', default: 'mixed' },
    window: { type: 'string', default: '60' },
    'warm-up': { type: 'string', default: '5' },
    'peak-seconds': { type: 'string', default: '60' },
    'peak-clients': { type: 'string', default: '16' },
    results: { type: 'string', default: 'soak' },
    'large-megapixels': { type: 'string', default: '36' },
    'large-rounds': { type: 'string', default: '5' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const MINUTES = Number(args.minutes);
const WINDOW_MS = Number(args.window) * 1000;
const WARM_UP_MINUTES = Number(args['warm-up']);
const RSS_EVERY_MS = 5000;
const PARTITIONS = ['gate-a', 'gate-b', 'gate-c', 'gate-d'];
/** Subjects enrolled per partition before the load starts, so searches and verifies have a gallery. */
const SEEDED_PER_PARTITION = 25;

type Kind = 'verify' | 'search' | 'enrol' | 'delete';
const MIXES: Record<string, readonly Kind[]> = {
  // per 20: 10 verify, 7 search, 2 enrol, 1 delete, interleaved so every window sees each kind
  mixed: ['verify', 'search', 'verify', 'search', 'enrol', 'verify', 'search', 'verify', 'search', 'verify', 'delete', 'verify', 'search', 'verify', 'search', 'enrol', 'verify', 'search', 'verify', 'verify'],
  read: ['verify', 'search', 'verify', 'search', 'verify', 'verify', 'search', 'verify', 'search', 'verify', 'verify', 'search', 'verify', 'search', 'verify', 'verify', 'search', 'verify', 'verify', 'search'],
  write: ['enrol', 'enrol', 'delete'],
  // the mixed load with as many deletes as enrols: writes go on, the gallery stays the size it was seeded
  steady: ['verify', 'search', 'verify', 'search', 'enrol', 'verify', 'search', 'verify', 'search', 'verify', 'delete', 'verify', 'search', 'verify', 'search', 'enrol', 'verify', 'search', 'verify', 'delete'],
};
const MIX = MIXES[args.mix!];
if (!MIX) throw new Error(`--mix must be one of ${Object.keys(MIXES).join(', ')}`);
const extraEnv: Record<string, string> = Object.fromEntries(
  args.env!.map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--env takes NAME=VALUE, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
/**
 * jemalloc prints its totals (allocated, active, resident, retained) after every JEMALLOC_STATS_EVERY
 * bytes of allocation and at exit; added to whatever MALLOC_CONF `npm start` or `--env` sets. Ignored
 * on glibc.
 */
const JEMALLOC_STATS_EVERY = 2 ** 30;
const JEMALLOC_STATS = `stats_print:true,stats_interval:${JEMALLOC_STATS_EVERY},stats_interval_opts:gmdablxe`;
const serverEnv = {
  ...extraEnv,
  MALLOC_CONF: [extraEnv.MALLOC_CONF ?? startScriptEnv().MALLOC_CONF, JEMALLOC_STATS].filter(Boolean).join(','),
};

const mebibytes = (bytes: number) => round(bytes / 2 ** 20, 1);

/** What the kernel says about the server process: resident set and where it sits, threads, descriptors. */
function processSample(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  // smaps: glibc's main arena is [heap]; its thread arenas are anonymous mappings aligned to 64 MiB
  // (HEAP_MAX_SIZE); everything else anonymous is V8 heaps, ONNX Runtime buffers, large mmap'd blocks.
  let heap = 0;
  let threadArenas = 0;
  let arenaCount = 0;
  let otherAnonymous = 0;
  let current: { name: string; start: bigint; writable: boolean } | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^([0-9a-f]+)-[0-9a-f]+ (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (mapping) {
      current = { name: mapping[4], start: BigInt(`0x${mapping[1]}`), writable: mapping[2][1] === 'w' };
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss || !current) continue;
    const bytes = Number(rss[1]) * 1024;
    if (current.name === '[heap]') heap += bytes;
    else if (current.name === '') {
      if (current.writable && current.start % (64n << 20n) === 0n) {
        threadArenas += bytes;
        arenaCount++;
      } else otherAnonymous += bytes;
    }
  }
  return {
    rss_mib: mebibytes(kib('VmRSS')),
    peak_rss_mib: mebibytes(kib('VmHWM')),
    anonymous_mib: mebibytes(kib('RssAnon')),
    file_mib: mebibytes(kib('RssFile')),
    glibc_main_heap_mib: mebibytes(heap),
    glibc_thread_arenas: arenaCount,
    glibc_thread_arenas_mib: mebibytes(threadArenas),
    other_anonymous_mib: mebibytes(otherAnonymous),
    threads: Number(/Threads:\s+(\d+)/.exec(status)![1]),
    // the machine is shared: other work on it shows in latency, and in RSS through the collectors' timing
    load_average_1m: round(loadavg()[0], 2),
    open_fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

/**
 * JavaScript memory from /metrics: the main thread's V8 heap and external memory, and each worker
 * thread's own (as of its last job). Native memory (ONNX Runtime, libvips, SQLite, FAISS) is only in the
 * process figures: the workers are threads of the same process.
 */
async function heapSample(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^faceserver_nodejs_${name} (\\S+)$`, 'm').exec(text)?.[1]);
  const workers: Record<string, Record<string, number>> = {};
  for (const [, pool, worker, kind, bytes] of text.matchAll(/^faceserver_worker_memory_bytes\{pool="([^"]+)",worker="(\d+)",kind="(\w+)"\} (\S+)$/gm)) {
    (workers[`${pool}-${worker}`] ??= {})[`${kind}_mib`] = mebibytes(Number(bytes));
  }
  return { main_v8_heap_used_mib: mebibytes(value('heap_size_used_bytes')), main_external_mib: mebibytes(value('external_memory_bytes')), workers };
}

/**
 * The pipeline's own time so far (stage "total", every purpose), from /metrics: the difference between
 * two readings is the time the workers spent per image in between, without the queue and the network.
 */
async function pipelineTotals(url: string): Promise<{ seconds: number; images: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (kind: 'sum' | 'count') =>
    [...text.matchAll(new RegExp(`^faceserver_pipeline_stage_duration_seconds_${kind}\\{stage="total",[^}]*\\} (\\S+)$`, 'gm'))].reduce((total, m) => total + Number(m[1]), 0);
  return { seconds: sum('sum'), images: sum('count') };
}

/** Bytes of one enrolled template in its partition's FAISS index: 512 float32s. */
const FAISS_BYTES_PER_TEMPLATE = 512 * 4;
/** better-sqlite3's page cache per connection (SQLITE_DEFAULT_CACHE_SIZE=-16000): the most of gallery.sqlite it holds. */
const SQLITE_PAGE_CACHE_BYTES = 16000 * 1024;

/**
 * What the gallery's data can legitimately hold in memory: every template's vector in the search workers, and the
 * gallery's SQLite file up to its page cache's size. RSS minus this is what the server holds beyond its data.
 */
function galleryDataBytes(dataDir: string, subjects: number): number {
  const sqlite = statSync(join(dataDir, 'gallery.sqlite')).size;
  return subjects * FAISS_BYTES_PER_TEMPLATE + Math.min(sqlite, SQLITE_PAGE_CACHE_BYTES);
}

/**
 * jemalloc's latest totals in the server's output (see JEMALLOC_STATS): allocated (live blocks), active
 * (their pages), metadata, resident, mapped and retained (virtual memory kept for reuse, not resident),
 * in MiB; null on glibc.
 */
function jemallocTotals(output: string) {
  const at = output.lastIndexOf('\nAllocated: ');
  if (at < 0) return null;
  const totals = /^Allocated: (\d+), active: (\d+), metadata: (\d+).*?, resident: (\d+), mapped: (\d+), retained: (\d+)/m.exec(output.slice(at + 1));
  if (!totals) return null;
  const [allocated, active, metadata, resident, mapped, retained] = totals.slice(1).map((bytes) => mebibytes(Number(bytes)));
  return { allocated, active, metadata, resident, mapped, retained };
}

/** Subjects per partition the server must hold: seeded and acknowledged enrolments minus acknowledged deletes. */
class Ledger {
  readonly subjects = new Map(PARTITIONS.map((p) => [p, new Set<string>()]));
  /** enrolled and acknowledged, not yet handed to a delete */
  private readonly deletable: Array<{ partition: string; id: string }> = [];

  enrolled(partition: string, id: string) {
    this.subjects.get(partition)!.add(id);
    this.deletable.push({ partition, id });
  }
  /** the oldest deletable subject, or none */
  takeForDelete() {
    return this.deletable.shift();
  }
  deleted(partition: string, id: string) {
    this.subjects.get(partition)!.delete(id);
  }
  expected(): Record<string, number> {
    return Object.fromEntries(PARTITIONS.map((p) => [p, this.subjects.get(p)!.size]));
  }
}

async function statsOf(url: string): Promise<Record<string, number>> {
  const stats = (await (await fetch(`${url}/api/v1/stats`)).json()) as { partitions: Record<string, number> };
  return Object.fromEntries(PARTITIONS.map((p) => [p, stats.partitions[p] ?? 0]));
}

interface Outcome {
  kind: Kind;
  status: number;
  ms: number;
  at: number;
}

const ledger = new Ledger();
let sequence = 0;

/** Sends request number `n` of the mix; returns its status (0: no answer) and records acknowledged writes. */
async function send(url: string, n: number): Promise<{ kind: Kind; status: number }> {
  let kind = MIX[n % MIX.length];
  // each round of the mix goes to the next partition
  const partition = PARTITIONS[Math.floor(n / MIX.length) % PARTITIONS.length];
  const probe = ENROLLABLE_FACES[(n * 7) % ENROLLABLE_FACES.length].bytes;
  const victim = kind === 'delete' ? ledger.takeForDelete() : undefined;
  if (kind === 'delete' && !victim) kind = 'enrol';
  try {
    if (kind === 'delete') {
      const response = await postJson(url, '/api/v1/delete', { subject_id: victim!.id, partition: victim!.partition });
      await response.arrayBuffer();
      if (response.status === 200) ledger.deleted(victim!.partition, victim!.id);
      return { kind, status: response.status };
    }
    const id = `soak-${++sequence}`;
    const seededSubject = `seed-${n % SEEDED_PER_PARTITION}`;
    const metadata = kind === 'verify' ? { subject_id: seededSubject, partition } : kind === 'search' ? { partition, top_k: 5 } : { subject_id: id, partition };
    const response = await postMultipart(url, `/api/v1/${kind}`, { image: Buffer.from(probe), metadata });
    await response.arrayBuffer();
    if (kind === 'enrol' && response.status === 200) ledger.enrolled(partition, id);
    return { kind, status: response.status };
  } catch {
    return { kind, status: 0 };
  }
}

/** Closed loop, `clients` at once, for `seconds`: the peak this server reaches now, on this machine. */
async function measurePeak(url: string, seconds: number, clients: number): Promise<number> {
  let n = 0;
  let answered = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const { status } = await send(url, n++);
        if (status === 200) answered++;
      }
    }),
  );
  return answered / ((performance.now() - started) / 1000);
}

/** Pipeline workers of the server under test (the default configuration). */
const WORKERS = 2;

/**
 * Sizing for large photos: `rounds` times, one image of `megapixels` per worker at once (the most the
 * pipeline holds decoded), with the resident set sampled every 50 ms; then 30 s idle.
 */
async function largeImages(url: string, pid: number, megapixels: number, rounds: number) {
  const width = Math.round(Math.sqrt((megapixels * 1e6 * 3) / 2));
  const height = Math.round((width * 2) / 3);
  const source = ENROLLABLE_FACES[0].bytes;
  const image = await sharp(source).resize(width, height, { fit: 'cover' }).jpeg({ quality: 80 }).toBuffer();
  const before = processSample(pid).rss_mib;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, processSample(pid).rss_mib)), 50);
  const statuses: Record<string, number> = {};
  const afterRound: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          const response = await postMultipart(url, '/api/v1/search', { image, metadata: { partition: PARTITIONS[0], top_k: 5 } });
          await response.arrayBuffer();
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        }),
      );
      afterRound.push(processSample(pid).rss_mib);
    }
  } finally {
    clearInterval(sampler);
  }
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  return {
    image: { width, height, megapixels: round((width * height) / 1e6, 1), jpeg_mib: mebibytes(image.length), decoded_rgb_mib: mebibytes(width * height * 3) },
    concurrent: WORKERS,
    rounds,
    statuses,
    rss_mib: { before, peak, after_each_round: afterRound, after_30_s_idle: processSample(pid).rss_mib },
    peak_above_before_per_worker_mib: round((peak - before) / WORKERS, 1),
  };
}

/** First, last, extremes, largest deviation from the first (%) and slope of (minute, MiB) points. */
function flatness(points: ReadonlyArray<[number, number]>) {
  const values = points.map(([, y]) => y);
  const reference = values[0];
  return {
    after_warm_up: reference,
    at_end: values.at(-1),
    min: Math.min(...values),
    max: Math.max(...values),
    max_deviation_pct: round((Math.max(...values.map((v) => Math.abs(v - reference))) / reference) * 100, 1),
    slope_mib_per_minute: round(slope(points), 2),
  };
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const scratch = scratchDataDir();
let server: ChildServer = await startChildServer({ dataDir: scratch.dataDir, env: serverEnv });
try {
  const atStart = processSample(server.pid);
  for (const partition of PARTITIONS) {
    for (let i = 0; i < SEEDED_PER_PARTITION; i++) {
      const image = Buffer.from(ENROLLABLE_FACES[i % ENROLLABLE_FACES.length].bytes);
      const response = await postMultipart(server.url, '/api/v1/enrol', { image, metadata: { subject_id: `seed-${i}`, partition } });
      if (response.status !== 200) throw new Error(`could not seed ${partition}/seed-${i}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      ledger.subjects.get(partition)!.add(`seed-${i}`);
    }
  }

  const peak = args.rate ? undefined : await measurePeak(server.url, Number(args['peak-seconds']), Number(args['peak-clients']));
  const rate = args.rate ? Number(args.rate) : round(peak! * Number(args.fraction), 1);
  console.log(peak ? `peak ${round(peak, 1)} req/s; soak at ${rate} req/s for ${MINUTES} min` : `soak at ${rate} req/s for ${MINUTES} min`);

  // Open loop: request i is due at start + i / rate whether or not earlier ones have been answered, and
  // its latency counts from when it was due, so a stall shows as latency rather than as a slower client.
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const end = started + MINUTES * 60_000;
  const windows: Array<Record<string, unknown>> = [];
  // A single RSS reading swings by tens of MiB with the garbage collectors' timing (more so when other
  // work takes the CPU), so the resident set is read every few seconds and each window reports its median.
  const rssReadings: Array<{ at: number; mib: number }> = [];
  const rssSampler = setInterval(() => rssReadings.push({ at: performance.now(), mib: processSample(server.pid).rss_mib }), RSS_EVERY_MS);
  let windowStart = started;
  let pipelineBefore = await pipelineTotals(server.url);
  let nextDue = started;
  let n = 0;
  const closeWindow = async (now: number) => {
    const inWindow = outcomes.filter((o) => o.at >= windowStart && o.at < now);
    const ms = inWindow.map((o) => o.ms);
    const stats = ms.length ? summarise(ms, [50, 95, 99]) : undefined;
    const errors = inWindow.filter((o) => o.status !== 200).length;
    const readings = rssReadings.filter((r) => r.at >= windowStart && r.at < now).map((r) => r.mib);
    const rssSpread = readings.length ? summarise(readings, [50]) : undefined;
    const sample = {
      rss_median_mib: rssSpread ? round(rssSpread.percentiles.p50, 1) : null,
      rss_window_min_mib: rssSpread?.min ?? null,
      rss_window_max_mib: rssSpread?.max ?? null, minute: round((now - started) / 60_000, 2), requests: inWindow.length, errors, ...processSample(server.pid), ...(await heapSample(server.url)) };
    const pipelineNow = await pipelineTotals(server.url);
    const images = pipelineNow.images - pipelineBefore.images;
    // server-side time per image: if it rises with the load average while the queue stays short, the
    // client's latency drift is the machine's contention, not the server slowing down
    const pipelineMeanMs = images > 0 ? round(((pipelineNow.seconds - pipelineBefore.seconds) / images) * 1000, 1) : null;
    pipelineBefore = pipelineNow;
    const subjects = Object.values(ledger.expected()).reduce((sum, count) => sum + count, 0);
    const galleryData = mebibytes(galleryDataBytes(scratch.dataDir, subjects));
    const window = {
      ...sample,
      gallery_data_mib: galleryData,
      jemalloc_mib: jemallocTotals(server.output()),
      rss_less_gallery_data_mib: sample.rss_median_mib === null ? null : round(sample.rss_median_mib - galleryData, 1),
      pipeline_mean_ms: pipelineMeanMs,
      p50_ms: stats ? round(stats.percentiles.p50, 1) : null,
      p95_ms: stats ? round(stats.percentiles.p95, 1) : null,
      p99_ms: stats ? round(stats.percentiles.p99, 1) : null,
      gallery: ledger.expected(),
    };
    windows.push(window);
    console.log(
      `${window.minute.toFixed(1).padStart(5)} min  rss median ${sample.rss_median_mib} (${sample.rss_window_min_mib}–${sample.rss_window_max_mib}), now ${sample.rss_mib} MiB (heap ${sample.glibc_main_heap_mib}, ${sample.glibc_thread_arenas} arenas ${sample.glibc_thread_arenas_mib}, other anon ${sample.other_anonymous_mib}, file ${sample.file_mib})` +
        `  main V8 ${sample.main_v8_heap_used_mib} ext ${sample.main_external_mib}  workers V8 ${Object.entries(sample.workers).map(([name, w]) => `${name} ${w.heap_used_mib}/${w.heap_total_mib} ext ${w.external_mib}`).join(', ')}  gallery data ${galleryData}  jemalloc ${window.jemalloc_mib ? `alloc ${window.jemalloc_mib.allocated} res ${window.jemalloc_mib.resident}` : '-'}  threads ${sample.threads} fds ${sample.open_fds}  ${inWindow.length} req, ${errors} err, p50/p95/p99 ${window.p50_ms}/${window.p95_ms}/${window.p99_ms} ms, pipeline ${pipelineMeanMs} ms/image, load ${sample.load_average_1m}`,
    );
    windowStart = now;
  };
  while (performance.now() < end) {
    const now = performance.now();
    if (now - windowStart >= WINDOW_MS) await closeWindow(now);
    while (nextDue <= performance.now() && nextDue < end) {
      const due = nextDue;
      const job = send(server.url, n++).then(({ kind, status }) => {
        outcomes.push({ kind, status, ms: performance.now() - due, at: due });
      });
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      nextDue += 1000 / rate;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(nextDue - performance.now(), 50))));
  }
  await Promise.all(inFlight);
  await closeWindow(performance.now());
  clearInterval(rssSampler);

  // `--large-rounds 0` skips the bursts (diagnosis runs that read jemalloc's statistics at exit)
  const largeRounds = Number(args['large-rounds']);
  const large = largeRounds > 0 ? await largeImages(server.url, server.pid, Number(args['large-megapixels']), largeRounds) : null;
  console.log('large images', JSON.stringify(large));

  // What SQLite holds by now: its page caches (16 MiB per connection by default) fill as the files grow.
  const dataFiles = Object.fromEntries(
    readdirSync(scratch.dataDir)
      .filter((name) => /\.sqlite(-wal)?$/.test(name))
      .map((name) => [name, mebibytes(statSync(join(scratch.dataDir, name)).size)]),
  );

  // Ledger, then a graceful restart on the same data and the ledger again.
  const expected = ledger.expected();
  const beforeRestart = await statsOf(server.url);
  await server.stop();
  const jemallocAtExit = jemallocTotals(server.output());
  server = await startChildServer({ dataDir: scratch.dataDir, env: serverEnv });
  const afterRestart = await statsOf(server.url);
  const matches = (actual: Record<string, number>) => PARTITIONS.every((p) => actual[p] === expected[p]);

  const statuses: Record<string, number> = {};
  for (const o of outcomes) statuses[`${o.kind} ${o.status}`] = (statuses[`${o.kind} ${o.status}`] ?? 0) + 1;
  // Flatness is judged after warm-up, on the full windows (the last one may be short).
  const settled = windows.filter((w) => (w.minute as number) > WARM_UP_MINUTES && w.rss_median_mib !== null);
  const rssAfterWarmUp = settled.map((w) => w.rss_median_mib as number);
  const reference = rssAfterWarmUp[0];
  // p99 drift: the requests of the first minutes after warm-up against those of the last minutes.
  const driftMinutes = Math.min(5, (MINUTES - WARM_UP_MINUTES) / 2);
  const p99Between = (fromMinute: number, toMinute: number) =>
    summarise(outcomes.filter((o) => o.at >= started + fromMinute * 60_000 && o.at < started + toMinute * 60_000).map((o) => o.ms), [99]).percentiles.p99;
  const p99Early = p99Between(WARM_UP_MINUTES, WARM_UP_MINUTES + driftMinutes);
  const p99Late = p99Between(MINUTES - driftMinutes, MINUTES);
  const summary = {
    rss_mib: {
      at_start: atStart.rss_mib,
      after_warm_up: reference,
      at_end: rssAfterWarmUp.at(-1),
      min_after_warm_up: Math.min(...rssAfterWarmUp),
      max_after_warm_up: Math.max(...rssAfterWarmUp),
      max_deviation_pct: round((Math.max(...rssAfterWarmUp.map((r) => Math.abs(r - reference))) / reference) * 100, 1),
      slope_mib_per_minute: round(slope(settled.map((w) => [w.minute as number, w.rss_median_mib as number])), 2),
      less_gallery_data: flatness(settled.map((w) => [w.minute as number, w.rss_less_gallery_data_mib as number])),
      single_readings_after_warm_up: { min: Math.min(...settled.map((w) => w.rss_window_min_mib as number)), max: Math.max(...settled.map((w) => w.rss_window_max_mib as number)) },
    },
    p99_ms: {
      compared_minutes: driftMinutes,
      after_warm_up: round(p99Early, 1),
      at_end: round(p99Late, 1),
      drift_pct: round(((p99Late - p99Early) / p99Early) * 100, 1),
    },
    errors: outcomes.filter((o) => o.status !== 200).length,
    ledger: { expected, stats_before_restart: beforeRestart, stats_after_restart: afterRestart, exact: matches(beforeRestart) && matches(afterRestart) },
  };
  const all = summarise(outcomes.map((o) => o.ms), [50, 95, 99]);
  const results = {
    config: { minutes: MINUTES, mix: args.mix, rate_per_second: rate, fraction_of_peak: args.rate ? null : Number(args.fraction), window_seconds: WINDOW_MS / 1000, warm_up_minutes: WARM_UP_MINUTES, partitions: PARTITIONS.length, seeded_per_partition: SEEDED_PER_PARTITION, server_env: serverEnv },
    peak_per_second: peak === undefined ? null : round(peak, 1),
    requests: outcomes.length,
    statuses,
    latency_ms: { p50: round(all.percentiles.p50, 1), p95: round(all.percentiles.p95, 1), p99: round(all.percentiles.p99, 1) },
    ...summary,
    data_files_mib: dataFiles,
    jemalloc_at_exit_mib: jemallocAtExit,
    large_images: large,
    goal_met: {
      rss_flat_within_5_pct: summary.rss_mib.max_deviation_pct <= 5,
      p99_drift_within_10_pct: summary.p99_ms.drift_pct <= 10,
      no_errors: summary.errors === 0,
      ledger_exact: summary.ledger.exact,
    },
    windows,
  };
  console.log(JSON.stringify({ rss_mib: summary.rss_mib, p99_ms: summary.p99_ms, errors: summary.errors, ledger: summary.ledger, goal_met: results.goal_met }, null, 2));
  writeResults(args.results!, results);
  await server.stop();
} catch (error) {
  await server.kill();
  throw error;
} finally {
  scratch.remove();
}
