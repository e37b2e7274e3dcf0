// Person segmentation for background replacement (src/photo/segmentation/): mask quality on the 40
// London neutral portraits against a colour-keyed ground truth, the old background's residue after
// replacement on composites, the crown from the mask against the face mesh, and latency on a
// 12-megapixel photo. Writes benchmarks/results/segmentation.json (or segmentation-<label>.json).
//   npm run bench:segmentation [-- --runs 10 --portraits 40 --label name]
// Another model than the bundle's: --model-file path.onnx --kind isnet-1024, or --kind
// mediapipe-selfie-256 alone (MediaPipe selfie segmentation, packed from npm and converted here).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../src/config/config.ts';
import { hairTop, loadPersonSegmenter, replaceBackground, type PersonSegmenter } from '../src/photo/segmentation/index.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { openSession } from '../src/pipeline/models/onnx.ts';
import { MODEL_KINDS } from '../src/pipeline/models/registry.ts';
import { composite, haloResidue, hardMask, keyedPortraitMask, maskIoU, softened } from '../test/helpers/portrait-masks.ts';
import { measurePortrait } from '../test/helpers/portrait-faces.ts';
import { selfieOnnx, SELFIE_SOURCE } from '../test/helpers/selfie-model.ts';
import { fixtureImages, latency, MODELS_DIR, round, summarise, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    portraits: { type: 'string', default: '40' },
    'model-file': { type: 'string' },
    kind: { type: 'string' },
    label: { type: 'string' },
  },
});
const config = loadConfig({});

async function chosenSegmenter(): Promise<{ segmenter: PersonSegmenter; model: string }> {
  const kind = args.kind ?? 'isnet-1024';
  if (!args['model-file'] && !args.kind) return { segmenter: await loadPersonSegmenter(MODELS_DIR, config.pipeline), model: 'models/manifest.json segmentation' };
  const factory = MODEL_KINDS.segmentation[kind];
  if (!factory) throw new Error(`unknown segmentation kind ${kind}`);
  const onnx = args['model-file'] ?? join(mkdtempSync(join(tmpdir(), 'faceserver-bench-selfie-')), 'selfie.onnx');
  if (!args['model-file']) writeFileSync(onnx, selfieOnnx());
  const model = args['model-file'] ? basename(onnx) : `${SELFIE_SOURCE.package}@${SELFIE_SOURCE.version} converted`;
  return { segmenter: factory(await openSession(onnx, config.pipeline.intraOpThreads), config.pipeline), model: `${model} (${kind})` };
}
const { segmenter, model } = await chosenSegmenter();
const pipeline = await FacePipeline.create(MODELS_DIR, config.pipeline);

/** a strongly coloured wall for the halo composites, and the colour it is replaced with */
const OLD_WALL = [0, 255, 0] as const;
const NEW_WALL = [255, 255, 255] as const;
/** the composites' hair edge: two box blurs of this radius spread it over about 12 pixels of a 1350-pixel portrait */
const EDGE_SOFTNESS = 3;
/** the halo is measured within this many pixels of the true outline */
const BAND_RADIUS = 4;

const portraits = fixtureImages('faces')
  .filter((f) => /^faces\/london_\d+\/1\.jpg$/.test(f.name))
  .slice(0, Number(args.portraits));
