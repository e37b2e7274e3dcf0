import type { RgbImage } from '../pipeline/types.ts';
import { withMats, type Keep, type OpenCv } from './opencv.ts';
import { containsQuad, cornerAngles, lineIntersection, orderQuad, signedArea, type Quad, type Vec } from './quad.ts';

/** Where the search runs: edges of a card are straight lines at any scale, and this keeps it cheap. */
export const SEARCH_LONG_SIDE = 720;

/** Canny high thresholds, strong to faint: faint ones find a white card on a white desk. */
const CANNY_HIGH = [160, 80, 36, 16];

/** weight of an unseen pixel of outline against a seen one */
const UNSEEN_PENALTY = 1.5;

/** candidates refined and scored again */
const REFINED_CANDIDATES = 30;

/** the Canny threshold whose full-scale edges feed the line search too (thin documents, fine lines) */
const FULL_SCALE_HOUGH_CANNY_HIGH = 80;

/** the Canny thresholds whose half-scale edges feed the line search */
const HOUGH_CANNY_HIGH = [60, 24];

/** longest line segments paired into quads */
const MAX_SEGMENTS = 30;

/**
 * longest side pair over the other, as seen: a card's front and back scanned side by side is 3.2 to 1,
 * and tilted away from the camera it looks longer still (4.0 on a generated photo)
 */
const MAX_SHAPE = 5;

/** largest angle between opposite sides taken as nearly parallel */
const PARALLEL_SIDES = (25 * Math.PI) / 180;

/** largest angle between opposite sides that converge (strong perspective): 55° was measured on a generated photo */
const CONVERGING_SIDES = (60 * Math.PI) / 180;

/** least angle between adjacent sides */
const ADJACENT_SIDES = (50 * Math.PI) / 180;

/** A document smaller than this share of the photo is not looked for (a photo on it would be found instead). */
const MIN_AREA_SHARE = 0.06;

/** share of a side's length that must lie on an edge; below, the side is not seen (a finger, or the frame) */
const MIN_SIDE_SUPPORT = 0.45;

/** a side this well seen is certainly an edge */
const STRONG_SIDE_SUPPORT = 0.85;

/** the least a side may be seen when the other three are seen strongly */
const FAINT_SIDE_SUPPORT = 0.3;

/** pixels either side of a refined side where its edge may lie */
const SUPPORT_REACH = 2;

/** the same before refining: a quad from contours or segments is a few pixels off */
const ROUGH_SUPPORT_REACH = 6;

/** pixels between the points checked along a side before refining (a first, cheaper look) */
const ROUGH_SAMPLE_STEP = 4;

/** Sobel magnitude (blurred grey) that counts as an edge: a step of about six grey levels */
const MIN_EDGE_GRADIENT = 12;

/** pixels an edge must run unbroken along a side to count */
const MIN_RUN_PIXELS = 10;

/** |cos| between the gradient and the side's normal: within about 25° */
const ALIGNMENT = 0.9;

/** pixels (search scale) either side of a side searched for its edge */
const REFINE_REACH = 5;

/**
 * pixels between the positions tried for the ends of a side moved: from the nearest, the edge lies within
 * REFINE_REACH at both ends, where refining finds it (a move by less is refining's work)
 */
const MOVE_STEP = 2 * REFINE_REACH;

export interface FoundQuad {
  /** search-scale pixels */
  quad: Quad;
  /** mean share of its sides seen as edges, 0–1 */
  support: number;
}

/** a quad to score; `tilted` when two of its opposite sides converge more than PARALLEL_SIDES allows */
interface Candidate {
  quad: Quad;
  tilted: boolean;
}

export type SearchOutcome =
  | { kind: 'found'; quad: Quad; confidence: number }
  | { kind: 'cut'; quad: Quad }
  | { kind: 'none' };

