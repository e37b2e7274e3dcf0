/** A point in image pixels, [x, y]. */
export type Vec = [number, number];

/** Four corners, clockwise from the document's top-left. */
export type Quad = [Vec, Vec, Vec, Vec];

export type DocumentType = 'ID-1' | 'ID-2' | 'ID-3' | 'unknown';

/** ISO/IEC 7810 sizes, width ÷ height in landscape */
export const FORMAT_ASPECTS: Readonly<Record<Exclude<DocumentType, 'unknown'>, number>> = {
  'ID-1': 85.6 / 53.98,
  'ID-2': 105 / 74,
  'ID-3': 125 / 88,
};

/**
 * The shapes a document's outline can tell apart. ID-2 (105 × 74 mm) and ID-3 (125 × 88 mm) have the
 * same shape to within 0.1 %: 1.42 is ID-3, the passport data page and by far the commoner, unless the
 * machine-readable zone says ID-2 (mrz-lines.ts).
 */
export const DOCUMENT_ASPECTS: ReadonlyArray<{ type: DocumentType; aspect: number }> = [
  { type: 'ID-1', aspect: FORMAT_ASPECTS['ID-1'] },
  { type: 'ID-3', aspect: FORMAT_ASPECTS['ID-3'] },
];

/** how far (relative) a measured shape may be from a format's and still be called that format */
export const ASPECT_TOLERANCE = 0.06;

export function documentType(aspect: number, tolerance = ASPECT_TOLERANCE): DocumentType {
  const landscape = aspect >= 1 ? aspect : 1 / aspect;
  let best: { type: DocumentType; error: number } = { type: 'unknown', error: tolerance };
  for (const format of DOCUMENT_ASPECTS) {
    const error = Math.abs(landscape / format.aspect - 1);
    if (error < best.error) best = { type: format.type, error };
  }
  return best.type;
}

/** Whether two formats have one shape (ID-2 and ID-3 do, to 0.1 %), or are both unknown. */
export function sameShape(a: DocumentType, b: DocumentType): boolean {
  if (a === 'unknown' || b === 'unknown') return a === b;
  return Math.abs(FORMAT_ASPECTS[a] / FORMAT_ASPECTS[b] - 1) < 0.01;
}

export function distance(a: Vec, b: Vec): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Shoelace area; positive for clockwise order in image coordinates (y down). */
export function signedArea(polygon: readonly Vec[]): number {
  let sum = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [x1, y1] = polygon[i];
    const [x2, y2] = polygon[(i + 1) % polygon.length];
    sum += x1 * y2 - x2 * y1;
  }
  return sum / 2;
}

/** Orders four points clockwise (image coordinates), starting from the one nearest the top-left. */
export function orderQuad(points: readonly Vec[]): Quad {
  const cx = points.reduce((s, p) => s + p[0], 0) / points.length;
  const cy = points.reduce((s, p) => s + p[1], 0) / points.length;
  const sorted = [...points].sort((a, b) => Math.atan2(a[1] - cy, a[0] - cx) - Math.atan2(b[1] - cy, b[0] - cx));
  const start = sorted.reduce((best, p, i) => (p[0] + p[1] < sorted[best][0] + sorted[best][1] ? i : best), 0);
  return [0, 1, 2, 3].map((k) => sorted[(start + k) % 4]) as Quad;
}

/** A quad found on a resized copy of an image, in the pixels of the image itself (pixel centres kept aligned). */
export function rescaleQuad(quad: Quad, from: { width: number; height: number }, to: { width: number; height: number }): Quad {
  return quad.map(([x, y]): Vec => [((x + 0.5) * to.width) / from.width - 0.5, ((y + 0.5) * to.height) / from.height - 0.5]) as Quad;
}

/** The quad's corners listed from corner `shift` on: rotating the document by 90° × shift. */
export function rotateQuad(quad: Quad, shift: number): Quad {
  return [0, 1, 2, 3].map((k) => quad[(k + shift) % 4]) as Quad;
}

/** Mean lengths of the top/bottom and left/right sides. */
export function quadSides(quad: Quad): { width: number; height: number } {
  return {
    width: (distance(quad[0], quad[1]) + distance(quad[3], quad[2])) / 2,
    height: (distance(quad[1], quad[2]) + distance(quad[0], quad[3])) / 2,
  };
}

/** Intersection of the infinite lines through a–b and c–d, or undefined when they are (nearly) parallel. */
export function lineIntersection(a: Vec, b: Vec, c: Vec, d: Vec): Vec | undefined {
  const r: Vec = [b[0] - a[0], b[1] - a[1]];
  const s: Vec = [d[0] - c[0], d[1] - c[1]];
  const denominator = r[0] * s[1] - r[1] * s[0];
  if (Math.abs(denominator) < 1e-9 * Math.hypot(...r) * Math.hypot(...s)) return undefined;
  const t = ((c[0] - a[0]) * s[1] - (c[1] - a[1]) * s[0]) / denominator;
  return [a[0] + t * r[0], a[1] + t * r[1]];
}

/** Interior angle at each corner, degrees. */
export function cornerAngles(quad: Quad): number[] {
  return quad.map((p, i) => {
    const prev = quad[(i + 3) % 4];
    const next = quad[(i + 1) % 4];
    const a = Math.atan2(prev[1] - p[1], prev[0] - p[0]);
    const b = Math.atan2(next[1] - p[1], next[0] - p[0]);
    let angle = Math.abs(a - b) * (180 / Math.PI);
    if (angle > 180) angle = 360 - angle;
    return angle;
  });
}

/** Whether every corner of `inner` lies inside the convex quad `outer` (clockwise, image coordinates). */
export function containsQuad(outer: Quad, inner: Quad): boolean {
  return inner.every(([x, y]) =>
    outer.every(([ax, ay], i) => {
      const [bx, by] = outer[(i + 1) % 4];
      return (bx - ax) * (y - ay) - (by - ay) * (x - ax) >= 0;
    }),
  );
}