const perPortrait = [];
for (const { name, bytes } of portraits) {
  const { image, features, faceColumns } = await measurePortrait(pipeline, bytes);
  const truth = keyedPortraitMask(image);
  // the key is trusted above the chin only: below it a white shirt can match the lit wall
  const chinRow = Math.round(features.chin.y);
  const mask = await segmenter.segment(image);
  const soft = softened(truth, EDGE_SOFTNESS);
  const green = composite(image, soft, OLD_WALL);
  const greenMask = await segmenter.segment(green);
  const residue = (alpha: typeof greenMask) => haloResidue(replaceBackground(green, alpha, [...NEW_WALL]), image, soft, NEW_WALL, 1, BAND_RADIUS, chinRow);
  const crown = hairTop(mask, faceColumns);
  const trueCrown = hairTop(truth, faceColumns);
  const faceHeight = features.chin.y - features.forehead.y;
  perPortrait.push({
    name,
    iouAboveChin: round(maskIoU(mask, truth, 0, chinRow)),
    iouComposite: round(maskIoU(greenMask, soft, 0, chinRow)),
    haloRefined: round(residue(greenMask), 2),
    haloHardMask: round(residue(hardMask(greenMask)), 2),
    hairTop: crown,
    keyedHairTop: trueCrown,
    meshForehead: round(features.forehead.y, 1),
    meshCrown: round(features.crown.y, 1),
    /** (hairTop − keyed hairTop) / forehead-to-chin height */
    crownError: crown === undefined || trueCrown === undefined ? null : round((crown - trueCrown) / faceHeight),
  });
  console.log(perPortrait.at(-1));
}
const stat = (values: number[]) => {
  const s = summarise(values, [5, 50, 95]);
  return { mean: round(s.mean), min: round(s.min), max: round(s.max), ...Object.fromEntries(Object.entries(s.percentiles).map(([k, v]) => [k, round(v)])) };
};
const crownErrors = perPortrait.flatMap((p) => (p.crownError === null ? [] : [Math.abs(p.crownError)]));
const quality = {
  portraits: perPortrait.length,
  iouAboveChin: stat(perPortrait.map((p) => p.iouAboveChin)),
  iouComposite: stat(perPortrait.map((p) => p.iouComposite)),
  haloRefined: stat(perPortrait.map((p) => p.haloRefined)),
  haloHardMask: stat(perPortrait.map((p) => p.haloHardMask)),
  hairTopAboveForehead: perPortrait.filter((p) => p.hairTop !== undefined && p.hairTop < p.meshForehead).length,
  hairTopFound: perPortrait.filter((p) => p.hairTop !== undefined).length,
  absCrownError: crownErrors.length ? stat(crownErrors) : null,
};
console.log(quality);

// latency on a 12-megapixel photo: a portrait enlarged onto a 4000×3000 frame of its own wall colour
const source = portraits[0].bytes;
const wall = await sharp(source).extract({ left: 0, top: 0, width: 8, height: 8 }).stats();
const photoBytes = await sharp(source)
  .resize(4000, 3000, { fit: 'contain', background: { r: wall.channels[0].mean, g: wall.channels[1].mean, b: wall.channels[2].mean } })
  .jpeg({ quality: 90 })
  .toBuffer();
const { image: photo, features } = await measurePortrait(pipeline, new Uint8Array(photoBytes));
const faceHeight = features.chin.y - features.forehead.y;
// head and shoulders, as a passport crop would ask: 1.4 face heights above the forehead, 1.2 below the chin
const region = {
  x: features.chin.x - 1.6 * faceHeight,
  y: features.forehead.y - 1.4 * faceHeight,
  width: 3.2 * faceHeight,
  height: features.chin.y - features.forehead.y + 2.6 * faceHeight,
};
const timed = async (work: () => Promise<unknown> | unknown) => {
  await work();
  const times: number[] = [];
  for (let i = 0; i < Number(args.runs); i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return latency(times);
};
const wholeMask = await segmenter.segment(photo);
const speed = {
  photo: `${photo.width}×${photo.height} (${round((photo.width * photo.height) / 1e6, 1)} MP), portrait ${portraits[0].name} enlarged`,
  intraOpThreads: config.pipeline.intraOpThreads,
  segmentWholePhotoMs: await timed(() => segmenter.segment(photo)),
  segmentHeadRegionMs: { region: Object.fromEntries(Object.entries(region).map(([k, v]) => [k, Math.round(v)])), ...(await timed(() => segmenter.segment(photo, region))) },
  replaceBackgroundMs: await timed(() => replaceBackground(photo, wholeMask, [255, 255, 255])),
};
console.log(speed);

writeResults(args.label ? `segmentation-${args.label}` : 'segmentation', {
  model,
  groundTruth: 'colour key of the London studio wall (test/helpers/portrait-masks.ts), trusted above the mesh chin',
  halo: { oldWall: OLD_WALL, newWall: NEW_WALL, edgeSoftness: EDGE_SOFTNESS, bandRadius: BAND_RADIUS, unit: 'mean excess green over the ideal replacement, 0–255 levels' },
  quality,
  speed,
  perPortrait,
});
