import { ALIGNED_ZONES } from './face-zones.ts';
import { rampScore, type Measure } from './measure.ts';
import { meanLab } from './pixels.ts';

/**
 * Heuristic. Colour difference in the CIELAB a*b* plane (lightness left out: light falls off from
 * forehead to chin, and beard shadow darkens) between the skin beside and below the mouth and the
 * forehead: on an uncovered face both are skin-coloured; a mask or a gloved hand over the lower face
 * is not. A fringe of hair over the forehead or strong make-up also raise it; an occluder of skin
 * colour (a bare hand) is not seen.
 */
export const occlusion: Measure = ({ aligned }) => {
  const lower = meanLab(aligned, ALIGNED_ZONES.lowerFace);
  const forehead = meanLab(aligned, [ALIGNED_ZONES.forehead]);
  const difference = Math.hypot(lower.a - forehead.a, lower.b - forehead.b);
  return { lower_face_difference: { value: difference, score: rampScore(difference, 30, 6) } };
};
