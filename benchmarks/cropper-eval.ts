// ID-document cropper accuracy on synthetic photos: every idcards fixture pasted onto backgrounds under
// each condition (test/helpers/document-scenes.ts, seeded), cropped in this thread by the same
// DocumentCropper the server's workers run, scored with the SmartDoc 2015 Jaccard index.
// The blur and glare checks are measured, not applied, so every photo gets a score; the refusals the
// configured thresholds would give are reported per condition beside it. Also reported: what placed
// each document (outline, whole photo, print), the detector's confidence in each portrait, the format
// reported per card, and what the photos of nonfaces/ (no document in them) give. Writes benchmarks/results/cropper.json.
//   npm run eval:cropper [-- --seeds 2] [--conditions strong_perspective,glare] [--list]
//   (a subset of conditions writes no results file; --list prints every photo's score)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.ts';
import { DocumentCropper } from '../src/documents/document-cropper.ts';
import { ApiError } from '../src/errors.ts';
import { backgroundFiles, evalSeed, idCardFixtures, SCENE_CONDITIONS, synthesizeScene } from '../test/helpers/document-scenes.ts';
import { smartDocJaccard } from '../test/helpers/smartdoc-jaccard.ts';
import { FIXTURES_DIR, MODELS_DIR, round, summarise, writeResults } from './fixtures.ts';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '2' }, conditions: { type: 'string' }, list: { type: 'boolean', default: false } } });
const seeds = Number(values.seeds);
const conditions = values.conditions ? SCENE_CONDITIONS.filter((c) => values.conditions!.split(',').includes(c)) : SCENE_CONDITIONS;
const config = loadConfig({});
const checks = config.documents;
const cropper = await DocumentCropper.create(MODELS_DIR, config.pipeline, { ...checks, minSharpness: 0, maxGlareShare: 1, maxImagePixels: config.pipeline.maxImagePixels });
const cards = idCardFixtures();

/** the frame both quads are mapped into; the index does not depend on its size */
const FRAME = { width: 1000, height: 700 };

interface Outcome {
  name: string;
  condition: string;
  jaccard: number;
  /** error code when the cropper refused */
  refused?: string;
  uprightCorrect?: boolean;
  hasPortrait: boolean;
  portrait?: boolean;
  /** what placed the document (outline, whole photo, print) */
  placedBy?: string;
  /** the card's fixture file, its format where it has one, and the format the cropper reported */
  file: string;
  format?: string;
  documentType?: string;
  /** the face detector's confidence in the portrait */
  portraitScore?: number;
  wouldRefuse?: string;
  sharpness?: number;
  glareShare?: number;
  ms: number;
}

