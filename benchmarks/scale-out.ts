// Two API nodes against one PostgreSQL database, compared with one node, and with the embedded store in
// the same run. Real server processes (src/main.ts, as `npm start` runs it); a private PostgreSQL cluster
// in a temporary directory; the fixture identities enrolled once; then /verify and /search with the
// 640×480 JPEG from `clients` concurrent clients (autocannon), split evenly over the nodes. Every topology
// has the same pipeline workers in all (two nodes: one worker each), so the comparison is of the topology
// on this machine, not of more hardware.
//   npm run bench:scale-out [-- --seconds 20 --clients 16]
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ChildServerGroup, type ChildServer } from '../test/helpers/child-server.ts';
import { startPrimary } from '../test/helpers/postgres-cluster.ts';
import { enrolFixtureGallery, multipartBody, round, vgaJpeg, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, clients: { type: 'string', default: '16' }, workers: { type: 'string', default: '2' } } });
const seconds = Number(args.seconds);
const clients = Number(args.clients);
const workers = Number(args.workers);
const VGA_SUBJECT = 'vga_subject';
/** a full queue at ~20 ms of CPU a job, drained before the next run */
const QUEUE_DRAIN_MS = 2000;

const vga = await vgaJpeg();
const endpoints = { verify: await multipartBody(vga.bytes, { subject_id: VGA_SUBJECT }), search: await multipartBody(vga.bytes, { top_k: 5 }) };

/** `clients` connections split over the nodes, all at once; figures summed (counts) or of every reply (latency). */
async function loadNodes(nodes: readonly ChildServer[], endpoint: keyof typeof endpoints) {
  await sleep(QUEUE_DRAIN_MS);
  const { body, contentType } = endpoints[endpoint];
  const results = await Promise.all(
    nodes.map((node) =>
      autocannon({ url: `${node.url}/api/v1/${endpoint}`, method: 'POST', headers: { 'content-type': contentType }, body, connections: clients / nodes.length, duration: seconds, timeout: 60, excludeErrorStats: true }),
    ),
  );
  const count = (code: number) => results.reduce((sum, result) => sum + Number(result.statusCodeStats?.[`${code}`]?.count ?? 0), 0);
  // percentiles of two runs cannot be merged exactly: the worse node's is reported
  const worst = (key: 'p50' | 'p99') => Math.max(...results.map((result) => result.latency[key]));
  return {
    endpoint,
    ok_per_s: round(count(200) / seconds, 1),
    status_503: count(503),
    other_non2xx: results.reduce((sum, result) => sum + result.non2xx, 0) - count(503),
    errors: results.reduce((sum, result) => sum + result.errors + result.timeouts, 0),
    p50_ms: worst('p50'),
    p99_ms: worst('p99'),
  };
}

async function measure(topology: string, nodes: ChildServer[]) {
  const rows = [];
  for (const endpoint of ['verify', 'search'] as const) {
    const row = { topology, ...(await loadNodes(nodes, endpoint)) };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}

const primary = await startPrimary();
const servers = new ChildServerGroup();
const node = (pipelineWorkers: number, env: Record<string, string> = {}) => servers.start({ config: { pipeline: { workers: pipelineWorkers } }, env });
try {
  const database = { DATABASE_URL: await primary.createDatabase('faces') };
  const rows = [];

  const embedded = await node(workers);
  const embeddedSubjects = (await enrolFixtureGallery(embedded.url, vga.bytes, VGA_SUBJECT)).enrolled;
  rows.push(...(await measure(`embedded, 1 node × ${workers} workers`, [embedded])));
  await embedded.stop();

  const single = await node(workers, database);
  const subjects = (await enrolFixtureGallery(single.url, vga.bytes, VGA_SUBJECT)).enrolled;
  rows.push(...(await measure(`PostgreSQL, 1 node × ${workers} workers`, [single])));
  await single.stop();

  const pair = [await node(workers / 2, database), await node(workers / 2, database)];
  rows.push(...(await measure(`PostgreSQL, 2 nodes × ${workers / 2} worker${workers / 2 === 1 ? '' : 's'}`, pair)));
  await Promise.all(pair.map((server) => server.stop()));

  console.table(rows);
  writeResults('scale-out', {
    seconds_per_run: seconds,
    clients,
    pipeline_workers_in_all: workers,
    gallery_subjects: { embedded: embeddedSubjects, postgres: subjects },
    image: vga.name,
    note: 'latency percentiles are of 2xx replies only, the worse node of a pair; 503s are counted apart',
    results: rows,
  });
} finally {
  await servers.stopAll();
  primary.destroy();
}
