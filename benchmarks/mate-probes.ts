// The mate-recall data set of the search benchmarks (bench:search-mate for the embedded store,
// bench:postgres-search for PostgreSQL), so both stores are judged on the same galleries and probes: one
// partition of synthetic 512-d unit templates (one per subject) plus the real fixture faces planted in it.
// Synthetic probes are an enrolled template mixed with noise to a cosine drawn from the genuine-score
// distribution the calibration measured; real probes are the other photos of each planted person.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiError } from '../src/errors.ts';
import { pipelineConfigSchema } from '../src/pipeline/config.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { fixtureImages, identityOf, MODELS_DIR, RESULTS_DIR, round } from './fixtures.ts';

export const DIMENSION = 512;

/** xorshift32 + Box–Muller: reproducible Gaussian draws without a dependency. */
export function gaussian(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}

export const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i], 0);

/** Inverse CDF of the calibration's genuine cosines, piecewise linear through min, p1 … p99, max. */
export function genuineCosineSampler(): { draw: (u: number) => number; impostorSd: number; source: unknown } {
  const calibration = JSON.parse(readFileSync(join(RESULTS_DIR, 'calibration.json'), 'utf8'));
  const genuine = calibration.cosine.genuine as { min: number; max: number; count: number; percentiles: Record<string, number> };
  const knots: Array<[number, number]> = [[0, genuine.min], ...Object.entries(genuine.percentiles).map(([p, value]): [number, number] => [Number(p.slice(1)) / 100, value]), [1, genuine.max]];
  const draw = (u: number) => {
    const upper = knots.findIndex(([q]) => q >= u);
    if (upper <= 0) return knots[0][1];
    const [q0, v0] = knots[upper - 1];
    const [q1, v1] = knots[upper];
    return v0 + ((u - q0) / (q1 - q0)) * (v1 - v0);
  };
  return { draw, impostorSd: calibration.cosine.impostor.sd, source: { pairs: genuine.count, percentiles: genuine.percentiles, min: genuine.min, max: genuine.max, generated: calibration.generated } };
}

/** A probe at cosine `c` to `mate`: c·mate + √(1−c²)·u, u a gallery-like unit vector made orthogonal to mate. */
export function mateProbe(mate: Float32Array, c: number, noise: Float32Array): Float32Array {
  const along = dot(noise, mate);
  for (let i = 0; i < DIMENSION; i++) noise[i] -= along * mate[i];
  normalise(noise);
  const s = Math.sqrt(1 - c * c);
  return normalise(Float32Array.from(mate, (value, i) => c * value + s * noise[i]));
}

