// Mask edges at hair: the network's mask is coarse (1024² over the whole region) and soft in the wrong
// places, so it is refined with a guided filter (He, Sun & Tang, "Guided Image Filtering", 2013) whose
// guide is the photo itself: within each window the alpha becomes a linear function of the grey level,
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

/** q = a·I + b per pixel, with a and b from the windows around it */
export interface GuidedCoefficients {
  a: Float32Array;
  b: Float32Array;
}

/**
 * The guided filter's per-pixel linear coefficients for filtering `p` (the alpha) with `guide` (grey, 0–1),
 * both width×height. `eps` sets how faint an edge in the guide may be and still be followed.
 */
export function guidedCoefficients(guide: Float32Array, p: Float32Array, width: number, height: number, r: number, eps: number): GuidedCoefficients {
  const n = guide.length;
  const ip = new Float32Array(n);
  const ii = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ip[i] = guide[i] * p[i];
    ii[i] = guide[i] * guide[i];
  }
  const meanI = boxMean(guide, width, height, r);
  const meanP = boxMean(p, width, height, r);
  const meanIp = boxMean(ip, width, height, r);
  const meanII = boxMean(ii, width, height, r);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const variance = meanII[i] - meanI[i] * meanI[i];
    a[i] = (meanIp[i] - meanI[i] * meanP[i]) / (variance + eps);
    b[i] = meanP[i] - a[i] * meanI[i];
  }
  return { a: boxMean(a, width, height, r), b: boxMean(b, width, height, r) };
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