const outcomes: Outcome[] = [];
for (const condition of conditions) {
  for (const [c, card] of cards.entries()) {
    for (let s = 0; s < seeds; s++) {
      const scene = await synthesizeScene(card, condition, evalSeed(c, condition, s));
      const started = performance.now();
      try {
        const result = await cropper.crop(scene.image);
        const ms = performance.now() - started;
        const nearest = scene.corners.map((p) => Math.hypot(p[0] - result.corners[0][0], p[1] - result.corners[0][1]));
        const wouldRefuse = result.measures.sharpness < checks.minSharpness ? 'document_blurred' : result.measures.glareShare > checks.maxGlareShare ? 'document_glare' : undefined;
        outcomes.push({
          name: scene.name,
          file: card.file,
          format: card.format,
          documentType: result.documentType,
          placedBy: result.placedBy,
          condition,
          jaccard: smartDocJaccard(scene.corners, result.corners, FRAME.width, FRAME.height),
          uprightCorrect: nearest.indexOf(Math.min(...nearest)) === 0,
          hasPortrait: card.hasPortrait,
          portrait: result.portrait !== undefined,
          portraitScore: result.portraitScore,
          wouldRefuse,
          sharpness: result.measures.sharpness,
          glareShare: result.measures.glareShare,
          ms,
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        outcomes.push({ name: scene.name, file: card.file, condition, jaccard: 0, refused: error.code, hasPortrait: card.hasPortrait, ms: performance.now() - started });
      }
    }
  }
  const done = outcomes.filter((o) => o.condition === condition);
  console.log(`${condition.padEnd(20)} mean ${round(done.reduce((a, o) => a + o.jaccard, 0) / done.length, 3)}  refused ${done.filter((o) => o.refused).length}/${done.length}`);
}

function report(group: Outcome[]) {
  const jaccard = summarise(group.map((o) => o.jaccard), [10, 50]);
  const cropped = group.filter((o) => !o.refused);
  const withPortrait = cropped.filter((o) => o.hasPortrait);
  const withoutPortrait = cropped.filter((o) => !o.hasPortrait);
  return {
    photos: group.length,
    jaccard_mean: round(jaccard.mean),
    jaccard_p10: round(jaccard.percentiles.p10),
    jaccard_min: round(jaccard.min),
    refused: Object.fromEntries([...new Set(group.flatMap((o) => (o.refused ? [o.refused] : [])))].map((code) => [code, group.filter((o) => o.refused === code).length])),
    would_refuse_with_configured_checks: Object.fromEntries([...new Set(group.flatMap((o) => (o.wouldRefuse ? [o.wouldRefuse] : [])))].map((code) => [code, group.filter((o) => o.wouldRefuse === code).length])),
    sharpness_min: round(Math.min(...cropped.map((o) => o.sharpness!)), 1),
    sharpness_p5: round(summarise(cropped.map((o) => o.sharpness!), [5]).percentiles.p5, 1),
    glare_share_max: round(Math.max(...cropped.map((o) => o.glareShare!)), 4),
    upright_correct: round(cropped.filter((o) => o.uprightCorrect).length / Math.max(1, cropped.length), 3),
    portrait_recall: round(withPortrait.filter((o) => o.portrait).length / Math.max(1, withPortrait.length), 3),
    portrait_on_documents_without_one: round(withoutPortrait.filter((o) => o.portrait).length / Math.max(1, withoutPortrait.length), 3),
  };
}

const byCondition = Object.fromEntries(conditions.map((condition) => [condition, report(outcomes.filter((o) => o.condition === condition))]));
const overall = report(outcomes);
console.table(Object.fromEntries(Object.entries(byCondition).map(([k, v]) => [k, { mean: v.jaccard_mean, p10: v.jaccard_p10, min: v.jaccard_min, upright: v.upright_correct, portraits: v.portrait_recall }])));
console.log('overall', overall);
if (values.list) for (const o of outcomes) console.log('photo', o.name, round(o.jaccard, 3), o.refused ?? '');
const portraitsMissed = outcomes.filter((o) => o.hasPortrait && !o.refused && !o.portrait).map((o) => o.name);
console.log('portraits missed', portraitsMissed);
const falsePortraits = outcomes.filter((o) => !o.hasPortrait && o.portrait).map((o) => ({ name: o.name, score: o.portraitScore }));
const notUpright = outcomes.filter((o) => !o.refused && !o.uprightCorrect).map((o) => ({ name: o.name, jaccard: round(o.jaccard, 3), placed_by: o.placedBy }));
console.log('not turned upright', notUpright);
const placedByText = outcomes.filter((o) => o.placedBy === 'text').map((o) => ({ name: o.name, jaccard: round(o.jaccard, 3), ms: Math.round(o.ms) }));
console.log('documents placed from their print (no outline found)', placedByText);
// the format reported for each card over its cropped photos (from the MRZ where it is read, else the outline's shape)
const documentTypes = Object.fromEntries(cards.map((card) => {
  const reported = outcomes.filter((o) => o.file === card.file && o.documentType);
  return [card.file, Object.fromEntries([...new Set(reported.map((o) => o.documentType!))].map((type) => [type, reported.filter((o) => o.documentType === type).length]))];
}));
console.log('document types', documentTypes);
// the format reported against the scan's own (document-scenes.ts FORMATS), over the cards that have one
const typed = outcomes.filter((o) => !o.refused && o.format);
const documentTypeCorrect = { photos: typed.length, correct: typed.filter((o) => o.documentType === o.format).length };
console.log('document type correct', documentTypeCorrect);
console.log('portraits on documents without one', falsePortraits);
if (conditions.length < SCENE_CONDITIONS.length) process.exit(0);

// Photos with no document in them: each should be refused. What placed a "document" where one was cut.
const nonfaces: Array<{ file: string; refused?: string; placed_by?: string }> = [];
for (const file of backgroundFiles()) {
  try {
    nonfaces.push({ file, placed_by: (await cropper.crop(readFileSync(resolve(FIXTURES_DIR, 'nonfaces', file)))).placedBy });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    nonfaces.push({ file, refused: error.code });
  }
}
console.log('nonfaces', nonfaces.filter((n) => !n.refused));
writeResults('cropper', {
  method: 'SmartDoc 2015 Jaccard index: found and true quadrilaterals mapped into the document frame by the homography of the true corners; a refused photo scores 0',
  data: { cards: cards.length, conditions: SCENE_CONDITIONS, seeds_per_card_and_condition: seeds, photo_size: '1600×1200 JPEG q90', generator: 'test/helpers/document-scenes.ts' },
  checks: { minSharpness: checks.minSharpness, maxGlareShare: checks.maxGlareShare, minDocumentPixels: checks.minDocumentPixels },
  overall,
  by_condition: byCondition,
  portraits_missed: portraitsMissed,
  not_upright: notUpright,
  placed_by_text: placedByText,
  document_types_by_card: documentTypes,
  document_type_correct: { ...documentTypeCorrect, share: round(documentTypeCorrect.correct / Math.max(1, documentTypeCorrect.photos), 3) },
  portraits_on_documents_without_one: falsePortraits,
  nonfaces: { photos: nonfaces.length, refused: nonfaces.filter((n) => n.refused).length, documents_found: nonfaces.filter((n) => !n.refused) },
  worst: [...outcomes].sort((a, b) => a.jaccard - b.jaccard).slice(0, 15).map((o) => ({ name: o.name, jaccard: round(o.jaccard, 3), refused: o.refused })),
  photos: outcomes.map((o) => ({ name: o.name, jaccard: round(o.jaccard, 3), ...(o.refused ? { refused: o.refused } : {}) })),
});
