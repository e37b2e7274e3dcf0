// Shared by the benchmark scripts: where the fixtures are and how to list them.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { postMultipart, readXml } from '../test/helpers/test-server.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const FIXTURES_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures');
export const MODELS_DIR = join(PROJECT_ROOT, 'models');
export const RESULTS_DIR = join(PROJECT_ROOT, 'benchmarks', 'results');

export interface FixtureImage {
  /** path relative to the fixtures directory, e.g. faces/london_001/1.jpg */
  name: string;
  bytes: Uint8Array;
}

/** every image below `folder` (relative to the fixtures directory), sorted, labels.csv left out */
export function fixtureImages(folder: string): FixtureImage[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? walk(join(dir, entry)) : [join(dir, entry)]));
  return walk(join(FIXTURES_DIR, folder))
    .filter((path) => !path.endsWith('.csv'))
    .map((path) => ({ name: relative(FIXTURES_DIR, path), bytes: new Uint8Array(readFileSync(path)) }));
}

/** faces/<identity>/<file> → identity */
export const identityOf = (name: string) => name.split('/')[1];

export interface Summary {
  count: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  percentiles: Record<string, number>;
}

export function summarise(values: readonly number[], percentiles = [1, 5, 25, 50, 75, 95, 99]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / count;
  const sd = Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, count - 1));
  const at = (p: number) => sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))];
  return { count, mean, sd, min: sorted[0], max: sorted[count - 1], percentiles: Object.fromEntries(percentiles.map((p) => [`p${p}`, at(p)])) };
}

export const round = (value: number, digits = 4) => Number(value.toFixed(digits));

const loadAverage = () => {
  const [one, five, fifteen] = loadavg().map((v) => round(v, 2));
  return { one, five, fifteen };
};
/** Taken when a benchmark script starts (it imports this module first thing). */
const startedUnder = { at: new Date().toISOString(), loadAverage: loadAverage() };

/** Where and under what load a benchmark ran: the figures mean little without it. */
export function machine() {
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    nproc: availableParallelism(),
    cpu: cpuModel,
    node: process.version,
    started: startedUnder,
    finished: { at: new Date().toISOString(), loadAverage: loadAverage() },
  };
}

/** Writes benchmarks/results/<name>.json with the machine it ran on. */
export function writeResults(name: string, results: Record<string, unknown>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify({ benchmark: name, machine: machine(), ...results }, null, 2)}\n`);
  console.log(`wrote ${relative(PROJECT_ROOT, path)}`);
}

/** p50/p90/p99 in milliseconds, rounded for tables. */
export function latency(values: readonly number[]) {
  const { count, mean, percentiles } = summarise(values, [50, 90, 99]);
  return { count, mean: round(mean, 2), p50: round(percentiles.p50, 2), p90: round(percentiles.p90, 2), p99: round(percentiles.p99, 2) };
}

/** The 640×480 JPEG the latency targets name: a fixture face cropped to 4:3 and re-encoded like a webcam frame. */
export async function vgaJpeg(): Promise<FixtureImage> {
  const source = fixtureImages('faces/George_W_Bush')[0];
  const bytes = await sharp(source.bytes).resize(640, 480, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  return { name: `${source.name} → 640×480`, bytes: new Uint8Array(bytes) };
}

/** One multipart body (`image` + `metadata`), encoded once so every client of a load run replays it. */
export async function multipartBody(image: Uint8Array, metadata: unknown): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'probe.jpg');
  form.append('metadata', JSON.stringify(metadata));
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

/** The load benchmarks' gallery: one template per fixture identity, and `probe` as `probeSubject`; how many were enrolled. */
export async function enrolFixtureGallery(url: string, probe: Uint8Array, probeSubject: string): Promise<{ enrolled: number; tried: number }> {
  const enrolments = [
    ...[...new Map(fixtureImages('faces').map((image) => [identityOf(image.name), image])).values()].map((image) => ({ subject: identityOf(image.name), bytes: image.bytes })),
    { subject: probeSubject, bytes: probe },
  ];
  let enrolled = 0;
  for (const { subject, bytes } of enrolments) {
    const reply = await readXml(await postMultipart(url, '/api/v1/enrol', { image: Buffer.from(bytes), metadata: { subject_id: subject } }));
    if (reply.status === 200) enrolled++;
  }
  return { enrolled, tried: enrolments.length };
}