/**
 * Finds the document in a photo already shrunk to SEARCH_LONG_SIDE. Candidate quadrilaterals come from
 * two sources: contours of Canny edges at several thresholds (convex hull → polygon → the lines of its
 * four longest sides, so a corner hidden by a finger or rounded is rebuilt), and pairs of roughly
 * parallel straight segments (Hough), which survive backgrounds whose edges run into the document's.
 * Each candidate is scored by how much of its outline is seen as an edge across it (outlineScore); the
 * best few are refitted to the strongest gradient along each side and scored again. The best one's sides
 * are then grown outward where the sides either side of them are seen on past them (grownSide), which
 * finds a side too faint to make a segment of its own. A candidate with one unseen side along the border
 * of the photo, scoring better than any whole one inside it, means the document is cut by the frame.
 */
export function searchDocument(cv: OpenCv, image: RgbImage): SearchOutcome {
  return withMats((keep) => {
    const rgb = keep(new cv.Mat(image.height, image.width, cv.CV_8UC3));
    rgb.data.set(image.data);
    const gray = keep(new cv.Mat());
    cv.cvtColor(rgb, gray, cv.COLOR_RGB2GRAY);
    const smooth = keep(new cv.Mat());
    cv.GaussianBlur(gray, smooth, new cv.Size(5, 5), 0);
    const gradient = gradientMagnitude(cv, smooth, keep);
    const kernel = keep(cv.Mat.ones(3, 3, cv.CV_8U));
    const edges = keep(new cv.Mat());
    const dilated = keep(new cv.Mat());
    const imageArea = image.width * image.height;

    let best: ScoredQuad | undefined;
    let cut: { quad: Quad; score: number } | undefined;
    const candidates: Candidate[] = [];
    // Lines are looked for at half the search scale, where print has blurred into blobs and no longer
    // makes long straight segments, while the document's sides still do.
    const half = keep(new cv.Mat());
    cv.pyrDown(smooth, half);
    for (const high of HOUGH_CANNY_HIGH) {
      cv.Canny(half, edges, high / 2, high);
      for (const { quad, tilted } of lineQuads(cv, edges, half.cols, half.rows)) candidates.push({ quad: quad.map(([x, y]) => [x * 2 + 0.5, y * 2 + 0.5]) as Quad, tilted });
    }
    for (const high of CANNY_HIGH) {
      cv.Canny(smooth, edges, high / 2, high);
      if (high === FULL_SCALE_HOUGH_CANNY_HIGH) candidates.push(...lineQuads(cv, edges, image.width, image.height));
      cv.dilate(edges, dilated, kernel);
      for (const polygon of hullPolygons(cv, dilated, imageArea * MIN_AREA_SHARE)) {
        const rough = quadFromPolygon(polygon);
        if (rough) candidates.push({ quad: rough, tilted: false });
      }
    }
    // Score every candidate by its rough outline; refine only the best few (refining is the costly part).
    const scored: Array<Candidate & { score: number }> = [];
    const seen = new Set<string>();
    for (const { quad: rough, tilted } of candidates) {
      // contours at several thresholds and overlapping segments give the same quad many times
      const key = rough.map(([x, y]) => `${Math.round(x / 3)},${Math.round(y / 3)}`).join(' ');
      if (seen.has(key) || !plausible(rough, imageArea)) continue;
      seen.add(key);
      const supports: number[] = [];
      let unseen = 0;
      for (let i = 0; i < 4 && unseen < 2; i++) {
        supports.push(roughSideSupport(gradient, rough[i], rough[(i + 1) % 4]));
        if (supports[i] < MIN_SIDE_SUPPORT) unseen++;
      }
      // a strongly tilted outline is believed only when all of it is seen: among the many more quads that
      // converging sides make, one with a side unseen is too often made of clutter (or taken for a cut one)
      if (unseen > 1 || (unseen === 1 && tilted)) continue;
      if (unseen === 1) {
        const side = supports.findIndex((v) => v < MIN_SIDE_SUPPORT);
        const othersStrong = supports.every((v, i) => i === side || v >= STRONG_SIDE_SUPPORT);
        if (onBorder(rough[side], rough[(side + 1) % 4], image)) {
          // scored on the three sides in the photo only
          const score = outlineScore(rough, supports.map((v, i) => (i === side ? 1 : v))) - sideLength(rough, side);
          if (othersStrong && (!cut || score > cut.score)) cut = { quad: rough, score };
          continue;
        }
        if (!acceptable(supports)) continue;
      }
      scored.push({ quad: rough, tilted, score: outlineScore(rough, supports) });
    }
    scored.sort((x, y) => y.score - x.score);
    for (const { quad, tilted } of scored.slice(0, REFINED_CANDIDATES)) best = better(best, refinedCandidate(gradient, quad, tilted, imageArea));
    // A side too faint or too often crossed to make a segment of its own (a pale card's edge on snow, under
    // branches) leaves the best quad closed by a line of print inside the document: the sides either side
    // of it, seen on past it, lead out to the edge.
    for (let side = 0; best && side < 4; side++) {
      const grown = grownSide(gradient, best.quad, side, imageArea);
      if (grown) best = better(best, refinedCandidate(gradient, grown, converging(grown), imageArea));
    }
    // a cut outline only wins over a whole one lying inside it (the portrait printed on a document that runs off the frame)
    if (best && (!cut || best.score >= cut.score || !containsQuad(cut.quad, best.quad))) return { kind: 'found', quad: best.quad, confidence: best.support };
    if (cut) return { kind: 'cut', quad: cut.quad };
    return { kind: 'none' };
  });
}

