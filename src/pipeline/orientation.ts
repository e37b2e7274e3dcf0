import type { FaceBox, Point, RgbImage } from './types.ts';

// A photo whose EXIF orientation is wrong or missing shows its face sideways or upside down. Detectors
// are trained on roughly upright faces, so the pipeline looks again in the photo turned by quarter
// turns: exact pixel moves, no resampling, and an axis-aligned box stays axis-aligned when turned back.

/** clockwise quarter turns */
export type QuarterTurns = 0 | 1 | 2 | 3;

/** The photo turned clockwise by `turns` quarter turns. */
export function turnImage(image: RgbImage, turns: QuarterTurns): RgbImage {
  if (turns === 0) return image;
  const { width: w, height: h, data: src } = image;
  const width = turns === 2 ? w : h;
  const height = turns === 2 ? h : w;
  const out = new Uint8Array(src.length);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) {
      // source pixel that lands on output pixel (x, y)
      const [sx, sy] = turns === 1 ? [y, h - 1 - x] : turns === 2 ? [w - 1 - x, h - 1 - y] : [w - 1 - y, x];
      const i = (sy * w + sx) * 3;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    }
  }
  return { data: out, width, height };
}

/** A point (edge coordinates) of the turned photo, in the photo before turning, `width`×`height`. */
export function unturnPoint(p: Point, turns: QuarterTurns, width: number, height: number): Point {
  switch (turns) {
    case 0:
      return p;
    case 1:
      return { x: p.y, y: height - p.x };
    case 2:
      return { x: width - p.x, y: height - p.y };
    case 3:
      return { x: width - p.y, y: p.x };
  }
}

/** A box of the turned photo, in the photo before turning. */
export function unturnBox(box: FaceBox, turns: QuarterTurns, width: number, height: number): FaceBox {
  const a = unturnPoint({ x: box.x1, y: box.y1 }, turns, width, height);
  const b = unturnPoint({ x: box.x2, y: box.y2 }, turns, width, height);
  return { x1: Math.min(a.x, b.x), y1: Math.min(a.y, b.y), x2: Math.max(a.x, b.x), y2: Math.max(a.y, b.y), score: box.score };
}

/** The quarter turns that bring a face rolled by `rollDegrees` closest to upright. */
export function turnsToUpright(rollDegrees: number): QuarterTurns {
  return ((((-Math.round(rollDegrees / 90)) % 4) + 4) % 4) as QuarterTurns;
}
