import type { QualityComponentsConfig } from '../config.ts';
import type { EyeStateModel } from '../models/roles.ts';
import { rampScore, type QualityComponent } from './component.ts';

/**
 * Eyes open and visible, as the mean of the two eyes' open probabilities. The mean, not the minimum:
 * behind spectacles the model often misreads one eye (seen on the LFW fixtures), while closed eyes or
 * dark glasses take both to ~0.
 */
export function meanEyeOpen([left, right]: [number, number]): number {
  return (left + right) / 2;
}

/** The quality gate's eyes component, and the photo checks' ISSUE_EYES_CLOSED, read `meanEyeOpen`. */
export function eyesComponent(config: QualityComponentsConfig['eyes'], model: EyeStateModel): QualityComponent {
  return async ({ picture, geometry }) => {
    const [left, right] = await model.eyesOpen(picture, geometry);
    return { score: rampScore(meanEyeOpen([left, right]), config.openProbability), measurements: { eye_open_left: left, eye_open_right: right } };
  };
}