/** a candidate refined, with its outline score */
interface ScoredQuad extends FoundQuad {
  score: number;
}

/** The one with the higher outline score; a quad must score above zero to be taken at all. */
function better(best: ScoredQuad | undefined, challenger: ScoredQuad | undefined): ScoredQuad | undefined {
  return challenger && challenger.score > (best?.score ?? 0) ? challenger : best;
}

/** The candidate refitted to the gradient and scored, unless it is no longer plausible or not seen well enough. */
function refinedCandidate(gradient: Gradient, rough: Quad, tilted: boolean, imageArea: number): ScoredQuad | undefined {
  const quad = refineQuad(gradient, rough) ?? rough;
  if (!plausible(quad, imageArea)) return undefined;
  const supports = quad.map((p, i) => sideSupport(gradient, p, quad[(i + 1) % 4]));
  if (!(tilted ? acceptableTilted(supports) : acceptable(supports))) return undefined;
  return { quad, support: supports.reduce((sum, v) => sum + v, 0) / 4, score: outlineScore(quad, supports) };
}

/**
 * The quad with side `side` grown outward (movedSide), and its neighbours re-aimed at it about their far
 * corners: their lines, drawn on past the corners they had, were aimed from the stretch of them seen
 * before, and a short stretch aims them loosely (3 pixels off over 120 miss the corner by 18 on a side
 * drawn on for 400).
 */
function grownSide(gradient: Gradient, quad: Quad, side: number, imageArea: number): Quad | undefined {
  const grown = movedSide(gradient, quad, side, imageArea, 'beyond', 'beyond');
  if (!grown) return undefined;
  const next = movedSide(gradient, grown, (side + 1) % 4, imageArea, 'either', 'fixed') ?? grown;
  return movedSide(gradient, next, (side + 3) % 4, imageArea, 'fixed', 'either') ?? next;
}

/**
 * where an end of a side may slide along its neighbour's line: nowhere; out of the quad, past the edge
 * the side lies on (MOVE_STEP at least: the side grown is another edge, not the same one fitted again);
 * or either way
 */
type Slide = 'fixed' | 'beyond' | 'either';

/**
 * The quad with side `side` moved to the line, its ends on the lines of the sides either side of it, that
 * gives the highest rough outline score, if that beats the quad's own. Each end slides on its own (the
 * side's direction changes under perspective) as `startSlide` and `endSlide` allow: back up to half way
 * along its neighbour, out to the edge of the photo. The score decides how far: the neighbours count only
 * as far as they are seen, so a side grown outward stops at the document's edge, where the neighbours'
 * unseen run beyond costs more than the longer outline gains.
 */
