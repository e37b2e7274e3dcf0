import type { QualityComponentsConfig } from '../config.ts';
import type { RgbImage } from '../types.ts';
import { innerFace, regionStats } from './aligned-face.ts';
import { rampScore, type QualityComponent } from './component.ts';

/**
 * Variance of the 4-neighbour Laplacian over the aligned inner face. Measured after alignment, so
 * every face is judged at the resolution the recognition model sees, whatever the photo's size.
 * The quality gate and the photo checks (ISSUE_PHOTO_SHARPNESS_BAD) both read this one measure.
 */
export function laplacianVariance(aligned: RgbImage): number {
  const region = innerFace(aligned);
  const { grey: g, stride: w } = region;
  const { sd } = regionStats(region, (x, y) => {
    const i = y * w + x;
    return g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4 * g[i];
  });
  return sd * sd;
}

export function sharpnessComponent(config: QualityComponentsConfig['sharpness']): QualityComponent {
  return async ({ aligned }) => {
    const variance = laplacianVariance(aligned);
    return { score: rampScore(variance, config.laplacianVariance), measurements: { laplacian_variance: variance } };
  };
}
