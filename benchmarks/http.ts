// The real server under load: POST /verify and /search with the 640×480 JPEG at 1, 4, 16 and 64
// concurrent clients (autocannon, one connection per client), on a gallery of the fixture identities.
// Throughput, latency percentiles, errors and 503s (the pipeline queue refusing work) per level.
//   npm run bench:http [-- --seconds N --levels 1,4,16,64]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { enrolFixtureGallery, multipartBody, round, vgaJpeg, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, levels: { type: 'string', default: '1,4,16,64' } } });
/** a full queue (32 jobs) at ~20 ms of CPU each, with room to spare */
const QUEUE_DRAIN_MS = 2000;
const TARGET = { verificationsPerSecondAt16: 50, p50: 35, p99: 80 };
const VGA_SUBJECT = 'vga_subject';

// The served configuration, on an empty data directory; the 503s under overload are expected, not logged.
const dataDir = mkdtempSync(join(tmpdir(), 'faceserver-bench-'));
const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir });
const server = await startServer(config, createLogger('silent'));
try {
  // A gallery of one template per fixture identity plus the probe's own subject.
  const vga = await vgaJpeg();
  const { enrolled, tried } = await enrolFixtureGallery(server.url, vga.bytes, VGA_SUBJECT);
  console.log(`enrolled ${enrolled} of ${tried} subjects`);

  const endpoints = {
    verify: await multipartBody(vga.bytes, { subject_id: VGA_SUBJECT }),
    search: await multipartBody(vga.bytes, { top_k: 5 }),
  };

  const seconds = Number(args.seconds);
  const rows: Array<Record<string, string | number>> = [];
  for (const [endpoint, { body, contentType }] of Object.entries(endpoints)) {
    for (const connections of args.levels.split(',').map(Number)) {
      // Requests a level left queued would otherwise meet the next level's first clients.
      await sleep(QUEUE_DRAIN_MS);
      const result = await autocannon({
        url: `${server.url}/api/v1/${endpoint}`,
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
        connections,
        duration: seconds,
        timeout: 60,
        // latency of answered requests only: the 503s come back at once and would flatter the percentiles
        excludeErrorStats: true,
      });
      const status = (code: number) => Number(result.statusCodeStats?.[`${code}`]?.count ?? 0);
      rows.push({
        endpoint,
        clients: connections,
        requests: result.requests.total,
        ok: status(200),
        status_503: status(503),
        other_non2xx: result.non2xx - status(503),
        errors: result.errors,
        timeouts: result.timeouts,
        ok_per_s: round(status(200) / seconds, 1),
        p50_ms: result.latency.p50,
        p90_ms: result.latency.p90,
        p99_ms: result.latency.p99,
        max_ms: result.latency.max,
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
  console.table(rows);
  const at16 = rows.find((row) => row.endpoint === 'verify' && row.clients === 16);
  if (at16) console.log(`verify at 16 clients: ${at16.ok_per_s}/s (target ≥ ${TARGET.verificationsPerSecondAt16})`);
  writeResults('http', {
    seconds_per_level: seconds,
    gallery_subjects: enrolled,
    image: vga.name,
    pipeline: { workers: config.pipeline.workers, intraOpThreads: config.pipeline.intraOpThreads, maxQueue: config.pipeline.maxQueue },
    note: 'latency percentiles are of 2xx replies only; 503s are counted apart',
    targets: TARGET,
    results: rows,
  });
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
