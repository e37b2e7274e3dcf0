// Face geometry, before and after, side by side in one run: every face fixture through the real pipeline
// (served configuration: PAD and quality gates on) with the earlier bundle (RFB-320 + 68 points + Hopenet,
// models/manifest-faceplugin-68.json, at the PAD threshold it was calibrated for) and with the current one
// (BlazeFace + MediaPipe mesh, models/manifest.json). Prints failure-to-acquire, rank-1 and FNMR at
// FMR 1e-2 / 1e-3 / 1e-4 — over the pairs of acquired images, and generalised (ISO/IEC 19795-1: a
// genuine pair with a refused image counts as a non-match) — the separation d′ of genuine and impostor
// cosines, and how steady each bundle's yaw is under mirroring (a mirrored face has the
// opposite yaw, so |yaw + yaw of the mirror| / 2 is pure measurement error). Then the captures the
// geometry work is about, made from every third face fixture: turned 90° / 180° / 270° (a wrong EXIF
// tag), rolled 30° and −45° (a tilted head), grey, and small (1/8 size) in a large photo — failure to acquire, and
// how many of the acquired templates still match the upright original at the FMR 1e-3 threshold.
// Writes benchmarks/results/geometry-eval.json.
//   npm run eval:geometry
import sharp from 'sharp';
import { loadConfig } from '../src/config/config.ts';
import { ApiError } from '../src/errors.ts';
import { pipelineConfigSchema, type PipelineConfig } from '../src/pipeline/config.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { tiltedHead } from '../test/helpers/fixtures.ts';
import { fixtureImages, identityOf, MODELS_DIR, round, summarise, writeResults } from './fixtures.ts';

const served = loadConfig().pipeline;
const BUNDLES: Array<{ name: string; config: PipelineConfig }> = [
  // the PAD threshold the earlier bundle was calibrated at (benchmarks/results/pad.json of 2026-11-23)
  { name: 'before: faceplugin RFB-320 + 68 points', config: pipelineConfigSchema.parse({ ...served, manifest: 'manifest-faceplugin-68.json', pad: { ...served.pad, threshold: 0.83 } }) },
  { name: 'after: BlazeFace + MediaPipe mesh', config: served },
];
const FMRS = [1e-2, 1e-3, 1e-4];

const faces = fixtureImages('faces');

/** Ways a capture differs from the fixture, each made with sharp from the fixture's bytes. */
const HARD_CAPTURES: Record<string, (bytes: Uint8Array) => Promise<Buffer>> = {
  turned_90: (bytes) => sharp(bytes).rotate(90).jpeg({ quality: 92 }).toBuffer(),
  turned_180: (bytes) => sharp(bytes).rotate(180).jpeg({ quality: 92 }).toBuffer(),
  turned_270: (bytes) => sharp(bytes).rotate(270).jpeg({ quality: 92 }).toBuffer(),
  rolled_30: (bytes) => tiltedHead(bytes, 30),
  rolled_minus_45: (bytes) => tiltedHead(bytes, -45),
  grey: (bytes) => sharp(bytes).greyscale().jpeg({ quality: 92 }).toBuffer(),
  small_in_large: async (bytes) => {
    const { width = 0 } = await sharp(bytes).metadata();
    const inset = await sharp(bytes).resize(Math.max(48, Math.round(width / 8))).toBuffer();
    return sharp({ create: { width: 2400, height: 1600, channels: 3, background: '#6a7b5c' } })
      .composite([{ input: inset, left: 1500, top: 900 }])
      .jpeg({ quality: 92 })
      .toBuffer();
  },
};
const hardSources = faces.filter((_, i) => i % 3 === 0);
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);

interface Acquired {
  name: string;
  identity: string;
  template: Float32Array;
}

