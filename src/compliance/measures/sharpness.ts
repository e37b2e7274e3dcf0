import { laplacianVariance } from '../../pipeline/quality/sharpness.ts';
import { rampScore, type Measure } from './measure.ts';

/** Laplacian variance of the aligned face: the measure the quality gate's sharpness component reads. */
export const sharpness: Measure = ({ aligned }) => {
  const variance = laplacianVariance(aligned);
  return { laplacian_variance: { value: variance, score: rampScore(variance, 15, 120) } };
};
