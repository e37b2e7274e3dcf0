// Recognition calibration on the labelled face fixtures: genuine and impostor cosine similarities,
// FMR / FNMR per threshold, the cosine → score map (score 0.45 = the cosine at FMR 1e-3), the
// embedding-norm floor that tells faces from face-like non-faces, and the quality scores the gates see.
// Writes benchmarks/results/calibration.json; with --write also stores the map in models/manifest.json.
//   npm run calibrate [-- --write]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../src/errors.ts';
import { pipelineConfigSchema } from '../src/pipeline/config.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { fixtureImages, identityOf, MODELS_DIR, RESULTS_DIR, round, summarise } from './fixtures.ts';

/** score ← false-match rate it stands for; 0.45 is the contract's default threshold */
const SCORE_AT_FMR: ReadonlyArray<[fmr: number, score: number]> = [
  [1e-1, 0.2],
  [1e-2, 0.35],
  [1e-3, 0.45],
  [1e-4, 0.55],
];

// Gates off and PAD off: every face is measured, none refused.
const config = pipelineConfigSchema.parse({ pad: { enabled: false }, quality: { enrolMinimum: 0, probeMinimum: 0 } });
const pipeline = await FacePipeline.create(MODELS_DIR, config);
const manifestPath = join(MODELS_DIR, 'manifest.json');

interface Measured {
  name: string;
  identity: string;
  template: Float32Array;
  quality: number;
  norm: number;
}

const faces: Measured[] = [];
const undetected: string[] = [];
for (const { name, bytes } of fixtureImages('faces')) {
  try {
    const result = await pipeline.process(bytes, 'probe');
    faces.push({ name, identity: identityOf(name), template: result.template, quality: result.quality.score, norm: result.quality.measurements!.embedding_norm });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    undetected.push(`${name}: ${error.code}`);
  }
}

// Detections on non-face photos that get past the detector, with their embedding norms; the floor itself
// is what is measured here, so this pass runs without it, and without the landmark model's face flag
// (the floor must hold on its own).
const unfloored = await FacePipeline.create(MODELS_DIR, config, { minEmbeddingNorm: 0, minFaceProbability: 0 });
const nonFaceNorms: Array<{ name: string; norm: number }> = [];
for (const { name, bytes } of fixtureImages('nonfaces')) {
  try {
    const result = await unfloored.process(bytes, 'probe');
    nonFaceNorms.push({ name, norm: round(result.quality.measurements!.embedding_norm, 3) });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);
const genuine: number[] = [];
const impostor: number[] = [];
for (let i = 0; i < faces.length; i++) {
  for (let j = i + 1; j < faces.length; j++) (faces[i].identity === faces[j].identity ? genuine : impostor).push(cosine(faces[i].template, faces[j].template));
}
const impostorsDescending = [...impostor].sort((a, b) => b - a);

/** The lowest cosine whose false-match rate is at most `fmr`: just above the impostor ranked fmr·N. */
function cosineAtFmr(fmr: number): number {
  const allowed = Math.floor(fmr * impostorsDescending.length);
  return impostorsDescending[allowed] + 1e-6;
}
const rates = (threshold: number) => ({
  fmr: impostor.filter((c) => c >= threshold).length / impostor.length,
  fnmr: genuine.filter((c) => c < threshold).length / genuine.length,
});

const knots: Array<[number, number]> = [[-1, 0]];
for (const [fmr, score] of SCORE_AT_FMR) {
  const c = round(cosineAtFmr(fmr), 4);
  if (c > knots.at(-1)![0]) knots.push([c, score]);
}
knots.push([1, 1]);
/** the cosine a score stands for under the knots just built */
function cosineFor(score: number): number {
  const i = knots.findIndex(([, y]) => y >= score);
  const [x0, y0] = knots[Math.max(0, i - 1)];
  const [x1, y1] = knots[i];
  return y1 === y0 ? x1 : x0 + ((score - y0) / (y1 - y0)) * (x1 - x0);
}
const SCORE_GRID = [0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8];
const operatingCosine = knots.find(([, score]) => score === 0.45)![0];

const faceNormFloor = Math.min(...faces.map((f) => f.norm));
const nonFaceNormCeiling = Math.max(0, ...nonFaceNorms.map((n) => n.norm));
const minEmbeddingNorm = round((faceNormFloor + nonFaceNormCeiling) / 2, 2);

const result = {
  generated: new Date().toISOString(),
  model_id: pipeline.modelId,
  data: {
    images: faces.length,
    identities: new Set(faces.map((f) => f.identity)).size,
    genuine_pairs: genuine.length,
    impostor_pairs: impostor.length,
    not_processed: undetected,
    caveat: 'a small fixture set: an FMR of 1e-3 rests on about ' + Math.round(impostor.length * 1e-3) + ' impostor pairs above the threshold',
  },
  cosine: { genuine: summarise(genuine), impostor: summarise(impostor) },
  operating_points: [1e-1, 1e-2, 1e-3, 1e-4].map((fmr) => {
    const c = cosineAtFmr(fmr);
    const measured = rates(c);
    return { target_fmr: fmr, cosine: round(c), fmr: round(measured.fmr, 5), fnmr: round(measured.fnmr, 4) };
  }),
  score_grid: SCORE_GRID.map((score) => {
    const c = cosineFor(score);
    const measured = rates(c);
    return { score, cosine: round(c), fmr: round(measured.fmr, 5), fnmr: round(measured.fnmr, 4) };
  }),
  score_calibration: {
    knots,
    operating_point: { fmr: 1e-3, cosine: operatingCosine, score: 0.45, measured_fmr: round(rates(operatingCosine).fmr, 5), measured_fnmr: round(rates(operatingCosine).fnmr, 4) },
  },
  embedding_norm: { faces: summarise(faces.map((f) => f.norm)), non_face_detections: nonFaceNorms, min_embedding_norm: minEmbeddingNorm },
  quality: {
    faces: summarise(faces.map((f) => f.quality)),
    refused_at_enrol_minimum: faces.filter((f) => f.quality < pipelineConfigSchema.parse({}).quality.enrolMinimum).map((f) => f.name),
    refused_at_probe_minimum: faces.filter((f) => f.quality < pipelineConfigSchema.parse({}).quality.probeMinimum).map((f) => f.name),
  },
};

mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'calibration.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`${result.data.images} images, ${result.data.identities} identities, ${genuine.length} genuine and ${impostor.length} impostor pairs`);
console.log(`cosine genuine p5/p50 ${round(result.cosine.genuine.percentiles.p5)}/${round(result.cosine.genuine.percentiles.p50)}, impostor p50/p99/max ${round(result.cosine.impostor.percentiles.p50)}/${round(result.cosine.impostor.percentiles.p99)}/${round(result.cosine.impostor.max)}`);
console.table(result.operating_points);
console.table(result.score_grid);
console.log(`min_embedding_norm ${minEmbeddingNorm} (faces ≥ ${round(faceNormFloor, 3)}, non-face detections ≤ ${nonFaceNormCeiling})`);
console.log(`quality: refused at enrol minimum ${result.quality.refused_at_enrol_minimum.length}, at probe minimum ${result.quality.refused_at_probe_minimum.length} of ${faces.length}`);

if (process.argv.includes('--write')) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const entry = manifest.models.find((m: { role: string }) => m.role === 'recognition');
  entry.score_calibration = result.score_calibration;
  entry.min_embedding_norm = minEmbeddingNorm;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote score_calibration and min_embedding_norm to ${manifestPath}`);
}
