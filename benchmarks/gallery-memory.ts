// Which gallery operation holds memory? The soak's gallery traffic without the models: the real
// SQLite + FAISS gallery, each kind of operation alone in a fresh process (so one kind's freed memory
// cannot hide another's growth), as many times as a 30-minute soak at 24 req/s makes it, in equal rounds
// after a warm-up round, with the resident set read after each round with garbage collected. A leak adds
// memory in every round; a cache or the allocator's working set fills in the warm-up and stays. Run on
// glibc's malloc: jemalloc returns freed pages on a ~10 s timer, so its resident set at one moment says
// more about that timer than about what is held. This is the run that found faiss-node's search leak
// (2 KiB a search; scripts/setup.mjs now compiles it fixed).
//   npm run bench:gallery-memory [-- --scale 1 --results gallery-memory]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openGallery } from '../src/gallery/index.ts';
import type { Template } from '../src/pipeline/types.ts';
import { TemplateCipher } from '../src/security/template-cipher.ts';
import { seededRandom } from '../tools/seeded-random.ts';
import { round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { scale: { type: 'string', default: '1' }, kind: { type: 'string' }, results: { type: 'string', default: 'gallery-memory' } } });
const SCALE = Number(args.scale);
const DIMENSION = 512;
const PARTITIONS = ['gate-a', 'gate-b', 'gate-c', 'gate-d'];
const SEEDED_PER_PARTITION = 25;
const ROUNDS = 4;
// a 30-minute soak at 24.3 req/s: 43,740 requests, per 20 of them 10 verify, 7 search, 2 enrol, 1 delete
const SOAK_REQUESTS = 43_740 * SCALE;
const OPERATIONS = {
  verify: Math.round((SOAK_REQUESTS * 10) / 20),
  search: Math.round((SOAK_REQUESTS * 7) / 20),
  // enrol and delete in pairs, so the gallery's own size (and data) stays where it was
  enrol_and_delete: Math.round((SOAK_REQUESTS * 2) / 20),
};
type Kind = keyof typeof OPERATIONS;

interface KindResult {
  operations: number;
  rss_after_warm_up_and_each_round_mib: number[];
  growth_mib: number;
  growth_bytes_per_operation: number;
  seconds: number;
}

const random = seededRandom(19);
function unitVector(): Template {
  const vector = Float32Array.from({ length: DIMENSION }, () => random() - 0.5);
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

async function settledResidentMiB(): Promise<number> {
  global.gc!();
  await new Promise((resolve) => setTimeout(resolve, 200));
  global.gc!();
  return round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024, 1);
}

/** Runs one kind of operation in this process and prints its result as JSON. */
async function measure(kind: Kind): Promise<void> {
  if (!global.gc) throw new Error('run with node --expose-gc (npm run bench:gallery-memory does)');
  const dataDir = mkdtempSync(join(tmpdir(), 'gallery-memory-'));
  const gallery = await openGallery({ dataDir, flushDelayMs: 1000, logger: pino({ level: 'silent' }), cipher: new TemplateCipher(Buffer.alloc(32, 7)) });
  try {
    let nextSubject = 0;
    const members = PARTITIONS.map(() => [] as string[]);
    const enrolOne = async (p: number) => {
      const subjectId = `subject-${nextSubject++}`;
      await gallery.enrol(PARTITIONS[p], subjectId, { template: unitVector(), modelId: 'bench', quality: 0.9, source: 'enrol' });
      members[p].push(subjectId);
    };
    for (let p = 0; p < PARTITIONS.length; p++) for (let i = 0; i < SEEDED_PER_PARTITION; i++) await enrolOne(p);
    const operation: Record<Kind, (n: number) => Promise<unknown>> = {
      verify: async (n) => gallery.subjectTemplates(PARTITIONS[n % 4], members[n % 4][n % SEEDED_PER_PARTITION]),
      search: async (n) => gallery.search(PARTITIONS[n % 4], unitVector(), 5),
      enrol_and_delete: async (n) => {
        await enrolOne(n % 4);
        await gallery.deleteSubject(PARTITIONS[n % 4], members[n % 4].shift()!);
      },
    };
    const perRound = Math.ceil(OPERATIONS[kind] / ROUNDS);
    let n = 0;
    for (; n < perRound; n++) await operation[kind](n);
    const afterRound = [await settledResidentMiB()];
    const started = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < perRound; i++, n++) await operation[kind](n);
      afterRound.push(await settledResidentMiB());
    }
    const growth = round(afterRound[ROUNDS] - afterRound[0], 1);
    const result: KindResult = {
      operations: perRound * ROUNDS,
      rss_after_warm_up_and_each_round_mib: afterRound,
      growth_mib: growth,
      growth_bytes_per_operation: Math.round((growth * 1048576) / (perRound * ROUNDS)),
      seconds: round((performance.now() - started) / 1000, 1),
    };
    process.stdout.write(JSON.stringify(result));
  } finally {
    gallery.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args.kind) {
  await measure(args.kind as Kind);
} else {
  const results: Partial<Record<Kind, KindResult>> = {};
  for (const kind of Object.keys(OPERATIONS) as Kind[]) {
    const output = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--kind', kind, '--scale', String(SCALE)], {
      encoding: 'utf8',
      env: { ...process.env, LD_PRELOAD: '' },
    });
    const result: KindResult = JSON.parse(output);
    results[kind] = result;
    console.log(`${kind.padEnd(17)} ${String(result.operations).padStart(7)} ops  RSS after warm-up and each round ${result.rss_after_warm_up_and_each_round_mib.join(' → ')} MiB (${result.growth_mib})  ${result.seconds} s`);
  }
  writeResults(args.results, { config: { scale: SCALE, soak_requests: SOAK_REQUESTS, rounds: ROUNDS, partitions: PARTITIONS.length, seeded_per_partition: SEEDED_PER_PARTITION, allocator: 'glibc' }, operations: results });
}
