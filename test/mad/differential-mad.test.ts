// Differential MAD as the serving paths run it (enrol with reference_image, a claim's verify step): every
// genuine pair of fixture photos — one photo as the suspect, another photo of the same person as the
// live capture, through the real probe pipeline — is either judged, and then refused no more often than
// the configured BPCER, or not judged because the capture is unlike those the threshold was set on.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { captureProblem, DifferentialMad, type DifferentialVerdict } from '../../src/mad/differential-mad.ts';
import { loadMorphModels } from '../../src/mad/morph-models.ts';
import { pipelineConfigSchema } from '../../src/pipeline/config.ts';
import { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import type { PipelineResult } from '../../src/pipeline/types.ts';
import { fixture, FIXTURES_DIR } from '../helpers/fixtures.ts';
import { fixtureMorph } from '../helpers/morphs.ts';

/** the BPCER `npm run train:mad` sets D-MAD's default threshold for, on document-like training pairs */
const SERVING_BPCER = 0.05;
const madConfig = pipelineConfigSchema.parse({}).mad;
let pipeline: FacePipeline;
let differential: DifferentialMad;

beforeAll(async () => {
  pipeline = await FacePipeline.create(join(PROJECT_ROOT, 'models'), pipelineConfigSchema.parse({}));
  differential = new DifferentialMad(loadMorphModels(pipeline.manifest)!.differential!, madConfig.differentialThreshold, madConfig.differentialCapture);
}, 120_000);

const identities = readdirSync(join(FIXTURES_DIR, 'faces'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const photosOf = (identity: string) =>
  readdirSync(join(FIXTURES_DIR, 'faces', identity))
    .filter((file) => /\.(jpe?g|png)$/i.test(file))
    .sort()
    .map((file) => `faces/${identity}/${file}`);

describe('captureProblem', () => {
  const limits = { minInterEyePx: 60, maxPoseDegrees: 20 };
  it('judges a capture large and frontal enough, and names what is wrong with one that is not', () => {
    expect(captureProblem({ inter_eye_px: 60, yaw: -20, pitch: 5 }, limits)).toBeUndefined();
    expect(captureProblem({ inter_eye_px: 59.9, yaw: 0, pitch: 0 }, limits)).toBe('capture_face_too_small');
    expect(captureProblem({ inter_eye_px: 90, yaw: 3, pitch: -20.5 }, limits)).toBe('capture_not_frontal');
    // the quality gate's face_size or pose component switched off: nothing to judge the capture by
    expect(captureProblem({ inter_eye_px: 90 }, limits)).toBe('capture_not_measured');
    expect(captureProblem(undefined, limits)).toBe('capture_not_measured');
  });
});

describe('DifferentialMad on the fixtures, as served', () => {
  it(
    'refuses at most the configured BPCER of the genuine pairs it judges, and judges no small in-the-wild capture',
    { timeout: 900_000 },
    async () => {
      const verdicts: { identity: string; verdict: DifferentialVerdict }[] = [];
      for (const identity of identities) {
        const captures: PipelineResult[] = [];
        // a photo the probe pipeline refuses (quality, PAD) never reaches D-MAD
        for (const photo of photosOf(identity)) captures.push(...(await pipeline.process(fixture(photo), 'probe').then((r) => [r], () => [])));
        for (const suspect of captures) for (const live of captures) if (live !== suspect) verdicts.push({ identity, verdict: differential.judge(suspect, live) });
      }
      const studio = verdicts.filter((v) => v.identity.startsWith('london_'));
      const inTheWild = verdicts.filter((v) => !v.identity.startsWith('london_'));
      const judged = verdicts.filter((v) => v.verdict.decision !== 'not_applicable');
      const refused = judged.filter((v) => v.verdict.decision === 'morph');
      expect(studio.length).toBeGreaterThan(70);
      // every studio capture is judged; the 250-pixel news photos and 150-pixel grey crops are too small to be
      expect(studio.every((v) => v.verdict.decision !== 'not_applicable')).toBe(true);
      expect(inTheWild.length).toBeGreaterThan(400);
      expect(inTheWild.every((v) => v.verdict.decision === 'not_applicable' && v.verdict.reason === 'capture_face_too_small')).toBe(true);
      expect(refused.length / judged.length, `refused: ${refused.map((v) => v.identity).join(', ')}`).toBeLessThanOrEqual(SERVING_BPCER);
    },
  );

  it('takes a generated morph of held-out identities for a morph against each contributor\'s live capture', { timeout: 300_000 }, async () => {
    // london_016 and london_018 are held out of training (seed 20059); print-scan was the hardest condition
    const morph = await fixtureMorph(pipeline, 'faces/london_016/1.jpg', 'faces/london_018/1.jpg', { alpha: 0.45, variant: 'spliced', post: 'print_scan' });
    const suspect = await pipeline.process(morph, 'probe');
    for (const contributor of ['london_016', 'london_018']) {
      const live = await pipeline.process(fixture(`faces/${contributor}/2.jpg`), 'probe');
      expect(differential.judge(suspect, live)).toMatchObject({ decision: 'morph' });
    }
  });
});
