import type { QualityComponentsConfig } from '../config.ts';
import { rampScore, type QualityComponent } from './component.ts';

/** The detector's own confidence: low for partial, occluded or atypical faces. */
export function detectionComponent(config: QualityComponentsConfig['detection']): QualityComponent {
  return async ({ geometry: { box } }) => ({ score: rampScore(box.score, config.confidence), measurements: { detection_confidence: box.score } });
}
