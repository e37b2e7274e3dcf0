import { interEyeDistance } from '../../pipeline/quality/face-size.ts';
import { rampScore, type Measure } from './measure.ts';

/** Pixels between the eye centres: the measure the quality gate's face_size component reads. */
export const faceSize: Measure = ({ geometry }) => {
  const px = interEyeDistance(geometry);
  // ISO/IEC 19794-5 asks 90 px for a full-frontal image; under 30 px a face is barely recognisable
  return { inter_eye_px: { value: px, score: rampScore(px, 30, 90) } };
};