async function evaluate(config: PipelineConfig) {
  const pipeline = await FacePipeline.create(MODELS_DIR, config);
  const acquired: Acquired[] = [];
  const refused: Record<string, string[]> = {};
  const yawErrors: number[] = [];
  for (const { name, bytes } of faces) {
    try {
      const result = await pipeline.process(bytes, 'probe');
      acquired.push({ name, identity: identityOf(name), template: result.template });
      const mirrored = await pipeline.process(await sharp(bytes).flop().toBuffer(), 'probe').catch(() => undefined);
      const yaw = result.quality.measurements?.yaw;
      const mirroredYaw = mirrored?.quality.measurements?.yaw;
      if (yaw !== undefined && mirroredYaw !== undefined) yawErrors.push(Math.abs(yaw + mirroredYaw) / 2);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      (refused[error.code] ??= []).push(name);
    }
  }

  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < acquired.length; i++) {
    for (let j = i + 1; j < acquired.length; j++) (acquired[i].identity === acquired[j].identity ? genuine : impostor).push(cosine(acquired[i].template, acquired[j].template));
  }
  const impostorsDescending = [...impostor].sort((a, b) => b - a);
  // genuine pairs of the fixtures that a refusal took out of the comparison
  const allGenuinePairs = faces.reduce((n, f, i) => n + faces.slice(i + 1).filter((g) => identityOf(g.name) === identityOf(f.name)).length, 0);
  const fnmrAt = (fmr: number) => {
    // the lowest threshold with at most fmr·N impostor pairs at or above it
    const threshold = impostorsDescending[Math.floor(fmr * impostorsDescending.length)] + 1e-6;
    const misses = genuine.filter((c) => c < threshold).length;
    return {
      fmr,
      cosine: round(threshold),
      fnmr: round(misses / genuine.length, 4),
      generalised_fnmr: round((misses + allGenuinePairs - genuine.length) / allGenuinePairs, 4),
      impostors_above: impostor.filter((c) => c >= threshold).length,
    };
  };
  const stats = (values: number[]) => {
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    return { mean, variance: values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length };
  };
  const genuineStats = stats(genuine);
  const impostorStats = stats(impostor);

  // rank 1: each acquired image as a probe against all the others, where its identity has another image
  let probes = 0;
  let hits = 0;
  for (const probe of acquired) {
    const others = acquired.filter((a) => a !== probe);
    if (!others.some((a) => a.identity === probe.identity)) continue;
    const best = others.reduce((top, a) => (cosine(probe.template, a.template) > cosine(probe.template, top.template) ? a : top));
    probes++;
    if (best.identity === probe.identity) hits++;
  }

  const threshold1e3 = impostorsDescending[Math.floor(1e-3 * impostorsDescending.length)] + 1e-6;
  const hard: Record<string, { captures: number; failure_to_acquire: number; refused: Record<string, number>; matched_original_at_1e3: number }> = {};
  for (const [kind, make] of Object.entries(HARD_CAPTURES)) {
    const entry = { captures: 0, failure_to_acquire: 0, refused: {} as Record<string, number>, matched_original_at_1e3: 0 };
    let matched = 0;
    let acquiredHere = 0;
    for (const { name, bytes } of hardSources) {
      entry.captures++;
      const original = acquired.find((a) => a.name === name);
      try {
        const result = await pipeline.process(await make(bytes), 'probe');
        acquiredHere++;
        if (original && cosine(result.template, original.template) >= threshold1e3) matched++;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        entry.refused[error.code] = (entry.refused[error.code] ?? 0) + 1;
      }
    }
    entry.failure_to_acquire = round(1 - acquiredHere / entry.captures, 4);
    entry.matched_original_at_1e3 = round(matched / entry.captures, 4);
    hard[kind] = entry;
  }

  const refusals = Object.values(refused).reduce((n, list) => n + list.length, 0);
  return {
    manifest: config.manifest,
    pad_threshold: config.pad.threshold,
    images: faces.length,
    acquired: acquired.length,
    failure_to_acquire: round(refusals / faces.length, 4),
    refused,
    rank1: round(hits / probes, 4),
    rank1_probes: probes,
    genuine_pairs: genuine.length,
    impostor_pairs: impostor.length,
    fnmr_at_fmr: FMRS.map(fnmrAt),
    d_prime: round((genuineStats.mean - impostorStats.mean) / Math.sqrt((genuineStats.variance + impostorStats.variance) / 2), 3),
    yaw_mirror_error_degrees: yawErrors.length ? summarise(yawErrors, [50, 90]) : null,
    hard_captures: hard,
  };
}

const results: Array<{ bundle: string } & Awaited<ReturnType<typeof evaluate>>> = [];
for (const bundle of BUNDLES) results.push({ bundle: bundle.name, ...(await evaluate(bundle.config)) });

console.table(
  results.map((r) => ({
    bundle: r.bundle,
    FTA: r.failure_to_acquire,
    refused: Object.entries(r.refused).map(([code, list]) => `${code} ${list.length}`).join(', ') || '-',
    rank1: r.rank1,
    ...Object.fromEntries(r.fnmr_at_fmr.map((p) => [`FNMR@${p.fmr}`, p.fnmr])),
    ...Object.fromEntries(r.fnmr_at_fmr.map((p) => [`gen. FNMR@${p.fmr}`, p.generalised_fnmr])),
    "d'": r.d_prime,
    'yaw mirror err p50': r.yaw_mirror_error_degrees ? round(r.yaw_mirror_error_degrees.percentiles.p50, 2) : '-',
  })),
);
console.log('hard captures: failure to acquire / share matching the upright original at FMR 1e-3');
console.table(
  Object.fromEntries(
    Object.keys(HARD_CAPTURES).map((kind) => [
      kind,
      Object.fromEntries(results.map((r) => [r.bundle.split(':')[0], `${r.hard_captures[kind].failure_to_acquire} / ${r.hard_captures[kind].matched_original_at_1e3}`])),
    ]),
  ),
);
writeResults('geometry-eval', {
  data: {
    images: faces.length,
    identities: new Set(faces.map((f) => identityOf(f.name))).size,
    hard_captures: `${hardSources.length} fixtures (every third) × ${Object.keys(HARD_CAPTURES).length} kinds`,
    caveat: 'a small fixture set: FMR 1e-4 rests on about one impostor pair; each bundle’s thresholds come from its own impostor scores on the same images',
  },
  results,
});
