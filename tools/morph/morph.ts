// Face morphing as document fraudsters do it (landmark-based, as in FaceMorpher / the OpenCV recipe):
// both photos are warped to the averaged landmark shape triangle by triangle, then blended. Used by
// `npm run morphs` and by the enrol test that must see a morph refused.
import type { Point, RgbImage } from '../../src/pipeline/types.ts';
import { delaunay, type Triangle } from './delaunay.ts';

/** A photo and its face mesh points in the photo's pixel coordinates. */
export interface LandmarkedPhoto {
  image: RgbImage;
  points: Point[];
}

export type MorphVariant = 'whole' | 'spliced';

/** Landmarks plus points along the frame, so the triangulation covers the whole photo, background and hair included. */
function withFrame(points: readonly Point[], width: number, height: number): Point[] {
  const frame: Point[] = [];
  for (const t of [0, 0.25, 0.5, 0.75]) {
    frame.push({ x: t * (width - 1), y: 0 }, { x: width - 1, y: t * (height - 1) }, { x: (1 - t) * (width - 1), y: height - 1 }, { x: 0, y: (1 - t) * (height - 1) });
  }
  return [...points, ...frame];
}

/** The affine map taking triangle `to` onto triangle `from` (so output pixels find their source). */
function triangleAffine(to: readonly Point[], from: readonly Point[]): [number, number, number, number, number, number] | undefined {
  const [p0, p1, p2] = to;
  const det = (p1.x - p0.x) * (p2.y - p0.y) - (p2.x - p0.x) * (p1.y - p0.y);
  if (Math.abs(det) < 1e-9) return undefined;
  // solve for a, b, c with a·x + b·y + c = source coordinate, per source axis
  const solve = (s0: number, s1: number, s2: number) => {
    const a = ((s1 - s0) * (p2.y - p0.y) - (s2 - s0) * (p1.y - p0.y)) / det;
    const b = ((s2 - s0) * (p1.x - p0.x) - (s1 - s0) * (p2.x - p0.x)) / det;
    return [a, b, s0 - a * p0.x - b * p0.y] as const;
  };
  const [a, b, c] = solve(from[0].x, from[1].x, from[2].x);
  const [d, e, f] = solve(from[0].y, from[1].y, from[2].y);
  return [a, b, c, d, e, f];
}

/**
 * Warps `photo` so its points land on `target` (same count), each Delaunay triangle by its own affine
 * map, sampling the source bilinearly. Output is width×height float RGB.
 */
export function warpToShape(photo: LandmarkedPhoto, target: readonly Point[], triangles: readonly Triangle[], width: number, height: number): Float32Array {
  const { image } = photo;
  const out = new Float32Array(width * height * 3);
  const src = image.data;
  const sw = image.width;
  const sh = image.height;
  for (const [i, j, k] of triangles) {
    const to = [target[i], target[j], target[k]];
    const m = triangleAffine(to, [photo.points[i], photo.points[j], photo.points[k]]);
    if (!m) continue;
    const x0 = Math.max(0, Math.floor(Math.min(to[0].x, to[1].x, to[2].x)));
    const x1 = Math.min(width - 1, Math.ceil(Math.max(to[0].x, to[1].x, to[2].x)));
    const y0 = Math.max(0, Math.floor(Math.min(to[0].y, to[1].y, to[2].y)));
    const y1 = Math.min(height - 1, Math.ceil(Math.max(to[0].y, to[1].y, to[2].y)));
    const area = (to[1].x - to[0].x) * (to[2].y - to[0].y) - (to[2].x - to[0].x) * (to[1].y - to[0].y);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        // barycentric inside test, with a little slack so shared edges leave no gaps
        const w0 = ((to[1].x - x) * (to[2].y - y) - (to[2].x - x) * (to[1].y - y)) / area;
        const w1 = ((to[2].x - x) * (to[0].y - y) - (to[0].x - x) * (to[2].y - y)) / area;
        const w2 = 1 - w0 - w1;
        if (w0 < -1e-3 || w1 < -1e-3 || w2 < -1e-3) continue;
        const sx = Math.min(sw - 1.001, Math.max(0, m[0] * x + m[1] * y + m[2]));
        const sy = Math.min(sh - 1.001, Math.max(0, m[3] * x + m[4] * y + m[5]));
        const ix = Math.floor(sx);
        const iy = Math.floor(sy);
        const fx = sx - ix;
        const fy = sy - iy;
        const i00 = (iy * sw + ix) * 3;
        const i01 = i00 + sw * 3;
        const o = (y * width + x) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const top = src[i00 + ch] + (src[i00 + 3 + ch] - src[i00 + ch]) * fx;
          const bottom = src[i01 + ch] + (src[i01 + 3 + ch] - src[i01 + ch]) * fx;
          out[o + ch] = top + (bottom - top) * fy;
        }
      }
    }
  }
  return out;
}

