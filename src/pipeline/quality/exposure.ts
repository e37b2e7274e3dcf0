import type { QualityComponentsConfig } from '../config.ts';
import type { RgbImage } from '../types.ts';
import { innerFace, regionStats } from './aligned-face.ts';
import { rampScore, type QualityComponent } from './component.ts';

/**
 * Mean and standard deviation of the grey levels of the aligned inner face: what the quality gate's
 * exposure component and the photo checks' face brightness (ISSUE_FACE_BRIGHTNESS_BAD) both read.
 */
export function faceGreyStats(aligned: RgbImage): { mean: number; sd: number } {
  const region = innerFace(aligned);
  return regionStats(region, (x, y) => region.grey[y * region.stride + x]);
}

/** Brightness (neither too dark nor blown out) and contrast of the aligned inner face; the worst of the three counts. */
export function exposureComponent(config: QualityComponentsConfig['exposure']): QualityComponent {
  return async ({ aligned }) => {
    const { mean, sd } = faceGreyStats(aligned);
    const score = Math.min(rampScore(mean, config.darkMean), rampScore(mean, config.brightMean), rampScore(sd, config.contrast));
    return { score, measurements: { grey_mean: mean, grey_sd: sd } };
  };
}
