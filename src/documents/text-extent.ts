import { DOCUMENT_ASPECTS, type Quad, type Vec } from './quad.ts';
import type { TextBox } from './text-boxes.ts';

// A document whose outline cannot be seen (a pale card on a pale desk, its edges lost in a busy
// background) still shows its print: lines of text running one way, in one block. Their joint extent,
// grown by the blank margin documents keep around their text, is where the document is.

/** degrees a line may turn from the block's direction and still belong to it */
const ALIGNMENT_DEGREES = 10;

/** a box at least this many times longer than high is a line (or word) of text and says which way the print runs */
const LINE_ELONGATION = 2.5;

/**
 * Gaps that keep boxes in one block, in line heights: words along a line and fields beside the
 * portrait are further apart than lines above each other.
 */
const MAX_GAP = { along: 6, across: 4 };

/** lines a block needs before it is taken for a document: a data page has ten or more, a sign or label a few */
const MIN_LINES = 6;

/**
 * The blank border beyond the outermost print, as a share of the text block's width. ICAO 9303's
 * machine-readable zone spans 44 × 2.54 mm of a 125 mm page (TD3) and 30 × 2.54 of 85.6 mm (TD1), leaving
 * 5–6 % of the width each side.
 */
const MARGIN = 0.05;

/** a grown block shaped within this of an ID format is stretched to that format's shape */
const FORMAT_SHAPES = { min: 1.2, max: 1.9 };

/** the least share of the photo the block must cover, as for an outline (document-finder's MIN_AREA_SHARE) */
const MIN_AREA_SHARE = 0.06;

interface FrameBox {
  box: TextBox;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The document's corners (clockwise, image pixels) guessed from its text boxes, or undefined when they form no document-like block. */
export function documentFromText(boxes: readonly TextBox[], imageWidth: number, imageHeight: number): Quad | undefined {
  const lines = boxes.filter((b) => b.length >= LINE_ELONGATION * b.thickness);
  if (lines.length < MIN_LINES) return undefined;
  const angle = dominantAngle(lines);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const toFrame = ([x, y]: Vec): Vec => [cos * x + sin * y, -sin * x + cos * y];
  const fromFrame = ([u, v]: Vec): Vec => [cos * u - sin * v, sin * u + cos * v];
  const aligned = boxes.filter((b) => b.length < LINE_ELONGATION * b.thickness || angleBetween(b.angle, angle) <= (ALIGNMENT_DEGREES * Math.PI) / 180);
  const framed: FrameBox[] = aligned.map((box) => {
    const points = box.corners.map(toFrame);
    return { box, x0: Math.min(...points.map((p) => p[0])), x1: Math.max(...points.map((p) => p[0])), y0: Math.min(...points.map((p) => p[1])), y1: Math.max(...points.map((p) => p[1])) };
  });
  const lineHeight = median(lines.map((b) => b.thickness));
  const block = largestBlock(framed, lineHeight);
  if (block.filter((f) => f.box.length >= LINE_ELONGATION * f.box.thickness).length < MIN_LINES) return undefined;

  let x0 = Math.min(...block.map((f) => f.x0));
  let x1 = Math.max(...block.map((f) => f.x1));
  let y0 = Math.min(...block.map((f) => f.y0));
  let y1 = Math.max(...block.map((f) => f.y1));
  const margin = MARGIN * Math.max(x1 - x0, y1 - y0);
  [x0, x1, y0, y1] = [x0 - margin, x1 + margin, y0 - margin, y1 + margin];
  // stretch (never shrink) whichever side falls short of the nearest format's shape, evenly on both
  // ends: print rarely reaches every edge, and nothing says which edge it misses
  const [width, height] = [x1 - x0, y1 - y0];
  const shape = Math.max(width, height) / Math.min(width, height);
  if (shape >= FORMAT_SHAPES.min && shape <= FORMAT_SHAPES.max) {
    const format = DOCUMENT_ASPECTS.reduce((best, f) => (Math.abs(Math.log(shape / f.aspect)) < Math.abs(Math.log(shape / best.aspect)) ? f : best));
    const wantedWidth = width >= height ? Math.max(width, height * format.aspect) : Math.max(width, height / format.aspect);
    const wantedHeight = width >= height ? Math.max(height, width / format.aspect) : Math.max(height, width * format.aspect);
    [x0, x1] = [x0 - (wantedWidth - width) / 2, x1 + (wantedWidth - width) / 2];
    [y0, y1] = [y0 - (wantedHeight - height) / 2, y1 + (wantedHeight - height) / 2];
  }
  if ((x1 - x0) * (y1 - y0) < MIN_AREA_SHARE * imageWidth * imageHeight) return undefined;
  return ([[x0, y0], [x1, y0], [x1, y1], [x0, y1]] as Vec[]).map(fromFrame) as Quad;
}

/** the length-weighted mean direction of the lines (angles doubled, so a line's two directions agree) */
function dominantAngle(lines: readonly TextBox[]): number {
  let c = 0;
  let s = 0;
  for (const line of lines) {
    c += line.length * Math.cos(2 * line.angle);
    s += line.length * Math.sin(2 * line.angle);
  }
  return Math.atan2(s, c) / 2;
}

/** smallest angle between two undirected lines, radians */
function angleBetween(a: number, b: number): number {
  const d = Math.abs(a - b) % Math.PI;
  return Math.min(d, Math.PI - d);
}

/** Boxes joined when both gaps between them are small (single link); the block with the most text area. */
function largestBlock(boxes: readonly FrameBox[], lineHeight: number): FrameBox[] {
  const parent = boxes.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const along = Math.max(0, Math.max(a.x0, b.x0) - Math.min(a.x1, b.x1));
      const across = Math.max(0, Math.max(a.y0, b.y0) - Math.min(a.y1, b.y1));
      if (along <= MAX_GAP.along * lineHeight && across <= MAX_GAP.across * lineHeight) parent[root(i)] = root(j);
    }
  }
  const blocks = new Map<number, FrameBox[]>();
  boxes.forEach((box, i) => blocks.set(root(i), [...(blocks.get(root(i)) ?? []), box]));
  const area = (block: FrameBox[]) => block.reduce((sum, f) => sum + f.box.length * f.box.thickness, 0);
  return [...blocks.values()].reduce((best, block) => (area(block) > area(best) ? block : best), []);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