function movedSide(gradient: Gradient, quad: Quad, side: number, imageArea: number, startSlide: Slide, endSlide: Slide): Quad | undefined {
  const roughSupport = (a: Vec, b: Vec) => roughSideSupport(gradient, a, b);
  const inside = ([x, y]: Vec) => x >= 0 && y >= 0 && x <= gradient.width - 1 && y <= gradient.height - 1;
  const corner = (k: number) => quad[(side + k) % 4];
  // corners (or sides) side, side + 1, side + 2, side + 3 put back in the quad's own order
  const inQuadOrder = <T>(values: [T, T, T, T]) => [0, 1, 2, 3].map((k) => values[(k + 4 - side) % 4]) as [T, T, T, T];
  // the side runs from corner(0) to corner(1); its ends slide on the lines from corner(3) and corner(2) through them
  const start = sliding(corner(3), corner(0));
  const end = sliding(corner(2), corner(1));
  const startSupport = memoized((t) => roughSupport(corner(3), start.at(t)));
  const endSupport = memoized((t) => roughSupport(end.at(t), corner(2)));
  const opposite = roughSupport(corner(2), corner(3));
  let best = { s: 0, e: 0, score: outlineScore(quad, quad.map((p, i) => roughSupport(p, quad[(i + 1) % 4]))) };
  const consider = (s: number, e: number) => {
    const a = start.at(s);
    const b = end.at(e);
    if (!inside(a) || !inside(b)) return;
    const candidate = inQuadOrder([a, b, corner(2), corner(3)]);
    const supports = (own: number) => inQuadOrder([own, endSupport(e), opposite, startSupport(s)]);
    // the side's own support, the costly part, only where the side seen whole would win
    if (outlineScore(candidate, supports(1)) <= best.score || !plausible(candidate, imageArea)) return;
    const score = outlineScore(candidate, supports(roughSupport(a, b)));
    if (score > best.score) best = { s, e, score };
  };
  const positions = (line: Sliding, slide: Slide) => {
    if (slide === 'fixed') return [0];
    const offsets: number[] = [];
    // forward, the edge of the photo stops an end
    for (let t = slide === 'beyond' ? MOVE_STEP : -Math.floor(line.length / 2 / MOVE_STEP) * MOVE_STEP; t <= 0 || inside(line.at(t)); t += MOVE_STEP) offsets.push(t);
    return offsets;
  };
  const ends = positions(end, endSlide);
  for (const s of positions(start, startSlide)) for (const e of ends) consider(s, e);
  return best.s === 0 && best.e === 0 ? undefined : inQuadOrder([start.at(best.s), end.at(best.e), corner(2), corner(3)]);
}

/** the line from a corner through its neighbour, by the distance past the neighbour (negative: back towards the corner) */
interface Sliding {
  at(t: number): Vec;
  /** from the corner to its neighbour */
  length: number;
}

function sliding(from: Vec, to: Vec): Sliding {
  const length = Math.hypot(to[0] - from[0], to[1] - from[1]);
  const ux = (to[0] - from[0]) / length;
  const uy = (to[1] - from[1]) / length;
  return { at: (t) => [to[0] + ux * t, to[1] + uy * t], length };
}

/** `f`, each value computed once */
function memoized(f: (t: number) => number): (t: number) => number {
  const values = new Map<number, number>();
  return (t) => {
    let value = values.get(t);
    if (value === undefined) {
      value = f(t);
      values.set(t, value);
    }
    return value;
  };
}

/** whether either pair of opposite sides converges more than PARALLEL_SIDES: a strongly tilted outline */
function converging(quad: Quad): boolean {
  const direction = (i: number) => Math.atan2(quad[(i + 1) % 4][1] - quad[i][1], quad[(i + 1) % 4][0] - quad[i][0]);
  return [0, 1].some((i) => angleBetween(direction(i), direction(i + 2)) > PARALLEL_SIDES);
}

/** distance from `p` to the line through the segment, pixels */
function distanceToLine(s: Segment, p: Vec): number {
  return Math.abs((s.b[0] - s.a[0]) * (s.a[1] - p[1]) - (s.a[0] - p[0]) * (s.b[1] - s.a[1])) / Math.hypot(s.b[0] - s.a[0], s.b[1] - s.a[1]);
}

/** the angle between two lines given by their directions, radians, 0 to π/2 */
function angleBetween(x: number, y: number): number {
  const d = Math.abs(x - y) % Math.PI;
  return Math.min(d, Math.PI - d);
}

