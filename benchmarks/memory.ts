// Does the server's memory settle under sustained traffic? 2,000 real requests (verify, search, enrol
// with fixture faces) against `src/main.ts` in its own process, whose resident set is read from
// /proc/<pid>/status before, during and after.
//   npm run bench:memory [-- --requests N --clients N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { scratchDataDir, startChildServer } from '../test/helpers/child-server.ts';
import { postMultipart, readXml } from '../test/helpers/test-server.ts';
import { ENROLLABLE_FACES } from '../test/reliability/support.ts';
import { round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '2000' }, clients: { type: 'string', default: '4' } } });
const REQUESTS = Number(args.requests);
const CLIENTS = Number(args.clients);
const WARM_UP = 100;
const SAMPLE_EVERY = 100;
// Per 20 requests: 10 verify, 7 search, 3 enrol — reads dominate, and enrolment keeps the gallery growing.
const MIX = [...Array(10).fill('verify'), ...Array(7).fill('search'), ...Array(3).fill('enrol')] as const;

const mebibytes = (kib: number) => round(kib / 1024, 1);

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]);
  return { rss: mebibytes(field('VmRSS')), peak: mebibytes(field('VmHWM')) };
}

const scratch = scratchDataDir();
const server = await startChildServer({ dataDir: scratch.dataDir });
try {
  const atStart = memoryOf(server.pid);
  const subjects = ENROLLABLE_FACES.map((face, i) => ({ id: `member-${i}`, image: face.bytes }));
  for (const { id, image } of subjects) {
    const reply = await readXml(await postMultipart(server.url, '/api/v1/enrol', { image, metadata: { subject_id: id } }));
    if (reply.status !== 200) throw new Error(`could not enrol ${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }

  const statuses: Record<string, number> = {};
  const samples: Array<{ requests: number; rss_mib: number }> = [];
  let sent = 0;
  let answered = 0;
  let afterWarmUp = atStart;
  const started = performance.now();
  const client = async () => {
    while (sent < REQUESTS) {
      const n = sent++;
      const kind = MIX[n % MIX.length];
      const subject = subjects[n % subjects.length];
      const probe = subjects[(n * 7) % subjects.length].image;
      const metadata = kind === 'verify' ? { subject_id: subject.id } : kind === 'search' ? { top_k: 5 } : { subject_id: `grown-${n}` };
      const response = await postMultipart(server.url, `/api/v1/${kind}`, { image: probe, metadata });
      await response.arrayBuffer();
      const key = `${kind} ${response.status}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      answered++;
      if (answered === WARM_UP) afterWarmUp = memoryOf(server.pid);
      if (answered % SAMPLE_EVERY === 0) samples.push({ requests: answered, rss_mib: memoryOf(server.pid).rss });
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - started) / 1000;
  const atEnd = memoryOf(server.pid);
  const stats = await (await fetch(`${server.url}/api/v1/stats`)).json();

  const results = {
    requests: answered,
    clients: CLIENTS,
    seconds: round(seconds, 1),
    statuses,
    gallery_subjects: stats.total_subjects,
    rss_mib: {
      at_start: atStart.rss,
      after_warm_up: afterWarmUp.rss,
      at_end: atEnd.rss,
      peak: atEnd.peak,
      growth_after_warm_up: round(atEnd.rss - afterWarmUp.rss, 1),
    },
    samples,
  };
  console.table(results.rss_mib);
  console.log(`${answered} requests in ${results.seconds} s`, statuses);
  writeResults('memory', results);
  await server.stop();
} catch (error) {
  await server.kill();
  throw error;
} finally {
  scratch.remove();
}
