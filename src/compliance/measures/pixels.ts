import type { RgbImage } from '../../pipeline/types.ts';

/** CIELAB (D65) of an 8-bit sRGB colour. */
export interface Lab {
  L: number;
  a: number;
  b: number;
}

const linear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (t * 24389) / 27 / 116 + 16 / 116);

export function srgbToLab(r: number, g: number, b: number): Lab {
  const R = linear(r);
  const G = linear(g);
  const B = linear(b);
  const x = f((0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047);
  const y = f(0.2126 * R + 0.7152 * G + 0.0722 * B);
  const z = f((0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883);
  return { L: 116 * y - 16, a: 500 * (x - y), b: 200 * (y - z) };
}

export const deltaE = (p: Lab, q: Lab) => Math.hypot(p.L - q.L, p.a - q.a, p.b - q.b);
export const chroma = (c: Lab) => Math.hypot(c.a, c.b);

/** Pixel rectangle, x1/y1 exclusive. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** mean colour of a rectangle, clipped to the image; undefined when nothing of it lies inside */
export function meanRgb(image: RgbImage, rect: Rect): [number, number, number] | undefined {
  const x0 = Math.max(0, Math.floor(rect.x0));
  const y0 = Math.max(0, Math.floor(rect.y0));
  const x1 = Math.min(image.width, Math.ceil(rect.x1));
  const y1 = Math.min(image.height, Math.ceil(rect.y1));
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0, i = (y * image.width + x0) * 3; x < x1; x++, i += 3) {
      r += image.data[i];
      g += image.data[i + 1];
      b += image.data[i + 2];
      n++;
    }
  }
  return n === 0 ? undefined : [r / n, g / n, b / n];
}

export function meanLab(image: RgbImage, rects: readonly Rect[]): Lab {
  const colours = rects.map((rect) => meanRgb(image, rect)).filter((c) => c !== undefined);
  const mean = (k: number) => colours.reduce((sum, c) => sum + c[k], 0) / Math.max(1, colours.length);
  return srgbToLab(mean(0), mean(1), mean(2));
}

/** BT.601 luma of a rectangle's mean colour */
export function meanGrey(image: RgbImage, rect: Rect): number {
  const [r, g, b] = meanRgb(image, rect) ?? [0, 0, 0];
  return 0.299 * r + 0.587 * g + 0.114 * b;
}
