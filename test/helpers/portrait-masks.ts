import type { PersonMask } from '../../src/photo/segmentation/index.ts';
import { boxMean } from '../../src/photo/segmentation/edge-refinement.ts';
import type { RgbImage } from '../../src/pipeline/types.ts';

// Ground truth for the segmentation tests and benchmark, built from the London studio portraits: their
// background is a plain grey wall lit into a smooth gradient, so a pixel is background when its colour
// is close to a smooth surface fitted to the photo's top and upper-side borders (a colour key). Rough
// at wisps of hair and at shadows on the wall, but independent of any network.

/** colour distance from the fitted wall (0–255 RGB, Euclidean) at which alpha starts to rise, and where it reaches 1 */
const KEY_LOW = 14;
const KEY_HIGH = 34;
/** enclosed groups of wall pixels up to this share of the photo are holes in the key (skin highlights), filled */
const MAX_HOLE_SHARE = 0.002;

/** The London portrait's person as a soft alpha from the colour key: the largest person blob, holes filled. */
export function keyedPortraitMask(image: RgbImage): PersonMask {
  const wall = fitWall(image);
  const { width, height, data } = image;
  const alpha = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const expected = wall(x, y);
      const d = Math.hypot(data[3 * i] - expected[0], data[3 * i + 1] - expected[1], data[3 * i + 2] - expected[2]);
      alpha[i] = Math.min(1, Math.max(0, (d - KEY_LOW) / (KEY_HIGH - KEY_LOW)));
    }
  }
  const solid = largestBlobFilled({ width, height, alpha });
  for (let i = 0; i < alpha.length; i++) if (!solid[i]) alpha[i] = 0;
  // holes (wall pixels enclosed by the person) are person; soft pixels at the outline keep their alpha
  for (let i = 0; i < alpha.length; i++) if (solid[i] === 2) alpha[i] = 1;
  return { width, height, alpha };
}

/** Per channel, a quadratic surface in x and y fitted by least squares to the wall's border pixels. */
function fitWall(image: RgbImage): (x: number, y: number) => number[] {
  const { width, height, data } = image;
  const margin = Math.round(0.04 * Math.min(width, height));
  const terms = (x: number, y: number) => {
    const u = x / width;
    const v = y / height;
    return [1, u, v, u * u, v * v, u * v];
  };
  const normal = Array.from({ length: 6 }, () => new Array<number>(6).fill(0));
  const rhs = [0, 1, 2].map(() => new Array<number>(6).fill(0));
  const add = (x: number, y: number) => {
    const t = terms(x, y);
    const i = y * width + x;
    for (let r = 0; r < 6; r++) {
      for (let c = 0; c < 6; c++) normal[r][c] += t[r] * t[c];
      for (let ch = 0; ch < 3; ch++) rhs[ch][r] += t[r] * data[3 * i + ch];
    }
  };
  for (let y = 0; y < margin; y += 2) for (let x = 0; x < width; x += 2) add(x, y);
  for (let y = margin; y < Math.round(0.6 * height); y += 2) {
    for (let x = 0; x < margin; x += 2) {
      add(x, y);
      add(width - 1 - x, y);
    }
  }
  const coefficients = rhs.map((b) => solve(normal, b));
  return (x, y) => {
    const t = terms(x, y);
    return coefficients.map((k) => k.reduce((sum, kk, j) => sum + kk * t[j], 0));
  };
}

/** Gaussian elimination with partial pivoting on a small dense system. */
function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let c = col; c <= n; c++) a[r][c] -= f * a[col][c];
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

/**
 * 1 where the largest 4-connected blob of alpha ≥ 0.5 is, 2 where a small group of wall pixels is
 * enclosed by it (not reachable from the photo's border), 0 elsewhere.
 */
