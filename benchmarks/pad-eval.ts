// PAD study: which channel order the PAD network wants, which output means bona fide, and the spoof
// threshold at which at most 5% of bona fide fixture faces are refused. Writes benchmarks/results/pad.json.
//   node --import tsx benchmarks/pad-eval.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineConfigSchema } from '../src/pipeline/config.ts';
import { decodeImage } from '../src/pipeline/decode.ts';
import { FaceGeometryService } from '../src/pipeline/face-geometry.ts';
import { boxArea } from '../src/pipeline/geometry.ts';
import { loadModelManifest } from '../src/pipeline/model-manifest.ts';
import { MiniFasNetPad } from '../src/pipeline/models/minifasnet.ts';
import { openSession } from '../src/pipeline/models/onnx.ts';
import { loadModel } from '../src/pipeline/models/registry.ts';
import { Picture } from '../src/pipeline/picture.ts';
import { fixtureImages, MODELS_DIR, RESULTS_DIR, round, summarise } from './fixtures.ts';

/** bona fide images PAD may refuse, at most */
const MAX_BPCER = 0.05;

type Group = 'pad_real' | 'pad_spoof' | 'faces';
const ORDERS = ['rgb', 'bgr'] as const;

const config = pipelineConfigSchema.parse({});
const manifest = loadModelManifest(MODELS_DIR, config.manifest);
const padEntry = manifest.roles.pad;
if (!padEntry) throw new Error('the model bundle has no PAD model');
const detector = await loadModel('detection', manifest.roles.detection!, manifest, config);
// PAD sees the face as the pipeline gives it: box and roll from the face geometry
const geometry = new FaceGeometryService(await loadModel('landmarks', manifest.roles.landmarks!, manifest, config));
const session = await openSession(join(MODELS_DIR, padEntry.file), config.intraOpThreads);
// the option under study is the channel order; class meaning is read from all outputs at once
const pads = Object.fromEntries(ORDERS.map((order) => [order, new MiniFasNetPad(session, { order, bonaFideClass: 0 })]));

interface Sample {
  name: string;
  group: Group;
  /** class probabilities by channel order */
  probabilities: Record<(typeof ORDERS)[number], number[]>;
}

const samples: Sample[] = [];
const undetected: string[] = [];
for (const [group, folder] of [['pad_real', 'pad/real'], ['pad_spoof', 'pad/spoof'], ['faces', 'faces']] as const) {
  for (const { name, bytes } of fixtureImages(folder)) {
    const picture = new Picture(await decodeImage(bytes, config.maxImagePixels));
    const faces = await detector.detect(picture);
    if (faces.length === 0) {
      undetected.push(name);
      continue;
    }
    const face = await geometry.measure(picture, faces.reduce((best, f) => (boxArea(f) > boxArea(best) ? f : best)));
    const probabilities = { rgb: await pads.rgb.classProbabilities(picture, face), bgr: await pads.bgr.classProbabilities(picture, face) };
    samples.push({ name, group, probabilities });
  }
}

const inGroup = (group: Group) => samples.filter((s) => s.group === group);
const bonaFide = samples.filter((s) => s.group !== 'pad_spoof');
const spoofs = inGroup('pad_spoof');

/** probability that a random spoof scores higher than a random bona fide image (ties count half) */
function auc(spoofScores: number[], bonaFideScores: number[]): number {
  let wins = 0;
  for (const s of spoofScores) for (const b of bonaFideScores) wins += s > b ? 1 : s === b ? 0.5 : 0;
  return wins / (spoofScores.length * bonaFideScores.length);
}

// Every (order, bona fide class) hypothesis, judged by how well 1 − p(class) separates spoofs from the pad/real set.
const hypotheses = ORDERS.flatMap((order) =>
  [0, 1, 2].map((bonaFideClass) => {
    const spoofScore = (s: Sample) => 1 - s.probabilities[order][bonaFideClass];
    return {
      order,
      bonaFideClass,
      auc_pad_real_vs_spoof: round(auc(spoofs.map(spoofScore), inGroup('pad_real').map(spoofScore))),
      auc_all_bona_fide_vs_spoof: round(auc(spoofs.map(spoofScore), bonaFide.map(spoofScore))),
    };
  }),
);
const best = hypotheses.reduce((a, b) => (b.auc_pad_real_vs_spoof > a.auc_pad_real_vs_spoof ? b : a));
const spoofScore = (s: Sample) => 1 - s.probabilities[best.order][best.bonaFideClass];

// Threshold: refuse (score ≥ t) at most MAX_BPCER of all bona fide images; t sits halfway between the
// highest bona fide score still accepted and the lowest one refused.
const bonaFideScores = bonaFide.map(spoofScore).sort((a, b) => b - a);
const allowed = Math.floor(MAX_BPCER * bonaFideScores.length);
const threshold = round(allowed === 0 ? (bonaFideScores[0] + 1) / 2 : (bonaFideScores[allowed - 1] + bonaFideScores[allowed]) / 2, 4);
const refusedShare = (list: Sample[]) => list.filter((s) => spoofScore(s) >= threshold).length / list.length;

const meanProbabilities = (list: Sample[], order: (typeof ORDERS)[number]) =>
  [0, 1, 2].map((k) => round(list.reduce((sum, s) => sum + s.probabilities[order][k], 0) / list.length));

const result = {
  generated: new Date().toISOString(),
  model: { file: padEntry.file, model_id: padEntry.model_id },
  counts: { pad_real: inGroup('pad_real').length, pad_spoof: spoofs.length, faces: inGroup('faces').length, undetected },
  mean_class_probabilities: Object.fromEntries(
    ORDERS.map((order) => [order, { pad_real: meanProbabilities(inGroup('pad_real'), order), pad_spoof: meanProbabilities(spoofs, order), faces: meanProbabilities(inGroup('faces'), order) }]),
  ),
  hypotheses,
  chosen: { order: best.order, bona_fide_class: best.bonaFideClass },
  spoof_score: {
    pad_real: summarise(inGroup('pad_real').map(spoofScore)),
    pad_spoof: summarise(spoofs.map(spoofScore)),
    faces: summarise(inGroup('faces').map(spoofScore)),
  },
  threshold: {
    value: threshold,
    rule: `refuse when spoof score ≥ value; value chosen so at most ${MAX_BPCER * 100}% of bona fide fixture images (faces/ + pad/real) are refused`,
    apcer: round(1 - refusedShare(spoofs)),
    bpcer_all_bona_fide: round(refusedShare(bonaFide)),
    bpcer_pad_real: round(refusedShare(inGroup('pad_real'))),
    bpcer_faces: round(refusedShare(inGroup('faces'))),
  },
  per_image: samples.map((s) => ({ name: s.name, group: s.group, spoof_score: round(spoofScore(s)), ...Object.fromEntries(ORDERS.map((o) => [o, s.probabilities[o].map((p) => round(p))])) })),
};

mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'pad.json'), `${JSON.stringify(result, null, 2)}\n`);
const { per_image: _, ...shown } = result;
console.log(JSON.stringify(shown, null, 2));
