import type { RgbImage } from '../../pipeline/types.ts';

// Mask edges at hair: the network's mask is coarse (1024² over the whole region) and soft in the wrong
// places, so it is refined with a guided filter (He, Sun & Tang, "Guided Image Filtering", 2013) whose
// guide is the photo itself: within each window the alpha becomes a linear function of the colour,
// so it follows the strands the photo shows. The filter's coefficients are computed at working resolution
// and applied at full resolution ("Fast Guided Filter", He & Sun 2015), which keeps strand detail the
// working grid cannot hold.

/** Mean over a (2r+1)² window, the window clipped at the raster's edges. Two passes of running sums. */
export function boxMean(src: Float32Array, width: number, height: number, r: number): Float32Array {
  const rows = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    for (let x = 0; x <= Math.min(r, width - 1); x++) sum += src[row + x];
    for (let x = 0; x < width; x++) {
      const lo = Math.max(0, x - r);
      const hi = Math.min(width - 1, x + r);
      rows[row + x] = sum / (hi - lo + 1);
      if (x + r + 1 < width) sum += src[row + x + r + 1];
      if (x - r >= 0) sum -= src[row + x - r];
    }
  }
  const out = new Float32Array(src.length);
  for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let y = 0; y <= Math.min(r, height - 1); y++) sum += rows[y * width + x];
    for (let y = 0; y < height; y++) {
      const lo = Math.max(0, y - r);
      const hi = Math.min(height - 1, y + r);
      out[y * width + x] = sum / (hi - lo + 1);
      if (y + r + 1 < height) sum += rows[(y + r + 1) * width + x];
      if (y - r >= 0) sum -= rows[(y - r) * width + x];
    }
  }
  return out;
}

/** alpha = a₀·R + a₁·G + a₂·B + b per pixel (colour 0–1), with a and b from the windows around it */
export interface GuidedCoefficients {
  a: [Float32Array, Float32Array, Float32Array];
  b: Float32Array;
}

/**
 * The colour guided filter's per-pixel linear coefficients for filtering `p` (the alpha) with `guide`,
 * both width×height. A colour guide, not grey: skin and a green or blue wall can share a grey level, and
 * a grey guide then smears the alpha across the outline. `eps` sets how faint an edge in the guide may
 * be and still be followed.
 */
export function guidedCoefficients(guide: RgbImage, p: Float32Array, r: number, eps: number): GuidedCoefficients {
  const { width, height } = guide;
  const n = width * height;
  const mean = (values: Float32Array) => boxMean(values, width, height, r);
  const channel = [0, 1, 2].map((c) => {
    const plane = new Float32Array(n);
    for (let i = 0; i < n; i++) plane[i] = guide.data[3 * i + c] / 255;
    return plane;
  });
  const product = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = x[i] * y[i];
    return out;
  };
  const meanI = channel.map(mean);
  const meanP = mean(p);
  const meanIp = channel.map((plane) => mean(product(plane, p)));
  // the six distinct entries of each window's colour covariance: rr, rg, rb, gg, gb, bb
  const pairs = [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]] as const;
  const meanII = pairs.map(([c, d]) => mean(product(channel[c], channel[d])));
  const a: GuidedCoefficients['a'] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const mr = meanI[0][i];
    const mg = meanI[1][i];
    const mb = meanI[2][i];
    const rr = meanII[0][i] - mr * mr + eps;
    const rg = meanII[1][i] - mr * mg;
    const rb = meanII[2][i] - mr * mb;
    const gg = meanII[3][i] - mg * mg + eps;
    const gb = meanII[4][i] - mg * mb;
    const bb = meanII[5][i] - mb * mb + eps;
    const cr = meanIp[0][i] - mr * meanP[i];
    const cg = meanIp[1][i] - mg * meanP[i];
    const cb = meanIp[2][i] - mb * meanP[i];
    // (Σ + eps·U)⁻¹ · cov(I, p) by the adjugate of the symmetric 3×3 matrix
    const i00 = gg * bb - gb * gb;
    const i01 = rb * gb - rg * bb;
    const i02 = rg * gb - rb * gg;
    const i11 = rr * bb - rb * rb;
    const i12 = rb * rg - rr * gb;
    const i22 = rr * gg - rg * rg;
    const det = rr * i00 + rg * i01 + rb * i02;
    const ar = (i00 * cr + i01 * cg + i02 * cb) / det;
    const ag = (i01 * cr + i11 * cg + i12 * cb) / det;
    const ab = (i02 * cr + i12 * cg + i22 * cb) / det;
    a[0][i] = ar;
    a[1][i] = ag;
    a[2][i] = ab;
    b[i] = meanP[i] - ar * mr - ag * mg - ab * mb;
  }
  return { a: [mean(a[0]), mean(a[1]), mean(a[2])], b: mean(b) };
}

/**
 * Bilinear resampling of a float raster onto a new grid covering the same area (pixel centres aligned,
 * edges clamped).
 */
export function resampleBilinear(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh);
  const sx = sw / dw;
  const sy = sh / dh;
  const x0s = new Int32Array(dw);
  const x1s = new Int32Array(dw);
  const fxs = new Float32Array(dw);
  for (let x = 0; x < dw; x++) {
    const fx = Math.min(sw - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(sw - 1, x0s[x] + 1);
    fxs[x] = fx - x0s[x];
  }
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(sh - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(sh - 1, y0 + 1);
    const wy = fy - y0;
    const r0 = y0 * sw;
    const r1 = y1 * sw;
    const row = y * dw;
    for (let x = 0; x < dw; x++) {
      const top = src[r0 + x0s[x]] + (src[r0 + x1s[x]] - src[r0 + x0s[x]]) * fxs[x];
      const bottom = src[r1 + x0s[x]] + (src[r1 + x1s[x]] - src[r1 + x0s[x]]) * fxs[x];
      out[row + x] = top + (bottom - top) * wy;
    }
  }
  return out;
}
