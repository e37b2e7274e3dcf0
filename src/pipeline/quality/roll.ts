import type { QualityComponentsConfig } from '../config.ts';
import { rampScore, type QualityComponent } from './component.ts';

/**
 * In-plane rotation of the eye line in the photo as processed (after any quarter turn the pipeline made
 * to find the face). Alignment undoes moderate roll; a face still far from upright means its landmarks,
 * and so its template, cannot be trusted.
 */
export const rollComponent =
  (config: QualityComponentsConfig['roll']): QualityComponent =>
  async ({ geometry }) => ({ score: rampScore(Math.abs(geometry.roll), config.degrees), measurements: { roll: geometry.roll } });