/**
 * Every side seen; or three seen clearly and the fourth faintly (a white card's edge on a white desk,
 * a finger along a side).
 */
function acceptable(supports: number[]): boolean {
  if (supports.every((v) => v >= MIN_SIDE_SUPPORT)) return true;
  const weakest = Math.min(...supports);
  return weakest >= FAINT_SIDE_SUPPORT && supports.filter((v) => v >= STRONG_SIDE_SUPPORT).length >= 3;
}

/**
 * A strongly tilted outline: every side seen, three of them clearly. A house's gable and the wall under
 * it make such a quad, seen only in patches (0.49–0.84 of each side), where a tilted card's sides are
 * seen along 0.89–1.00 of their length but for a short side (0.50).
 */
function acceptableTilted(supports: number[]): boolean {
  return supports.every((v) => v >= MIN_SIDE_SUPPORT) && supports.filter((v) => v >= STRONG_SIDE_SUPPORT).length >= 3;
}

/**
 * Outline length seen as edges, less UNSEEN_PENALTY × the length not seen: the document's outline is
 * the longest well-seen one; a background rectangle made partly of the document's sides is longer but
 * largely unseen, and the photo printed on a document is seen as well but shorter.
 */
function outlineScore(quad: Quad, supports: number[]): number {
  let score = 0;
  for (let i = 0; i < 4; i++) {
    const length = sideLength(quad, i);
    score += length * supports[i] - UNSEEN_PENALTY * length * (1 - supports[i]);
  }
  return score;
}

function sideLength(quad: Quad, i: number): number {
  return Math.hypot(quad[(i + 1) % 4][0] - quad[i][0], quad[(i + 1) % 4][1] - quad[i][1]);
}

/** |∇I| as 32-bit floats, for refining sides. */
function gradientMagnitude(cv: OpenCv, gray: InstanceType<OpenCv['Mat']>, keep: Keep): Gradient {
  const dx = keep(new cv.Mat());
  const dy = keep(new cv.Mat());
  cv.Sobel(gray, dx, cv.CV_32F, 1, 0, 3);
  cv.Sobel(gray, dy, cv.CV_32F, 0, 1, 3);
  const magnitude = keep(new cv.Mat());
  cv.magnitude(dx, dy, magnitude);
  return { data: new Float32Array(magnitude.data32F), dx: new Float32Array(dx.data32F), dy: new Float32Array(dy.data32F), width: gray.cols, height: gray.rows };
}

interface Gradient {
  /** |∇I| */
  data: Float32Array;
  dx: Float32Array;
  dy: Float32Array;
  width: number;
  height: number;
}

