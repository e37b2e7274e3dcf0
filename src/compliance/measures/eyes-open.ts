import { meanEyeOpen } from '../../pipeline/quality/eyes.ts';
import { rampScore, type Measure, type Measurement } from './measure.ts';

/**
 * Two views of open eyes. eye_open_probability: the eye-state model's mean open probability, the value
 * the quality gate's eyes component reads (present when the bundle has the model and it is enabled).
 * eye_opening: the less open eye's lid gap over its corner-to-corner width from the mesh (about 0.3
 * open); the mesh keeps an eye's shape from context, so it hardly closes on eyes painted shut, and the
 * calibration found it the weaker of the two.
 */
export const eyesOpen: Measure = ({ features, eyesOpen: probabilities }) => {
  const opening = Math.min(...features.eyelidOpening);
  const result: Record<string, Measurement> = { eye_opening: { value: opening, score: rampScore(opening, 0.05, 0.25) } };
  if (probabilities) {
    const open = meanEyeOpen(probabilities);
    result.eye_open_probability = { value: open, score: rampScore(open, 0.02, 0.3) };
  }
  return result;
};
