import { interEyeDistance } from '../../pipeline/quality/face-size.ts';
import type { Point } from '../../pipeline/types.ts';
import { rampScore, type Measure } from './measure.ts';

// MediaPipe mesh indices: outer mouth corners (image-left, image-right) and the inner lip midpoints.
const MOUTH_CORNERS = [61, 291] as const;
const INNER_LIPS = [13, 14] as const;

/**
 * How much the face smiles, from the mouth's shape in the face's own frame (roll undone): a smile
 * widens the mouth and lifts its corners above the lip line. value = mouth width / inter-eye distance
 * + corner lift / inter-eye distance; neutral faces of the London set give 0.64–0.90, the same people
 * smiling 0.72–1.13 (benchmarks/results/compliance.json).
 */
export const expression: Measure = ({ geometry }) => {
  const { points } = geometry;
  const angle = (-geometry.roll * Math.PI) / 180;
  const upright = (p: Point) => ({ x: p.x * Math.cos(angle) - p.y * Math.sin(angle), y: p.x * Math.sin(angle) + p.y * Math.cos(angle) });
  const [left, right] = MOUTH_CORNERS.map((i) => upright(points[i]));
  const [upper, lower] = INNER_LIPS.map((i) => upright(points[i]));
  const eyes = interEyeDistance(geometry);
  const width = Math.hypot(right.x - left.x, right.y - left.y) / eyes;
  const lift = ((upper.y + lower.y) / 2 - (left.y + right.y) / 2) / eyes;
  const smile = width + lift;
  return {
    smile: { value: smile, score: rampScore(smile, 1.0, 0.8) },
    mouth_width: { value: width, score: rampScore(width, 1.0, 0.8) },
    mouth_corner_lift: { value: lift, score: rampScore(lift, 0.1, 0.02) },
  };
};