/** The convex hull of every contour enclosing at least `minArea`, simplified to a polygon. */
function hullPolygons(cv: OpenCv, edges: InstanceType<OpenCv['Mat']>, minArea: number): Vec[][] {
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  const polygons: Vec[][] = [];
  try {
    cv.findContours(edges, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
    for (let i = 0; i < contours.size(); i++) {
      const contour = contours.get(i);
      // most contours are print: the bounding box rules them out before any hull is built
      const box = cv.boundingRect(contour);
      if (box.width * box.height < minArea) {
        contour.delete();
        continue;
      }
      const hull = new cv.Mat();
      const approx = new cv.Mat();
      try {
        cv.convexHull(contour, hull, false, true);
        if (cv.contourArea(hull) < minArea) continue;
        cv.approxPolyDP(hull, approx, 0.015 * cv.arcLength(hull, true), true);
        const points: Vec[] = [];
        const xy = approx.data32S;
        for (let k = 0; k < approx.rows; k++) points.push([xy[2 * k], xy[2 * k + 1]]);
        if (points.length >= 4 && points.length <= 10) polygons.push(points);
      } finally {
        contour.delete();
        hull.delete();
        approx.delete();
      }
    }
  } finally {
    contours.delete();
    hierarchy.delete();
  }
  return polygons;
}

/**
 * Quads from straight segments (probabilistic Hough): two roughly parallel pairs of segments whose
 * lines cross at four corners. Survives what defeats contours: a background whose edges run into the
 * document's, and a finger over a corner (the sides' lines still meet behind it).
 */
function lineQuads(cv: OpenCv, edges: InstanceType<OpenCv['Mat']>, width: number, height: number): Candidate[] {
  const found = new cv.Mat();
  const minSide = Math.min(width, height);
  let segments: Segment[] = [];
  try {
    cv.HoughLinesP(edges, found, 1, Math.PI / 180, 30, minSide * 0.1, 4);
    const ends = found.data32S;
    for (let i = 0; i < found.rows; i++) {
      const [x1, y1, x2, y2] = ends.subarray(4 * i, 4 * i + 4);
      segments.push({ a: [x1, y1], b: [x2, y2], angle: Math.atan2(y2 - y1, x2 - x1), length: Math.hypot(x2 - x1, y2 - y1) });
    }
  } finally {
    found.delete();
  }
  segments = joinCollinear(segments).slice(0, MAX_SEGMENTS);
  // Opposite sides: nearly parallel, or converging as a strongly tilted document's sides do (one pair of a
  // quad must still be nearly parallel, which keeps the number of quads tried in check).
  const parallel: Array<[Segment, Segment]> = [];
  const converging: Array<[Segment, Segment]> = [];
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const [s, t] = [segments[i], segments[j]];
      if (distanceToLine(s, [(t.a[0] + t.b[0]) / 2, (t.a[1] + t.b[1]) / 2]) <= minSide * 0.12) continue;
      const angle = angleBetween(s.angle, t.angle);
      if (angle < PARALLEL_SIDES) parallel.push([s, t]);
      else if (angle < CONVERGING_SIDES) converging.push([s, t]);
    }
  }
  const quads: Candidate[] = [];
  const quadOf = (p: [Segment, Segment], q: [Segment, Segment], tilted: boolean) => {
    if (angleBetween(p[0].angle, q[0].angle) < ADJACENT_SIDES || angleBetween(p[0].angle, q[1].angle) < ADJACENT_SIDES) return;
    const corners = [lineIntersection(p[0].a, p[0].b, q[0].a, q[0].b), lineIntersection(q[0].a, q[0].b, p[1].a, p[1].b), lineIntersection(p[1].a, p[1].b, q[1].a, q[1].b), lineIntersection(q[1].a, q[1].b, p[0].a, p[0].b)];
    if (corners.every((c) => c)) quads.push({ quad: orderQuad(corners as Vec[]), tilted });
  };
  for (let i = 0; i < parallel.length; i++) {
    for (let j = i + 1; j < parallel.length; j++) quadOf(parallel[i], parallel[j], false);
    for (const q of converging) quadOf(parallel[i], q, true);
  }
  return quads;
}

/** Segments within this many pixels of one line, at angles within COLLINEAR_ANGLE, are pieces of one edge. */
const COLLINEAR_DISTANCE = 2.5;
const COLLINEAR_ANGLE = (3 * Math.PI) / 180;

interface Segment {
  a: Vec;
  b: Vec;
  angle: number;
  /** pixels of edge found along it: its length, or the pieces' total for a joined edge */
  length: number;
}

/**
 * Joins the pieces of one straight edge, longest first: a faint side (a pale card on a pale desk) or one
 * crossed by stems or print is found as several short segments, each shorter than the clutter's, but
 * together they are the longest straight edge in the photo. A joined edge spans its pieces and is ranked
 * by their total length, so gaps do not count for it.
 */
export function joinCollinear(segments: readonly Segment[]): Segment[] {
  const lines: Segment[] = [];
  for (const s of [...segments].sort((x, y) => y.length - x.length)) {
    const line = lines.find((l) => {
      if (angleBetween(s.angle, l.angle) > COLLINEAR_ANGLE) return false;
      return distanceToLine(l, s.a) <= COLLINEAR_DISTANCE && distanceToLine(l, s.b) <= COLLINEAR_DISTANCE;
    });
    if (!line) {
      lines.push({ ...s });
      continue;
    }
    // extend the line to the pieces' extreme projections along it
    const span = Math.hypot(line.b[0] - line.a[0], line.b[1] - line.a[1]);
    const ux = (line.b[0] - line.a[0]) / span;
    const uy = (line.b[1] - line.a[1]) / span;
    const along = (p: Vec) => (p[0] - line.a[0]) * ux + (p[1] - line.a[1]) * uy;
    const from = Math.min(0, along(s.a), along(s.b));
    const to = Math.max(span, along(s.a), along(s.b));
    const origin = line.a;
    line.a = [origin[0] + ux * from, origin[1] + uy * from];
    line.b = [origin[0] + ux * to, origin[1] + uy * to];
    line.length += s.length;
  }
  return lines.sort((x, y) => y.length - x.length);
}

