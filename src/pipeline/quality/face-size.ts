import type { QualityComponentsConfig } from '../config.ts';
import { distance } from '../geometry.ts';
import { rampScore, type QualityComponent } from './component.ts';

/** Inter-eye distance in the original photo: too few pixels across the face and identity detail is gone. */
export function faceSizeComponent(config: QualityComponentsConfig['faceSize']): QualityComponent {
  return async ({ geometry }) => {
    const interEyePx = distance(geometry.eyes[0].centre, geometry.eyes[1].centre);
    return { score: rampScore(interEyePx, config.interEyePx), measurements: { inter_eye_px: interEyePx } };
  };
}
