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
  const { width, height, factor } = background;
  const [pr, pg, pb] = background.planes;
  // where each photo column falls on the coarse grid (bilinear, pixel centres aligned)
  const x0s = new Int32Array(image.width);
  const x1s = new Int32Array(image.width);
  const wxs = new Float32Array(image.width);
  for (let x = 0; x < image.width; x++) {
    const fx = Math.min(width - 1, Math.max(0, (x + 0.5) / factor - 0.5));
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(width - 1, x0s[x] + 1);
    wxs[x] = fx - x0s[x];
  }
  const out = new Uint8Array(image.data.length);
  const s = image.data;
  const { alpha } = mask;
  for (let y = 0, i = 0; y < image.height; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) / factor - 0.5));
    const r0 = Math.floor(fy) * width;
    const r1 = Math.min(height - 1, Math.floor(fy) + 1) * width;
    const wy = fy - Math.floor(fy);
    for (let x = 0; x < image.width; x++, i++) {
      const j = 3 * i;
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
        const x0 = x0s[x];
        const x1 = x1s[x];
        const wx = wxs[x];
        out[j] = decontaminated(s[j], a, bilinear(pr, r0, r1, x0, x1, wx, wy), colour[0]);
        out[j + 1] = decontaminated(s[j + 1], a, bilinear(pg, r0, r1, x0, x1, wx, wy), colour[1]);
        out[j + 2] = decontaminated(s[j + 2], a, bilinear(pb, r0, r1, x0, x1, wx, wy), colour[2]);
      }
    }
  }
  return { data: out, width: image.width, height: image.height };
}

/** α·F + (1 − α)·new, with the person's colour F solved from I = α·F + (1 − α)·old */
function decontaminated(value: number, a: number, old: number, replacement: number): number {
  const person = Math.min(255, Math.max(0, (value - (1 - a) * old) / a));
  return Math.round(a * person + (1 - a) * replacement);
}

function bilinear(plane: Float32Array, r0: number, r1: number, x0: number, x1: number, wx: number, wy: number): number {
  const top = plane[r0 + x0] + (plane[r0 + x1] - plane[r0 + x0]) * wx;
  const bottom = plane[r1 + x0] + (plane[r1 + x1] - plane[r1 + x0]) * wx;
  return top + (bottom - top) * wy;
}

/** The old background's colour on a coarse grid: each cell covers factor×factor photo pixels. */
interface CoarseColour {
  planes: [Float32Array, Float32Array, Float32Array];
  width: number;
  height: number;
  factor: number;
}

/**
 * The old background's colour near each pixel: the mean of nearby sure-background pixels, on a coarse
 * grid. The window widens (×4, twice) where too little background lies within it, as beside a wide soft
 * edge; where none is near at all (deep inside the person) the whole photo's background mean stands in.
 */
function oldBackground(image: RgbImage, mask: PersonMask): CoarseColour {
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
  return { planes: planes as CoarseColour['planes'], width, height, factor };
}
