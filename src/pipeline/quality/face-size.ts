import type { QualityComponentsConfig } from '../config.ts';
import type { FaceGeometry } from '../face-geometry.ts';
import { distance } from '../geometry.ts';
import { rampScore, type QualityComponent } from './component.ts';

/** Pixels between the eye centres in the photo: read by the quality gate and by ISSUE_FACE_TOO_SMALL. */
export function interEyeDistance(geometry: FaceGeometry): number {
  return distance(geometry.eyes[0].centre, geometry.eyes[1].centre);
}

/** Inter-eye distance in the original photo: too few pixels across the face and identity detail is gone. */
export function faceSizeComponent(config: QualityComponentsConfig['faceSize']): QualityComponent {
  return async ({ geometry }) => {
    const interEyePx = interEyeDistance(geometry);
    return { score: rampScore(interEyePx, config.interEyePx), measurements: { inter_eye_px: interEyePx } };
  };
}