/** Fills a polygon into a 0/1 mask (even–odd rule, pixel centres). */
function polygonMask(polygon: readonly Point[], width: number, height: number): Float32Array {
  const mask = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const crossings: number[] = [];
    for (let i = 0; i < polygon.length; i++) {
      const a = polygon[i];
      const b = polygon[(i + 1) % polygon.length];
      if (a.y <= y !== b.y <= y) crossings.push(a.x + ((y - a.y) / (b.y - a.y)) * (b.x - a.x));
    }
    crossings.sort((p, q) => p - q);
    for (let c = 0; c + 1 < crossings.length; c += 2) {
      for (let x = Math.max(0, Math.ceil(crossings[c])); x <= Math.min(width - 1, Math.floor(crossings[c + 1])); x++) mask[y * width + x] = 1;
    }
  }
  return mask;
}

/** Three passes of a running box mean: close to a Gaussian of σ ≈ radius, in time independent of the radius. */
function feather(mask: Float32Array, width: number, height: number, radius: number): Float32Array {
  let current = mask;
  const pass = (input: Float32Array, horizontal: boolean) => {
    const output = new Float32Array(input.length);
    const lines = horizontal ? height : width;
    const length = horizontal ? width : height;
    const at = (line: number, k: number) => (horizontal ? line * width + k : k * width + line);
    for (let line = 0; line < lines; line++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += input[at(line, Math.min(length - 1, Math.max(0, k)))];
      for (let k = 0; k < length; k++) {
        output[at(line, k)] = sum / (2 * radius + 1);
        sum += input[at(line, Math.min(length - 1, k + radius + 1))] - input[at(line, Math.max(0, k - radius))];
      }
    }
    return output;
  };
  for (let i = 0; i < 3; i++) current = pass(pass(current, true), false);
  return current;
}

export interface MorphOptions {
  /** weight of the second contributor, 0.3–0.7 in practice */
  alpha: number;
  variant: MorphVariant;
  /**
   * the face outline as mesh indices (closed polygon), for the spliced variant: only what lies inside
   * is morphed, the rest is the first contributor's head and background
   */
  oval: readonly number[];
}

/**
 * Morphs two photos of the same size into one: the averaged shape (weighted by alpha), both photos
 * warped to it and cross-dissolved. `whole` keeps the blend everywhere (ghosted hair and background);
 * `spliced` keeps the blend only inside the face outline, shrunk a little and feathered, over the
 * first contributor warped to the same shape, as careful forgers do to hide the ghosting.
 */
export function morph(first: LandmarkedPhoto, second: LandmarkedPhoto, options: MorphOptions): RgbImage {
  const { width, height } = first.image;
  if (second.image.width !== width || second.image.height !== height) throw new Error('morph contributors must have the same size');
  const a = { ...first, points: withFrame(first.points, width, height) };
  const b = { ...second, points: withFrame(second.points, width, height) };
  const { alpha } = options;
  const shape = a.points.map((p, i) => ({ x: (1 - alpha) * p.x + alpha * b.points[i].x, y: (1 - alpha) * p.y + alpha * b.points[i].y }));
  const triangles = delaunay(shape);
  const warpedA = warpToShape(a, shape, triangles, width, height);
  const warpedB = warpToShape(b, shape, triangles, width, height);
  let inside: Float32Array | undefined;
  if (options.variant === 'spliced') {
    const outline = options.oval.map((i) => shape[i]);
    const centre = { x: outline.reduce((s, p) => s + p.x, 0) / outline.length, y: outline.reduce((s, p) => s + p.y, 0) / outline.length };
    const shrunk = outline.map((p) => ({ x: centre.x + 0.92 * (p.x - centre.x), y: centre.y + 0.92 * (p.y - centre.y) }));
    const faceWidth = Math.max(...outline.map((p) => p.x)) - Math.min(...outline.map((p) => p.x));
    inside = feather(polygonMask(shrunk, width, height), width, height, Math.max(2, Math.round(faceWidth * 0.03)));
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    const blend = (1 - alpha) * warpedA[i] + alpha * warpedB[i];
    const w = inside ? inside[(i / 3) | 0] : 1;
    data[i] = Math.round(w * blend + (1 - w) * warpedA[i]);
  }
  return { data, width, height };
}
