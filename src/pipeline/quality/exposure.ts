import type { QualityComponentsConfig } from '../config.ts';
import { innerFace, regionStats } from './aligned-face.ts';
import { rampScore, type QualityComponent } from './component.ts';

/** Brightness (neither too dark nor blown out) and contrast of the aligned inner face; the worst of the three counts. */
export function exposureComponent(config: QualityComponentsConfig['exposure']): QualityComponent {
  return async ({ aligned }) => {
    const region = innerFace(aligned);
    const { mean, sd } = regionStats(region, (x, y) => region.grey[y * region.stride + x]);
    const score = Math.min(rampScore(mean, config.darkMean), rampScore(mean, config.brightMean), rampScore(sd, config.contrast));
    return { score, measurements: { grey_mean: mean, grey_sd: sd } };
  };
}
