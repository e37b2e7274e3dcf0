import { ALIGNED_ZONES } from './face-zones.ts';
import { rampScore, type Measure } from './measure.ts';
import { meanGrey } from './pixels.ts';

/**
 * Heuristic. Mean grey of the eye band (both eyes and the nose bridge) over that of the cheeks: tinted
 * or dark lenses and heavy frames darken the band against the skin below. Thin clear frames barely
 * change it, so ordinary glasses are often not seen; dark eye make-up or deep-set eyes in side light
 * can be taken for dark lenses.
 */
export const eyeglasses: Measure = ({ aligned }) => {
  const band = meanGrey(aligned, ALIGNED_ZONES.eyeBand);
  const cheeks = (meanGrey(aligned, ALIGNED_ZONES.cheeks[0]) + meanGrey(aligned, ALIGNED_ZONES.cheeks[1])) / 2;
  const ratio = band / Math.max(1, cheeks);
  return { eye_band_brightness: { value: ratio, score: rampScore(ratio, 0.4, 0.75) } };
};
