import { rampScore, type Measure } from './measure.ts';
import { chroma, srgbToLab } from './pixels.ts';

/** A background counts as light from this CIELAB lightness (ICAO: plain, light-coloured). */
const LIGHT_L = 70;

/**
 * The background (see PhotoRegions: outside the head ellipse, above the chin) judged on the reduced
 * photo: texture = mean absolute grey difference between neighbouring background pixels (a smooth
 * light fall-off stays near 1, patterns and objects raise it); colour = distance from a light neutral
 * background, chroma + how far the lightness falls below L* 70.
 */
export const background: Measure = ({ regions }) => {
  const { small, background: mask } = regions;
  const { width, height, data } = small;
  const grey = (i: number) => 0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2];
  let texture = 0;
  let pairs = 0;
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      if (!mask[i]) continue;
      r += data[3 * i];
      g += data[3 * i + 1];
      b += data[3 * i + 2];
      n++;
      if (u + 1 < width && mask[i + 1]) {
        texture += Math.abs(grey(i + 1) - grey(i));
        pairs++;
      }
      if (v + 1 < height && mask[i + width]) {
        texture += Math.abs(grey(i + width) - grey(i));
        pairs++;
      }
    }
  }
  const meanTexture = pairs === 0 ? 0 : texture / pairs;
  const colour = n === 0 ? { L: 100, a: 0, b: 0 } : srgbToLab(r / n, g / n, b / n);
  const deviation = chroma(colour) + Math.max(0, LIGHT_L - colour.L);
  return {
    background_texture: { value: meanTexture, score: rampScore(meanTexture, 8, 1) },
    background_colour_deviation: { value: deviation, score: rampScore(deviation, 40, 5) },
    background_lightness: { value: colour.L, score: rampScore(colour.L, 40, 80) },
  };
};
