// Latency of cropping one 12-megapixel (4000×3000) JPEG photo of a document, in one cropper worker's
// shoes: decode (EXIF), search, warp, orientation and portrait, checks, JPEG out. The HTTP layer adds
// base64 and a copy to the worker. Beside the whole crop, the stages that can be run on their own are
// timed alone on the same photo (p50): the two decodes, the search, and on the straightened document the
// blur/glare checks, the MRZ read and the JPEG. Writes benchmarks/results/cropper-latency.json.
//   npm run bench:cropper [-- --runs 30]
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.ts';
import { measureDocument } from '../src/documents/document-checks.ts';
import { DocumentCropper } from '../src/documents/document-cropper.ts';
import { searchDocument, SEARCH_LONG_SIDE } from '../src/documents/document-finder.ts';
import { mrzLines } from '../src/documents/mrz-lines.ts';
import { loadOpenCv } from '../src/documents/opencv.ts';
import { jpeg } from '../src/documents/raster.ts';
import { decodeImage } from '../src/pipeline/decode.ts';
import { idCardFixtures, synthesizeScene } from '../test/helpers/document-scenes.ts';
import { latency, MODELS_DIR, writeResults } from './fixtures.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const runs = Number(values.runs);
const config = loadConfig({});
const cropper = await DocumentCropper.create(MODELS_DIR, config.pipeline, { ...config.documents, maxImagePixels: config.pipeline.maxImagePixels });
const card = idCardFixtures().find((c) => c.doc === 'passport-td2')!;
const cv = await loadOpenCv();
const maxPixels = config.pipeline.maxImagePixels;
const results: Record<string, unknown> = {};

/** p50 of `runs` runs of one stage, ms */
async function stage(run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return latency(times).p50;
}

for (const condition of ['plain_desk', 'photo_background'] as const) {
  const scene = await synthesizeScene(card, condition, 12, { width: 4000, height: 3000 });
  const warmUp = await cropper.crop(scene.image);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await cropper.crop(scene.image);
    times.push(performance.now() - started);
  }
  const small = await decodeImage(scene.image, maxPixels, { fitWithin: SEARCH_LONG_SIDE });
  const document = await decodeImage(warmUp.image, maxPixels);
  const stagesMs = {
    decode_full: await stage(() => decodeImage(scene.image, maxPixels)),
    decode_shrunk_for_search: await stage(() => decodeImage(scene.image, maxPixels, { fitWithin: SEARCH_LONG_SIDE })),
    search: await stage(() => searchDocument(cv, small)),
    blur_and_glare_checks: await stage(() => measureDocument(cv, document)),
    mrz_read: await stage(() => mrzLines(cv, document)),
    jpeg_out: await stage(() => jpeg(document)),
  };
  // which path ran: the text fallback only runs when no outline is found
  results[condition] = { photo: '4000×3000 JPEG q90', bytes: scene.image.length, placed_by: warmUp.placedBy, document_type: warmUp.documentType, ms: latency(times), stages_p50_ms: stagesMs, document: `${document.width}×${document.height}` };
  console.log(condition, results[condition]);
}
writeResults('cropper-latency', { target: 'p50 ≤ 300 ms for a 12-megapixel photo', results });
