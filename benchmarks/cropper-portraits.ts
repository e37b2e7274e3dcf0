// Which looks for a document's portrait tell real portraits from faces imagined in print: the figures
// behind the cropper's portrait detectors (README, ID-document cropper; BENCHMARKS, eval:cropper).
// Every photo of `npm run eval:cropper` is cropped as served; its straightened, upright document is then
// searched both ways up, with each detector's own threshold lowered to 0.2 so that weak faces are seen:
//   blazeface / ultraface      the whole document at 480 px, no tiles (as served)
//   *_tiles                    the same, with the detector's 3×3 tiles where the whole view finds nothing
//                              (BlazeFace at the configured confidence, so tiles run as they used to)
//   blazeface_320 / _640       the whole document at another size
//   blazeface_halves           two square halves, left and right
//   blazeface_inpainted        clipped-white pixels (glare) filled in first (OpenCV Telea inpainting)
//   blazeface_portrait_zone    the page's left half above its machine-readable zone, where ICAO 9303
//                              prints the portrait (served where the whole page shows no face)
//   full_range                 MediaPipe's full-range BlazeFace (the bundle's zone detector), the whole document
//   full_range_portrait_zone   the same in the portrait's zone (served where BlazeFace finds no face there either)
//   embedding_norm             ArcFace's raw embedding norm of the three best BlazeFace faces (mesh-aligned)
// For each look: the best score on the card backs (no portrait), how many portraits score above that
// upright, and the upright scores of the portraits the whole document does not show at the served
// thresholds (BlazeFace and UltraFace as served), which the cropper then finds in the portrait's zone or misses.
// Writes benchmarks/results/cropper-portraits.json.   npm run eval:cropper-portraits
import { loadConfig } from '../src/config/config.ts';
import { DocumentCropper, PORTRAIT_MIN_SCORE } from '../src/documents/document-cropper.ts';
import { detectInPortraitZone } from '../src/documents/document-faces.ts';
import { formatOfZone, mrzLines, mrzTop } from '../src/documents/mrz-lines.ts';
import { loadOpenCv, withMats } from '../src/documents/opencv.ts';
import { extract, rotate, shrinkToFit } from '../src/documents/raster.ts';
import { alignFace } from '../src/pipeline/align.ts';
import { decodeImage } from '../src/pipeline/decode.ts';
import { FaceGeometryService } from '../src/pipeline/face-geometry.ts';
import { loadModelManifest } from '../src/pipeline/model-manifest.ts';
import { loadModel } from '../src/pipeline/models/registry.ts';
import type { FaceDetector } from '../src/pipeline/models/roles.ts';
import { Picture } from '../src/pipeline/picture.ts';
import type { RgbImage } from '../src/pipeline/types.ts';
import { evalSeed, idCardFixtures, SCENE_CONDITIONS, synthesizeScene } from '../test/helpers/document-scenes.ts';
import { MODELS_DIR, round, writeResults } from './fixtures.ts';

const config = loadConfig({});
const pipeline = config.pipeline;
const lowered = { ...pipeline, detection: { ...pipeline.detection, confidence: 0.2 } };
const cropper = await DocumentCropper.create(MODELS_DIR, pipeline, { ...config.documents, minSharpness: 0, maxGlareShare: 1, maxImagePixels: pipeline.maxImagePixels });
const manifest = loadModelManifest(MODELS_DIR, pipeline.manifest, ['detection', 'portrait', 'portrait_zone', 'landmarks', 'recognition']);
const blazeface = await loadModel('detection', manifest.roles.detection!, manifest, lowered);
const blazefaceServed = await loadModel('detection', manifest.roles.detection!, manifest, pipeline);
const ultraface = await loadModel('portrait', manifest.roles.portrait!, manifest, lowered);
const fullRange = await loadModel('portrait_zone', manifest.roles.portrait_zone!, manifest, lowered);
const mesh = await loadModel('landmarks', manifest.roles.landmarks!, manifest, lowered);
const recognition = await loadModel('recognition', manifest.roles.recognition!, manifest, lowered);
const geometry = new FaceGeometryService(mesh);
const cv = await loadOpenCv();

type Look = (document: RgbImage) => Promise<number>;

const best = async (detector: FaceDetector, image: RgbImage, tiles = false) => (await detector.detect(new Picture(image), { tiles }))[0]?.score ?? 0;
const at = (side: number) => (document: RgbImage) => shrinkToFit(document, side);
/** the detector's best face in the portrait's zone of the document, as the cropper looks there */
const inPortraitZone = (detector: FaceDetector) => async (document: RgbImage) => (await detectInPortraitZone(detector, document, mrzTop(mrzLines(cv, document), 0)))[0]?.score ?? 0;

async function halves(image: RgbImage): Promise<number> {
  const side = Math.min(image.width, image.height);
  const scores = [];
  for (const left of [0, image.width - side]) scores.push(await best(blazeface, await extract(image, { left, top: 0, width: side, height: image.height })));
  return Math.max(...scores);
}

