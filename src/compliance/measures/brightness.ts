import { faceGreyStats } from '../../pipeline/quality/exposure.ts';
import { bandScore, type Measure } from './measure.ts';

/** Mean and spread of the aligned inner face's grey levels: the quality gate's exposure measure. */
export const brightness: Measure = ({ aligned }) => {
  const { mean, sd } = faceGreyStats(aligned);
  return {
    face_luminance: { value: mean, score: bandScore(mean, 30, 100, 190, 240) },
    face_contrast: { value: sd, score: bandScore(sd, 8, 30, 90, 128) },
  };
};
