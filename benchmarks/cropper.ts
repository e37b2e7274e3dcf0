// Latency of cropping one 12-megapixel (4000×3000) JPEG photo of a document, in one cropper worker's
// shoes: decode (EXIF), search, warp, orientation and portrait, checks, JPEG out. The HTTP layer adds
// base64 and a copy to the worker. Writes benchmarks/results/cropper-latency.json.
//   npm run bench:cropper [-- --runs 30]
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.ts';
import { DocumentCropper } from '../src/documents/document-cropper.ts';
import { idCardFixtures, synthesizeScene } from '../test/helpers/document-scenes.ts';
import { latency, MODELS_DIR, writeResults } from './fixtures.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const runs = Number(values.runs);
const config = loadConfig({});
const cropper = await DocumentCropper.create(MODELS_DIR, config.pipeline, { ...config.documents, maxImagePixels: config.pipeline.maxImagePixels });
const card = idCardFixtures().find((c) => c.doc === 'passport-td2')!;
const results: Record<string, unknown> = {};
for (const condition of ['plain_desk', 'photo_background'] as const) {
  const scene = await synthesizeScene(card, condition, 12, { width: 4000, height: 3000 });
  const warmUp = await cropper.crop(scene.image);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await cropper.crop(scene.image);
    times.push(performance.now() - started);
  }
  // which path ran: the text fallback only runs when no outline is found; the MRZ is measured on ID-3-shaped crops
  results[condition] = { photo: '4000×3000 JPEG q90', bytes: scene.image.length, placed_by: warmUp.placedBy, document_type: warmUp.documentType, ms: latency(times) };
  console.log(condition, results[condition]);
}
writeResults('cropper-latency', { target: 'p50 ≤ 300 ms for a 12-megapixel photo', results });