function largestBlobFilled(mask: PersonMask): Uint8Array {
  const { width, height, alpha } = mask;
  const n = width * height;
  const label = new Int32Array(n).fill(-1);
  const flood = (seed: number, id: number, member: (i: number) => boolean): number => {
    const stack = [seed];
    label[seed] = id;
    let size = 0;
    while (stack.length > 0) {
      const i = stack.pop()!;
      size++;
      const x = i % width;
      for (const j of [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, i - width, i + width]) {
        if (j < 0 || j >= n || label[j] !== -1 || !member(j)) continue;
        label[j] = id;
        stack.push(j);
      }
    }
    return size;
  };
  const person = (i: number) => alpha[i] >= 0.5;
  let best = -1;
  let bestSize = 0;
  for (let i = 0, id = 0; i < n; i++) {
    if (label[i] !== -1 || !person(i)) continue;
    const size = flood(i, id, person);
    if (size > bestSize) [best, bestSize] = [id, size];
    id++;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (label[i] === best) out[i] = 1;
  // wall reachable from the border: everything not in the blob, flooded from the border pixels
  const outside = new Uint8Array(n);
  const stack: number[] = [];
  const push = (i: number) => {
    if (out[i] === 0 && outside[i] === 0) {
      outside[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < width; x++) [push(x), push((height - 1) * width + x)];
  for (let y = 0; y < height; y++) [push(y * width), push(y * width + width - 1)];
  while (stack.length > 0) {
    const i = stack.pop()!;
    const x = i % width;
    if (x > 0) push(i - 1);
    if (x < width - 1) push(i + 1);
    if (i >= width) push(i - width);
    if (i + width < n) push(i + width);
  }
  // enclosed wall pixels: small groups are highlights on skin (person); large ones are wall seen between curls
  const enclosed = new Int32Array(n).fill(-1);
  const group: number[] = [];
  for (let seed = 0; seed < n; seed++) {
    if (out[seed] !== 0 || outside[seed] !== 0 || enclosed[seed] !== -1) continue;
    group.length = 0;
    enclosed[seed] = seed;
    group.push(seed);
    for (let k = 0; k < group.length; k++) {
      const i = group[k];
      const x = i % width;
      for (const j of [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, i - width, i + width]) {
        if (j < 0 || j >= n || out[j] !== 0 || outside[j] !== 0 || enclosed[j] !== -1) continue;
        enclosed[j] = seed;
        group.push(j);
      }
    }
    if (group.length < MAX_HOLE_SHARE * n) for (const i of group) out[i] = 2;
  }
  return out;
}

/** The portrait laid over a flat colour through `alpha`: I·α + colour·(1 − α), a photo whose true mask is α. */
export function composite(image: RgbImage, mask: PersonMask, colour: readonly [number, number, number]): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < mask.alpha.length; i++) {
    const a = mask.alpha[i];
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.round(a * image.data[3 * i + c] + (1 - a) * colour[c]);
  }
  return { data, width: image.width, height: image.height };
}

/** Intersection over union of the two masks cut at alpha 0.5, over rows [fromRow, toRow). */
export function maskIoU(a: PersonMask, b: PersonMask, fromRow = 0, toRow = a.height): number {
  let both = 0;
  let either = 0;
  for (let i = fromRow * a.width; i < toRow * a.width; i++) {
    const pa = a.alpha[i] >= 0.5;
    const pb = b.alpha[i] >= 0.5;
    if (pa && pb) both++;
    if (pa || pb) either++;
  }
  return either === 0 ? 1 : both / either;
}

/** The mask cut at alpha 0.5 with no soft edge: what a naive background replacement uses. */
export function hardMask(mask: PersonMask): PersonMask {
  return { ...mask, alpha: mask.alpha.map((a) => (a >= 0.5 ? 1 : 0)) };
}

/**
 * The old background's colour left in the edge band of a replaced photo: mean over the band of how much
 * more of the old colour's dominant channel a pixel holds than the ideal replacement α·I + (1 − α)·new
 * does (0–255 levels). The band is every pixel within `radius` of the true mask's outline, in rows above `toRow`.
 */
export function haloResidue(
  result: RgbImage,
  original: RgbImage,
  truth: PersonMask,
  newColour: readonly [number, number, number],
  channel: 0 | 1 | 2,
  radius: number,
  toRow = truth.height,
): number {
  const { width } = truth;
  const band = edgeBand(truth, radius);
  const excess = (r: number, g: number, b: number) => {
    const v = [r, g, b];
    const others = v.filter((_, c) => c !== channel);
    return v[channel] - (others[0] + others[1]) / 2;
  };
  let total = 0;
  let count = 0;
  for (let i = 0; i < width * toRow; i++) {
    if (!band[i]) continue;
    const a = truth.alpha[i];
    const ideal = [0, 1, 2].map((c) => a * original.data[3 * i + c] + (1 - a) * newColour[c]);
    const got = excess(result.data[3 * i], result.data[3 * i + 1], result.data[3 * i + 2]);
    total += Math.max(0, got - excess(ideal[0], ideal[1], ideal[2]));
    count++;
  }
  return count === 0 ? 0 : total / count;
}

/** pixels within `radius` (Chebyshev) of a change between person and background in the mask cut at 0.5 */
function edgeBand(mask: PersonMask, radius: number): Uint8Array {
  const { width, height, alpha } = mask;
  const band = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width - 1; x++) {
      const i = y * width + x;
      const edge = (alpha[i] >= 0.5) !== (alpha[i + 1] >= 0.5) || (y < height - 1 && (alpha[i] >= 0.5) !== (alpha[i + width] >= 0.5));
      if (!edge) continue;
      for (let dy = -radius; dy <= radius; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        band.fill(1, yy * width + Math.max(0, x - radius), yy * width + Math.min(width, x + radius + 1));
      }
    }
  }
  return band;
}

/**
 * The mask with its outline spread over about 2·radius pixels (two box blurs): hair edges in a real
 * photo are such mixtures of hair and wall, which a hard cut-out leaves as a fringe of the old colour.
 */
export function softened(mask: PersonMask, radius: number): PersonMask {
  const once = boxMean(mask.alpha, mask.width, mask.height, radius);
  return { ...mask, alpha: boxMean(once, mask.width, mask.height, radius) };
}
