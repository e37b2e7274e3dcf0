import { rampScore, type Measure } from './measure.ts';

/**
 * |yaw|, |pitch| from the mesh's 3-D shape and |roll| of the eye line, degrees: the same values the
 * quality gate's pose and roll components read. ICAO asks for a frontal pose within about 5°.
 */
export const pose: Measure = ({ geometry }) => {
  const yaw = Math.abs(geometry.pose?.yaw ?? 0);
  const pitch = Math.abs(geometry.pose?.pitch ?? 0);
  const roll = Math.abs(geometry.roll);
  return {
    yaw: { value: yaw, score: rampScore(yaw, 30, 0) },
    pitch: { value: pitch, score: rampScore(pitch, 30, 0) },
    roll: { value: roll, score: rampScore(roll, 20, 0) },
  };
};
