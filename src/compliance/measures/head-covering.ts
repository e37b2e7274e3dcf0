import { rampScore, type Measure } from './measure.ts';
import { chroma, meanLab } from './pixels.ts';

/**
 * Heuristic. CIELAB chroma of the top of the head (from the mesh's forehead point up to the estimated
 * crown, half a face width wide): hair of any natural colour is of low to moderate chroma, a coloured
 * cap, scarf or hat is not. A black, white or grey covering looks like hair to this measure and is not
 * seen; dyed hair in a saturated colour is taken for a covering.
 */
export const headCovering: Measure = ({ image, features, regions }) => {
  const half = regions.faceWidth / 4;
  const x = features.forehead.x;
  const top = features.crown.y + 0.1 * (features.forehead.y - features.crown.y);
  const colour = meanLab(image, [{ x0: x - half, x1: x + half, y0: top, y1: features.forehead.y }]);
  const c = chroma(colour);
  return { crown_chroma: { value: c, score: rampScore(c, 45, 20) } };
};
