import { ALIGNED_ZONES } from './face-zones.ts';
import { bandScore, type Measure } from './measure.ts';
import { chroma, meanLab } from './pixels.ts';

/**
 * Hue angle of the cheeks in CIELAB, degrees: natural skin of every tone lies in a narrow band of
 * hues (reddish yellow, roughly 30–70°) and differs mostly in lightness and chroma; a colour cast
 * (green, blue, magenta) moves the hue out of that band.
 */
export const skinTone: Measure = ({ aligned }) => {
  const cheeks = meanLab(aligned, ALIGNED_ZONES.cheeks);
  const hue = (Math.atan2(cheeks.b, cheeks.a) * 180) / Math.PI;
  return {
    skin_hue: { value: hue, score: bandScore(hue, 10, 35, 65, 95) },
    skin_chroma: { value: chroma(cheeks), score: bandScore(chroma(cheeks), 3, 12, 40, 60) },
  };
};