/** Real templates of the fixture faces, by identity, through the served pipeline (gates and PAD off). */
export async function fixtureTemplates(): Promise<Map<string, Float32Array[]>> {
  const config = pipelineConfigSchema.parse({ pad: { enabled: false }, quality: { enrolMinimum: 0, probeMinimum: 0 } });
  const pipeline = await FacePipeline.create(MODELS_DIR, config);
  const byIdentity = new Map<string, Float32Array[]>();
  for (const { name, bytes } of fixtureImages('faces')) {
    try {
      const { template } = await pipeline.process(bytes, 'probe');
      byIdentity.set(identityOf(name), [...(byIdentity.get(identityOf(name)) ?? []), normalise(Float32Array.from(template))]);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }
  return byIdentity;
}

/**
 * Unit vectors spread like real templates of different people. Isotropic 512-d vectors have impostor
 * cosines with sd 1/√512 = 0.044; the calibration measured 0.099 for real faces: embeddings use fewer
 * directions. A shaped vector is a random mix of real fixture templates (the basis, people never planted)
 * plus isotropic noise, the noise weight chosen so that the cosine between two of them has the measured sd.
 */
export function shapedGenerator(basis: readonly Float32Array[], targetSd: number, draw: () => number) {
  const make = (noiseWeight: number) => (out: Float32Array) => {
    out.fill(0);
    for (const template of basis) {
      const weight = draw() / Math.sqrt(basis.length);
      for (let i = 0; i < DIMENSION; i++) out[i] += weight * template[i];
    }
    for (let i = 0; i < DIMENSION; i++) out[i] += (noiseWeight * draw()) / Math.sqrt(DIMENSION);
    return normalise(out);
  };
  const cosineSd = (noiseWeight: number) => {
    const generate = make(noiseWeight);
    const cosines = Array.from({ length: 600 }, () => dot(generate(new Float32Array(DIMENSION)), generate(new Float32Array(DIMENSION))));
    const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
    return Math.sqrt(cosines.reduce((sum, c) => sum + (c - mean) ** 2, 0) / cosines.length);
  };
  // More noise, smaller spread: bisect on the noise weight.
  let [low, high] = [0, 8];
  for (let step = 0; step < 16; step++) {
    const middle = (low + high) / 2;
    if (cosineSd(middle) > targetSd) low = middle;
    else high = middle;
  }
  const noiseWeight = (low + high) / 2;
  return { generate: make(noiseWeight), noiseWeight, cosineSd: cosineSd(noiseWeight) };
}

export interface MateProbe {
  kind: 'synthetic' | 'fixture';
  mate: string;
  vector: Float32Array;
}

export interface MateDataSet {
  /** `size` synthetic templates, row r belonging to subject `synthetic-r` */
  vectors: Float32Array;
  /** real people enrolled with their first photo as `fixture-<identity>` */
  planted: Array<[string, Float32Array[]]>;
  probes: MateProbe[];
  /** what the gallery is, for the results file */
  description: Record<string, unknown>;
}

/**
 * Real people: identities alternate between the shaping basis and the planted subjects, so no planted face
 * helped shape the gallery it is searched in. The first photo of a planted person is enrolled, the others
 * are its probes.
 */
export async function mateDataSet(size: number, queryCount: number, gallery: 'random' | 'shaped'): Promise<MateDataSet> {
  const draw = gaussian(size);
  const fixtures = [...(await fixtureTemplates())];
  const basis = fixtures.filter((_, i) => i % 2 === 1).flatMap(([, templates]) => templates);
  const planted = fixtures.filter(([, templates], i) => i % 2 === 0 && templates.length >= 2);
  const calibration = genuineCosineSampler();
  const shaped = gallery === 'shaped' ? shapedGenerator(basis, calibration.impostorSd, draw) : undefined;
  const galleryVector = (out: Float32Array): Float32Array => {
    if (shaped) return shaped.generate(out);
    for (let i = 0; i < DIMENSION; i++) out[i] = draw();
    return normalise(out);
  };
  const started = performance.now();
  const vectors = new Float32Array(size * DIMENSION);
  for (let row = 0; row < size; row++) galleryVector(vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION));
  const generateS = (performance.now() - started) / 1000;
  const probes: MateProbe[] = [
    ...Array.from({ length: queryCount }, (_, q): MateProbe => {
      const row = Math.floor((q * 2654435761) % size);
      const mate = vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION);
      return { kind: 'synthetic', mate: `synthetic-${row}`, vector: mateProbe(mate, calibration.draw((q + 0.5) / queryCount), galleryVector(new Float32Array(DIMENSION))) };
    }),
    ...planted.flatMap(([identity, templates]) => templates.slice(1).map((vector): MateProbe => ({ kind: 'fixture', mate: `fixture-${identity}`, vector }))),
  ];
  const description = {
    size,
    planted_fixture_subjects: planted.length,
    templates: size + planted.length,
    synthetic_queries: queryCount,
    fixture_queries: probes.length - queryCount,
    gallery: describeGallery(shaped, basis.length, calibration.impostorSd),
    one_template_per_subject: true,
    genuine_cosines_from: calibration.source,
    generate_s: round(generateS, 1),
  };
  return { vectors, planted, probes, description };
}

/** What kind of synthetic gallery a run used, for its results file. */
export function describeGallery(shaped: ReturnType<typeof shapedGenerator> | undefined, basisTemplates: number, targetSd: number): Record<string, unknown> {
  return shaped
    ? { kind: 'shaped', basis_templates: basisTemplates, noise_weight: round(shaped.noiseWeight), impostor_cosine_sd: round(shaped.cosineSd), target_sd: targetSd }
    : { kind: 'random unit vectors (impostor cosine sd 1/√512 = 0.044; the worst case for a coarse quantiser: no structure)' };
}

/** How many probes of each kind found their mate first, given each probe's rank-1 subject. */
export function mateHits(probes: readonly MateProbe[], firsts: readonly string[]): { synthetic: number; fixture: number } {
  const hits = (kind: MateProbe['kind']) => probes.filter((probe, q) => probe.kind === kind && firsts[q] === probe.mate).length;
  return { synthetic: hits('synthetic'), fixture: hits('fixture') };
}
