import type { FaceBox, FivePoints, Point } from './types.ts';

// Coordinates: boxes and landmarks use "edge" coordinates (pixel i spans [i, i+1)), like the models'
// normalised outputs. Affine maps used for sampling use OpenCV's "centre" convention (pixel i is at i),
// because that is what the ArcFace reference points and bilinear interpolation are defined in.

/** x' = a·x + b·y + c, y' = d·x + e·y + f */
export type Affine = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function applyAffine(m: Affine, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] };
}

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3];
  if (det === 0 || !Number.isFinite(det)) throw new Error('affine map is not invertible');
  const a = m[4] / det;
  const b = -m[1] / det;
  const d = -m[3] / det;
  const e = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

/** first `inner`, then `outer` */
export function composeAffine(outer: Affine, inner: Affine): Affine {
  return [
    outer[0] * inner[0] + outer[1] * inner[3],
    outer[0] * inner[1] + outer[1] * inner[4],
    outer[0] * inner[2] + outer[1] * inner[5] + outer[2],
    outer[3] * inner[0] + outer[4] * inner[3],
    outer[3] * inner[1] + outer[4] * inner[4],
    outer[3] * inner[2] + outer[4] * inner[5] + outer[5],
  ];
}

/** source pixels per output pixel (geometric mean of the two axes) */
export function affineScale(m: Affine): number {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
}

/**
 * Least-squares similarity (rotation, uniform scale, translation; no reflection) taking `from` onto `to`.
 * In 2-D, Umeyama's SVD solution has this closed form: with centred points, the linear part is
 * [[p, −q], [q, p]] where p = Σ x·y / Σ|x|² and q = Σ x×y / Σ|x|².
 */
export function estimateSimilarity(from: readonly Point[], to: readonly Point[]): Affine {
  if (from.length !== to.length || from.length < 2) throw new Error('need at least two point pairs of equal count');
  const n = from.length;
  const mean = (points: readonly Point[]) => ({
    x: points.reduce((s, p) => s + p.x, 0) / n,
    y: points.reduce((s, p) => s + p.y, 0) / n,
  });
  const mf = mean(from);
  const mt = mean(to);
  let dot = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i].x - mf.x;
    const fy = from[i].y - mf.y;
    const tx = to[i].x - mt.x;
    const ty = to[i].y - mt.y;
    dot += fx * tx + fy * ty;
    cross += fx * ty - fy * tx;
    norm += fx * fx + fy * fy;
  }
  if (norm === 0) throw new Error('source points coincide');
  const p = dot / norm;
  const q = cross / norm;
  return [p, -q, mt.x - (p * mf.x - q * mf.y), q, p, mt.y - (q * mf.x + p * mf.y)];
}

/**
 * Sampling map (centre convention) from an output raster of width×height onto `rect` of the source,
 * so that the output's edges land on the rect's edges.
 */
export function rectToOutput(rect: Rect, width: number, height: number): Affine {
  const sx = rect.width / width;
  const sy = rect.height / height;
  return [sx, 0, rect.x + 0.5 * sx - 0.5, 0, sy, rect.y + 0.5 * sy - 0.5];
}

/**
 * Sampling map (centre convention) from an outWidth×outHeight raster onto a width×height rectangle
 * centred on `centre` (edge coordinates) and turned by `rollDegrees`, so that a face rolled by that angle
 * comes out upright. At roll 0 it is `rectToOutput` of the axis-aligned rectangle.
 */
export function uprightRect(centre: Point, width: number, height: number, rollDegrees: number, outWidth: number, outHeight: number): Affine {
  const sx = width / outWidth;
  const sy = height / outHeight;
  const angle = (rollDegrees * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const rotateScale: Affine = [sx * cos, -sy * sin, centre.x - 0.5, sx * sin, sy * cos, centre.y - 0.5];
  return composeAffine(rotateScale, [1, 0, 0.5 - outWidth / 2, 0, 1, 0.5 - outHeight / 2]);
}

/** `uprightRect` of a square onto a size×size raster */
export function uprightSquare(centre: Point, side: number, rollDegrees: number, size: number): Affine {
  return uprightRect(centre, side, side, rollDegrees, size, size);
}

/** A point in an output raster's edge coordinates → the source's edge coordinates, through a sampling map. */
export function outputToSource(toSource: Affine, p: Point): Point {
  const q = applyAffine(toSource, { x: p.x - 0.5, y: p.y - 0.5 });
  return { x: q.x + 0.5, y: q.y + 0.5 };
}

/** Angle of the line from the image-left to the image-right eye, degrees; positive = turned clockwise on screen. */
export function rollDegrees(leftEye: Point, rightEye: Point): number {
  return (Math.atan2(rightEye.y - leftEye.y, rightEye.x - leftEye.x) * 180) / Math.PI;
}

export function boxCentre(box: FaceBox): Point {
  return { x: (box.x1 + box.x2) / 2, y: (box.y1 + box.y2) / 2 };
}

/** The point at normalised position (nx, ny) of `rect`, in edge coordinates. */
export function pointInRect(rect: Rect, nx: number, ny: number): Point {
  return { x: rect.x + nx * rect.width, y: rect.y + ny * rect.height };
}

export function boxWidth(box: FaceBox): number {
  return box.x2 - box.x1;
}

export function boxHeight(box: FaceBox): number {
  return box.y2 - box.y1;
}

export function boxArea(box: FaceBox): number {
  return Math.max(0, boxWidth(box)) * Math.max(0, boxHeight(box));
}

export function iou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

/** Square of side `height × scale` around the box centre: the crop the faceplugin models were trained on. */
export function squareAround(box: FaceBox, scale = 1): Rect {
  const side = boxHeight(box) * scale;
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  return { x: cx - side / 2, y: cy - side / 2, width: side, height: side };
}

/** The smallest rect of aspect width:height that contains `rect`, centred on it. */
export function withAspect(rect: Rect, aspect: number): Rect {
  const width = Math.max(rect.width, rect.height * aspect);
  const height = width / aspect;
  return { x: rect.x + (rect.width - width) / 2, y: rect.y + (rect.height - height) / 2, width, height };
}

export function clipBox(box: FaceBox, width: number, height: number): FaceBox {
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  return { x1: clamp(box.x1, width), y1: clamp(box.y1, height), x2: clamp(box.x2, width), y2: clamp(box.y2, height), score: box.score };
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export function meanPoint(points: readonly Point[]): Point {
  return { x: points.reduce((s, p) => s + p.x, 0) / points.length, y: points.reduce((s, p) => s + p.y, 0) / points.length };
}

/** edge → centre convention, for feeding landmarks into a sampling map */
export function toCentreConvention(points: FivePoints): FivePoints {
  return points.map((p) => ({ x: p.x - 0.5, y: p.y - 0.5 })) as FivePoints;
}