/** Four corners from the lines through the polygon's four longest sides, taken in polygon order. */
export function quadFromPolygon(polygon: readonly Vec[]): Quad | undefined {
  const sides = polygon.map((p, i) => ({ i, a: p, b: polygon[(i + 1) % polygon.length], length: Math.hypot(polygon[(i + 1) % polygon.length][0] - p[0], polygon[(i + 1) % polygon.length][1] - p[1]) }));
  const longest = [...sides].sort((x, y) => y.length - x.length).slice(0, 4).sort((x, y) => x.i - y.i);
  const corners: Vec[] = [];
  for (let k = 0; k < 4; k++) {
    const s = longest[k];
    const t = longest[(k + 1) % 4];
    const corner = lineIntersection(s.a, s.b, t.a, t.b);
    if (!corner) return undefined;
    corners.push(corner);
  }
  return orderQuad(corners);
}

/** Convex, corners roughly square (perspective allowed), sides not absurdly uneven, mostly inside the photo. */
function plausible(quad: Quad, imageArea: number): boolean {
  const a = signedArea(quad);
  if (a < imageArea * MIN_AREA_SHARE || a > imageArea * 1.2) return false;
  if (!cornerAngles(quad).every((angle) => angle > 35 && angle < 145)) return false;
  for (let i = 0; i < 4; i++) {
    const [ax, ay] = quad[i];
    const [bx, by] = quad[(i + 1) % 4];
    const [cx, cy] = quad[(i + 2) % 4];
    if ((bx - ax) * (cy - by) - (by - ay) * (cx - bx) <= 0) return false;
  }
  const sides = quad.map((p, i) => Math.hypot(quad[(i + 1) % 4][0] - p[0], quad[(i + 1) % 4][1] - p[1]));
  const long = Math.max(sides[0], sides[2]) / Math.min(sides[0], sides[2]);
  const tall = Math.max(sides[1], sides[3]) / Math.min(sides[1], sides[3]);
  const shape = (sides[0] + sides[2]) / (sides[1] + sides[3]);
  return long < 2.5 && tall < 2.5 && shape > 1 / MAX_SHAPE && shape < MAX_SHAPE;
}

/**
 * Share of points along a–b with an edge across the side: within SUPPORT_REACH pixels along its normal
 * there is a gradient at least MIN_EDGE_GRADIENT strong pointing (either way) along that normal. The
 * direction test is what keeps grass, text and brickwork from supporting a side that is not there.
 */
function sideSupport(gradient: Gradient, a: Vec, b: Vec, reach = SUPPORT_REACH, step = 2): number {
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const nx = -(b[1] - a[1]) / length;
  const ny = (b[0] - a[0]) / length;
  const steps = Math.max(8, Math.round(length / step));
  const minRun = Math.ceil(MIN_RUN_PIXELS / step);
  let hits = 0;
  let run = 0;
  for (let k = 1; k < steps; k++) {
    const x = a[0] + ((b[0] - a[0]) * k) / steps;
    const y = a[1] + ((b[1] - a[1]) * k) / steps;
    let hit = false;
    for (let o = -reach; o <= reach && !hit; o++) {
      const px = Math.round(x + nx * o);
      const py = Math.round(y + ny * o);
      if (px < 0 || py < 0 || px >= gradient.width || py >= gradient.height) continue;
      const i = py * gradient.width + px;
      const magnitude = gradient.data[i];
      hit = magnitude >= MIN_EDGE_GRADIENT && Math.abs(gradient.dx[i] * nx + gradient.dy[i] * ny) >= ALIGNMENT * magnitude;
    }
    if (hit) run++;
    if (!hit || k === steps - 1) {
      // only unbroken stretches count: texture lines up with a side in short bits, an edge along all of it
      if (run >= minRun) hits += run;
      run = 0;
    }
  }
  return hits / (steps - 1);
}