/** the clipped-white pixels, grown by two, filled in from around them */
function inpainted(image: RgbImage): RgbImage {
  return withMats((keep) => {
    const rgb = keep(new cv.Mat(image.height, image.width, cv.CV_8UC3));
    rgb.data.set(image.data);
    const mask = keep(new cv.Mat(image.height, image.width, cv.CV_8UC1));
    const maskData = mask.data;
    for (let p = 0; p < image.width * image.height; p++) maskData[p] = image.data[3 * p] >= 250 && image.data[3 * p + 1] >= 250 && image.data[3 * p + 2] >= 250 ? 255 : 0;
    cv.dilate(mask, mask, keep(cv.Mat.ones(5, 5, cv.CV_8U)));
    const out = keep(new cv.Mat());
    cv.inpaint(rgb, mask, out, 5, cv.INPAINT_TELEA);
    return { data: new Uint8Array(out.data), width: image.width, height: image.height };
  });
}

async function embeddingNorm(image: RgbImage): Promise<number> {
  const picture = new Picture(image);
  let norm = 0;
  for (const face of (await blazeface.detect(picture, { tiles: false })).slice(0, 3)) {
    const measured = await geometry.measure(picture, face);
    norm = Math.max(norm, (await recognition.embed(alignFace(picture, measured.five, recognition.alignment))).norm);
  }
  return norm;
}

const looks: Record<string, Look> = {
  blazeface: async (d) => best(blazeface, await at(480)(d)),
  ultraface: async (d) => best(ultraface, await at(480)(d)),
  blazeface_tiles: async (d) => best(blazefaceServed, await at(480)(d), true),
  ultraface_tiles: async (d) => best(ultraface, await at(480)(d), true),
  blazeface_320: async (d) => best(blazeface, await at(320)(d)),
  blazeface_640: async (d) => best(blazeface, await at(640)(d)),
  blazeface_halves: async (d) => halves(await at(480)(d)),
  blazeface_inpainted: async (d) => best(blazeface, inpainted(await at(480)(d))),
  blazeface_portrait_zone: inPortraitZone(blazeface),
  full_range: async (d) => best(fullRange, await at(480)(d)),
  full_range_portrait_zone: inPortraitZone(fullRange),
  embedding_norm: async (d) => embeddingNorm(await at(480)(d)),
};

interface Row {
  name: string;
  hasPortrait: boolean;
  /** whether the cropper as served returned a portrait */
  returned: boolean;
  /** whether a TD1 zone is read on it: a card's back, where the cropper does not look in the portrait's zone */
  td1: boolean;
  /** per look: the document as returned (upright), and the best of both ways up */
  upright: Record<string, number>;
  either: Record<string, number>;
}

const rows: Row[] = [];
const cards = idCardFixtures();
for (const condition of SCENE_CONDITIONS) {
  for (const [c, card] of cards.entries()) {
    for (let s = 0; s < 2; s++) {
      const scene = await synthesizeScene(card, condition, evalSeed(c, condition, s));
      const cropped = await cropper.crop(scene.image);
      const document = await decodeImage(cropped.image, pipeline.maxImagePixels);
      const turned = await rotate(document, 180);
      const td1 = formatOfZone(mrzLines(cv, document)) === 'ID-1';
      const row: Row = { name: scene.name, hasPortrait: card.hasPortrait, returned: cropped.portrait !== undefined, td1, upright: {}, either: {} };
      for (const [name, look] of Object.entries(looks)) {
        row.upright[name] = await look(document);
        row.either[name] = Math.max(row.upright[name], await look(turned));
      }
      rows.push(row);
    }
  }
  console.log(condition, 'done');
}

const backs = rows.filter((r) => !r.hasPortrait);
// the card backs the cropper looks at in the portrait's zone when it finds no face: those without a TD1 zone read
const zoneBacks = backs.filter((r) => !r.td1);
const portraits = rows.filter((r) => r.hasPortrait);
const missed = portraits.filter((r) => !r.returned);
// the portraits the whole document does not show at the served thresholds: those the later looks are for
const unseen = portraits.filter((r) => !r.returned || (r.upright.blazeface < PORTRAIT_MIN_SCORE && r.upright.ultraface < pipeline.detection.confidence));
const results = Object.fromEntries(
  Object.keys(looks).map((name) => {
    const backsMax = Math.max(...backs.map((r) => r.either[name]));
    return [
      name,
      {
        card_backs_max: round(backsMax, 3),
        card_backs_max_without_td1_zone: round(Math.max(...zoneBacks.map((r) => r.either[name])), 3),
        portraits_above_card_backs: portraits.filter((r) => r.upright[name] > backsMax).length,
        unseen_portraits_upright: Object.fromEntries(unseen.map((r) => [r.name, round(r.upright[name], 3)])),
      },
    ];
  }),
);
console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { card_backs_max: v.card_backs_max, without_td1: v.card_backs_max_without_td1_zone, portraits_above: v.portraits_above_card_backs, ...v.unseen_portraits_upright }])));
writeResults('cropper-portraits', { photos: rows.length, card_backs: backs.length, card_backs_without_td1_zone: zoneBacks.length, portraits: portraits.length, missed_by_cropper: missed.map((r) => r.name), unseen_on_the_whole_document: unseen.map((r) => r.name), looks: results });
