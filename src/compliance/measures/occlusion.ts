import { ALIGNED_ZONES } from './face-zones.ts';
import { rampScore, type Measure } from './measure.ts';
import { deltaE, meanLab } from './pixels.ts';

/**
 * Heuristic. Colour difference (CIELAB ΔE) between the skin beside and below the mouth and the
 * forehead: on an uncovered face both are skin; a mask or a hand over the lower face is not. A fringe of
 * hair over the forehead, a beard, or strong make-up also raise it; an occluder of skin colour is not seen.
 */
export const occlusion: Measure = ({ aligned }) => {
  const difference = deltaE(meanLab(aligned, ALIGNED_ZONES.lowerFace), meanLab(aligned, [ALIGNED_ZONES.forehead]));
  return { lower_face_difference: { value: difference, score: rampScore(difference, 40, 10) } };
};