/** sideSupport of a side not yet refined: a wider reach, a sparser look */
function roughSideSupport(gradient: Gradient, a: Vec, b: Vec): number {
  return sideSupport(gradient, a, b, ROUGH_SUPPORT_REACH, ROUGH_SAMPLE_STEP);
}

/** Both ends of the side within a few pixels of the same border of the photo. */
function onBorder(a: Vec, b: Vec, image: RgbImage): boolean {
  const margin = 4;
  const near = (v: number, edge: number) => Math.abs(v - edge) <= margin;
  return (
    (near(a[0], 0) && near(b[0], 0)) ||
    (near(a[1], 0) && near(b[1], 0)) ||
    (near(a[0], image.width - 1) && near(b[0], image.width - 1)) ||
    (near(a[1], image.height - 1) && near(b[1], image.height - 1)) ||
    // a corner outside the photo: the side runs off it
    [a, b].some(([x, y]) => x < -margin || y < -margin || x > image.width - 1 + margin || y > image.height - 1 + margin)
  );
}

/**
 * Moves each side onto the strongest gradient within REFINE_REACH pixels across it (the dilated edge
 * band the contour followed is a pixel or two wide), fitting a line to those points with the worst
 * third dropped (they fall on a finger or glare), then intersects the four lines again.
 */
function refineQuad(gradient: Gradient, quad: Quad): Quad | undefined {
  const lines: Array<[Vec, Vec]> = [];
  for (let i = 0; i < 4; i++) {
    const a = quad[i];
    const b = quad[(i + 1) % 4];
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const normal: Vec = [-(b[1] - a[1]) / length, (b[0] - a[0]) / length];
    const points: Array<{ p: Vec; offset: number }> = [];
    const steps = Math.max(10, Math.round(length / 3));
    for (let k = 1; k < steps; k++) {
      const t = k / steps;
      if (t < 0.06 || t > 0.94) continue;
      const base: Vec = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
      let bestOffset = 0;
      let bestValue = -1;
      for (let o = -REFINE_REACH; o <= REFINE_REACH; o += 0.5) {
        const value = sampleAt(gradient, base[0] + normal[0] * o, base[1] + normal[1] * o);
        if (value > bestValue) {
          bestValue = value;
          bestOffset = o;
        }
      }
      if (bestValue > 0) points.push({ p: [base[0] + normal[0] * bestOffset, base[1] + normal[1] * bestOffset], offset: bestOffset });
    }
    if (points.length < 6) return undefined;
    const median = [...points].sort((x, y) => x.offset - y.offset)[points.length >> 1].offset;
    const kept = [...points].sort((x, y) => Math.abs(x.offset - median) - Math.abs(y.offset - median)).slice(0, Math.ceil((points.length * 2) / 3));
    lines.push(fitLine(kept.map((k) => k.p)));
  }
  const corners: Vec[] = [];
  for (let i = 0; i < 4; i++) {
    const corner = lineIntersection(lines[(i + 3) % 4][0], lines[(i + 3) % 4][1], lines[i][0], lines[i][1]);
    if (!corner) return undefined;
    corners.push(corner);
  }
  return orderQuad(corners);
}

function sampleAt(gradient: Gradient, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= gradient.width || y0 + 1 >= gradient.height) return -1;
  const fx = x - x0;
  const fy = y - y0;
  const row = y0 * gradient.width;
  const d = gradient.data;
  const top = d[row + x0] * (1 - fx) + d[row + x0 + 1] * fx;
  const bottom = d[row + gradient.width + x0] * (1 - fx) + d[row + gradient.width + x0 + 1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Total-least-squares line through the points, as two points on it. */
function fitLine(points: Vec[]): [Vec, Vec] {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  return [
    [mx, my],
    [mx + Math.cos(angle), my + Math.sin(angle)],
  ];
}
