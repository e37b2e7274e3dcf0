import type { ModelEntry } from './model-manifest.ts';

/** cosine similarity → the API's 0–1 score */
export type ScoreMapper = (cosine: number) => number;

/**
 * Builds the recognition model's score map from its manifest `score_calibration` knots (written by
 * `npm run calibrate`), interpolating linearly between knots. Scores are therefore comparable across
 * model bundles: the same score means the same measured false-match rate, whatever the raw cosine.
 * A model without calibration reports its cosine clamped to 0–1, and says so in the manifest it came with.
 */
export function createScoreMapper(recognition: ModelEntry): ScoreMapper {
  const knots = recognition.score_calibration?.knots;
  if (!knots) return (cosine) => Math.min(1, Math.max(0, cosine));
  return (cosine) => {
    const x = Math.min(1, Math.max(-1, cosine));
    let i = 1;
    while (i < knots.length - 1 && knots[i][0] < x) i++;
    const [x0, y0] = knots[i - 1];
    const [x1, y1] = knots[i];
    return y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
  };
}

/** The inverse map: the cosine a score threshold corresponds to (for docs and calibration reports). */
export function cosineForScore(recognition: ModelEntry, score: number): number {
  const knots = recognition.score_calibration?.knots;
  if (!knots) return score;
  const y = Math.min(1, Math.max(0, score));
  let i = 1;
  while (i < knots.length - 1 && knots[i][1] < y) i++;
  const [x0, y0] = knots[i - 1];
  const [x1, y1] = knots[i];
  return x0 + ((y - y0) / (y1 - y0)) * (x1 - x0);
}
