import { toGrey } from '../picture.ts';
import type { RgbImage } from '../types.ts';

/** The inner face of an aligned crop (brows to chin, cheek to cheek), so background does not count. */
const INNER = { left: 0.15, right: 0.85, top: 0.2, bottom: 0.95 };

export interface GreyRegion {
  grey: Uint8Array;
  /** full raster width */
  stride: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export function innerFace(aligned: RgbImage): GreyRegion {
  const { width, height } = aligned;
  return {
    grey: toGrey(aligned),
    stride: width,
    x0: Math.round(INNER.left * width),
    x1: Math.round(INNER.right * width),
    y0: Math.round(INNER.top * height),
    y1: Math.round(INNER.bottom * height),
  };
}

/** mean and standard deviation of `value(x, y)` over the region */
export function regionStats(region: GreyRegion, value: (x: number, y: number) => number): { mean: number; sd: number } {
  let sum = 0;
  let squares = 0;
  let n = 0;
  for (let y = region.y0; y < region.y1; y++) {
    for (let x = region.x0; x < region.x1; x++) {
      const v = value(x, y);
      sum += v;
      squares += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return { mean, sd: Math.sqrt(Math.max(0, squares / n - mean * mean)) };
}
