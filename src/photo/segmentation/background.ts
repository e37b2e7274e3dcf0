import type { RgbImage } from '../../pipeline/types.ts';
import { boxMean } from './edge-refinement.ts';
import type { PersonMask } from './person-mask.ts';

// A pixel at the edge of the person is a mix: I = α·F + (1 − α)·B, the person's colour F and the old
// background B. Painting α·I + (1 − α)·C over a new colour C keeps the (1 − α)·B share of it, which is
// the halo. Instead the old background's share is taken out with a local estimate of B, so the result is
// α·F + (1 − α)·C ("colour decontamination").

/** The old background is estimated on a grid whose long side is at most this (speed; it varies slowly). */
const ESTIMATE_SIDE = 512;
/** window radius of the background estimate, as a share of the estimate grid's long side */
const ESTIMATE_RADIUS_SHARE = 0.03;
/**
 * Below this alpha a pixel is background, above 1 − this it is person: no estimate is needed, and
 * solving for F at a tiny alpha would magnify noise.
 */
const CERTAIN = 1 / 255;
/**
 * Only pixels below this alpha inform the background estimate: a pixel that holds even a little of the
 * person would tint the estimate with the person's colour, and the decontamination would then take
 * that colour out of the edge.
 */
const SURE_BACKGROUND = 0.03;
/** a window must be at least this share sure background for its mean to be the estimate */
const MIN_BACKGROUND_SHARE = 0.05;

export function replaceBackground(image: RgbImage, mask: PersonMask, colour: [number, number, number]): RgbImage {
  if (mask.width !== image.width || mask.height !== image.height) throw new Error(`mask is ${mask.width}×${mask.height}, image ${image.width}×${image.height}`);
  const background = oldBackground(image, mask);
  const out = new Uint8Array(image.data.length);
  const s = image.data;
  const { alpha } = mask;
  for (let i = 0, j = 0; i < alpha.length; i++, j += 3) {
    const a = alpha[i];
    if (a >= 1 - CERTAIN) {
      out[j] = s[j];
      out[j + 1] = s[j + 1];
      out[j + 2] = s[j + 2];
    } else if (a <= CERTAIN) {
      out[j] = colour[0];
      out[j + 1] = colour[1];
      out[j + 2] = colour[2];
    } else {
      const b = background.at(i);
      for (let c = 0; c < 3; c++) {
        const person = Math.min(255, Math.max(0, (s[j + c] - (1 - a) * b[c]) / a));
        out[j + c] = Math.round(a * person + (1 - a) * colour[c]);
      }
    }
  }
  return { data: out, width: image.width, height: image.height };
}

/**
 * The old background's colour near each pixel: the mean of nearby sure-background pixels, on a coarse
 * grid. The window widens (×4, twice) where too little background lies within it, as beside a wide soft
 * edge; where none is near at all (deep inside the person) the whole photo's background mean stands in.
 */
function oldBackground(image: RgbImage, mask: PersonMask): { at(index: number): [number, number, number] } {
  const factor = Math.max(1, Math.ceil(Math.max(image.width, image.height) / ESTIMATE_SIDE));
  const width = Math.ceil(image.width / factor);
  const height = Math.ceil(image.height / factor);
  const count = new Float32Array(width * height);
  const sums = [new Float32Array(width * height), new Float32Array(width * height), new Float32Array(width * height)];
  const overall = [0, 0, 0];
  let overallCount = 0;
  for (let y = 0; y < image.height; y++) {
    const row = Math.floor(y / factor) * width;
    for (let x = 0; x < image.width; x++) {
      const i = y * image.width + x;
      if (mask.alpha[i] >= SURE_BACKGROUND) continue;
      const cell = row + Math.floor(x / factor);
      count[cell]++;
      for (let c = 0; c < 3; c++) {
        sums[c][cell] += image.data[3 * i + c];
        overall[c] += image.data[3 * i + c];
      }
      overallCount++;
    }
  }
  const cellArea = factor * factor;
  const planes = overall.map((v) => new Float32Array(width * height).fill(overallCount > 0 ? v / overallCount : 0));
  const settled = new Uint8Array(width * height);
  const smallest = Math.max(1, Math.round(ESTIMATE_RADIUS_SHARE * Math.max(width, height)));
  for (const radius of [smallest, 4 * smallest, 16 * smallest]) {
    const share = boxMean(count, width, height, radius);
    const means = sums.map((sum) => boxMean(sum, width, height, radius));
    for (let k = 0; k < settled.length; k++) {
      if (settled[k] || share[k] < MIN_BACKGROUND_SHARE * cellArea) continue;
      settled[k] = 1;
      for (let c = 0; c < 3; c++) planes[c][k] = means[c][k] / share[k];
    }
  }
  // only edge pixels ask, so the grid is interpolated per request rather than enlarged to the photo
  return {
    at(index) {
      const fx = Math.min(width - 1, Math.max(0, ((index % image.width) + 0.5) / factor - 0.5));
      const fy = Math.min(height - 1, Math.max(0, (Math.floor(index / image.width) + 0.5) / factor - 0.5));
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      const wx = fx - x0;
      const wy = fy - y0;
      const value = (plane: Float32Array) => {
        const top = plane[y0 * width + x0] + (plane[y0 * width + x1] - plane[y0 * width + x0]) * wx;
        const bottom = plane[y1 * width + x0] + (plane[y1 * width + x1] - plane[y1 * width + x0]) * wx;
        return top + (bottom - top) * wy;
      };
      return [value(planes[0]), value(planes[1]), value(planes[2])];
    },
  };
}
