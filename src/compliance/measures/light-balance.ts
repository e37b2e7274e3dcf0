import { ALIGNED_ZONES } from './face-zones.ts';
import { rampScore, type Measure } from './measure.ts';
import { meanGrey } from './pixels.ts';

/** |left − right| / mean of the two face halves' mean grey levels: 0 evenly lit, 1 one half twice as bright. */
export const lightBalance: Measure = ({ aligned }) => {
  const left = meanGrey(aligned, ALIGNED_ZONES.leftHalf);
  const right = meanGrey(aligned, ALIGNED_ZONES.rightHalf);
  const imbalance = Math.abs(left - right) / Math.max(1, (left + right) / 2);
  return { light_imbalance: { value: imbalance, score: rampScore(imbalance, 0.5, 0.05) } };
};
