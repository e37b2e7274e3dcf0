import { composeAffine, outputToSource, rollDegrees, uprightRect, type Affine } from '../pipeline/geometry.ts';
import type { Point } from '../pipeline/types.ts';
import { mmToPx } from './specs/spec-table.ts';

export const MM_PER_INCH = 25.4;

export interface MmBand {
  min: number;
  max: number;
}

/** What framing reads of a photo spec (a `PhotoSpec` is one). */
export interface FrameRules {
  widthMm: number;
  heightMm: number;
  /** chin to crown */
  headHeightMm: MmBand;
  /** eye line above the bottom edge, where the rule gives one */
  eyeLineFromBottomMm?: MmBand;
}

/** The head in the upright source photo, pixel edge coordinates. */
export interface HeadLandmarks {
  leftEye: Point;
  rightEye: Point;
  chin: Point;
  /** top of the head: the hair's top from the person mask, else the mesh's estimate */
  crown: Point;
}

export interface FrameRequest {
  dpi: number;
  /** > 1 crops tighter (a larger head), < 1 looser; 1 puts the head height in the middle of its band */
  zoom: number;
  /** moves the face right (x) and down (y) in the output, millimetres */
  shiftMm: Point;
}

export type FrameSide = 'TOP' | 'BOTTOM' | 'LEFT' | 'RIGHT';

/** Where the output photo comes from in the source, and where the head was meant to land in it. */
export interface Frame {
  widthPx: number;
  heightPx: number;
  pxPerMm: number;
  /** output pixel → source pixel (edge coordinates), for `Picture.sample` */
  toSource: Affine;
  /** the roll corrected, degrees */
  roll: number;
  /** output px: the eye midpoint, and the rows of the crown and chin */
  planned: { eye: Point; crownY: number; chinY: number };
  /** output sides that reach beyond the source photo and are padded */
  incomplete: FrameSide[];
}

const middle = (band: MmBand) => (band.min + band.max) / 2;
const clamp = (value: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, value));

/**
 * Share of the free height left above the crown when the spec gives no eye line: a little more room
 * below the chin (neck and shoulders) than above the hair, as in the ICAO example portraits.
 */
const TOP_SHARE_WITHOUT_EYE_RULE = 0.4;

/**
 * The crop for one spec: rotate about the eye midpoint so the eye line is level, scale so chin-to-crown
 * is the middle of the head band (times zoom), put the eyes in the middle of the eye-line band where
 * that keeps crown and chin inside the frame (else as near as the band allows), centre them across.
 */
export function planFrame(head: HeadLandmarks, rules: FrameRules, request: FrameRequest, source: { width: number; height: number }): Frame {
  const pxPerMm = request.dpi / MM_PER_INCH;
  const widthPx = mmToPx(rules.widthMm, request.dpi);
  const heightPx = mmToPx(rules.heightMm, request.dpi);
  const roll = rollDegrees(head.leftEye, head.rightEye);
  const angle = (roll * Math.PI) / 180;
  const across: Point = { x: Math.cos(angle), y: Math.sin(angle) };
  const down: Point = { x: -Math.sin(angle), y: Math.cos(angle) };
  const eye: Point = { x: (head.leftEye.x + head.rightEye.x) / 2, y: (head.leftEye.y + head.rightEye.y) / 2 };
  const along = (p: Point) => (p.x - eye.x) * down.x + (p.y - eye.y) * down.y;
  const belowEyes = along(head.chin);
  const aboveEyes = -along(head.crown);
  if (!(belowEyes > 0 && aboveEyes > 0)) throw new RangeError('the crown must lie above the eyes and the chin below them');

  const headMm = middle(rules.headHeightMm) * request.zoom;
  const aboveShare = aboveEyes / (belowEyes + aboveEyes);
  // placed in the frame as rounded to whole pixels, so the bands hold for the pixels actually written
  const eyeFromBottomMm = eyeLine(heightPx / pxPerMm, rules.eyeLineFromBottomMm, headMm, aboveShare) - request.shiftMm.y;
  const eyeOut: Point = { x: widthPx / 2 + request.shiftMm.x * pxPerMm, y: heightPx - eyeFromBottomMm * pxPerMm };
  const scale = (headMm * pxPerMm) / (belowEyes + aboveEyes);

  // the output frame's centre, in the face's own axes, then in the source
  const du = (widthPx / 2 - eyeOut.x) / scale;
  const dv = (heightPx / 2 - eyeOut.y) / scale;
  const centre: Point = { x: eye.x + du * across.x + dv * down.x, y: eye.y + du * across.y + dv * down.y };
  const toSource = uprightRect(centre, widthPx / scale, heightPx / scale, roll, widthPx, heightPx);
  return {
    widthPx,
    heightPx,
    pxPerMm,
    toSource,
    roll,
    planned: { eye: eyeOut, crownY: eyeOut.y - aboveEyes * scale, chinY: eyeOut.y + belowEyes * scale },
    incomplete: sidesOutside(toSource, widthPx, heightPx, source, across),
  };
}

/** eye line above the bottom of a frame `frameHeightMm` high, mm, for a head of `headMm` of which `aboveShare` lies above the eyes */
function eyeLine(frameHeightMm: number, band: MmBand | undefined, headMm: number, aboveShare: number): number {
  // eye heights that keep the crown at or below the top edge and the chin at or above the bottom edge
  const lowest = (1 - aboveShare) * headMm;
  const highest = frameHeightMm - aboveShare * headMm;
  if (!band) return frameHeightMm - (frameHeightMm - headMm) * TOP_SHARE_WITHOUT_EYE_RULE - aboveShare * headMm;
  const lo = Math.max(band.min, lowest);
  const hi = Math.min(band.max, highest);
  // the band wins over the frame edges when both cannot hold: the spec's eye rule is what is checked
  return lo <= hi ? clamp(middle(band), lo, hi) : clamp(middle(band), band.min, band.max);
}

/**
 * Samples along each output edge. A side needs padding when a point on it falls outside the source
 * across a source edge facing the same way (within 45°): where the photo's bottom edge cuts the
 * frame, the points of the left and right edges below it are the bottom's padding, not theirs.
 */
function sidesOutside(toSource: Affine, width: number, height: number, source: { width: number; height: number }, across: Point): FrameSide[] {
  const STEPS = 32;
  const down: Point = { x: -across.y, y: across.x };
  /** outward directions of the source edges a point lies beyond */
  const beyond = (x: number, y: number): Point[] => {
    const p = outputToSource(toSource, { x, y });
    return [
      ...(p.x < 0 ? [{ x: -1, y: 0 }] : []),
      ...(p.x > source.width ? [{ x: 1, y: 0 }] : []),
      ...(p.y < 0 ? [{ x: 0, y: -1 }] : []),
      ...(p.y > source.height ? [{ x: 0, y: 1 }] : []),
    ];
  };
  const sides: [FrameSide, Point, (t: number) => [number, number]][] = [
    // pixel centres of the outermost rows and columns; each side's outward direction in the source
    ['TOP', { x: -down.x, y: -down.y }, (t) => [0.5 + t * (width - 1), 0.5]],
    ['BOTTOM', down, (t) => [0.5 + t * (width - 1), height - 0.5]],
    ['LEFT', { x: -across.x, y: -across.y }, (t) => [0.5, 0.5 + t * (height - 1)]],
    ['RIGHT', across, (t) => [width - 0.5, 0.5 + t * (height - 1)]],
  ];
  return sides
    .filter(([, outward, at]) =>
      Array.from({ length: STEPS + 1 }, (_, i) => at(i / STEPS)).some(([x, y]) => beyond(x, y).some((edge) => edge.x * outward.x + edge.y * outward.y > Math.SQRT1_2)),
    )
    .map(([side]) => side);
}

/** The same frame written `width`×`height` pixels (a photo downscaled to meet a file-size limit), same size in mm. */
export function resizedFrame(frame: Frame, width: number, height: number): Frame {
  const sx = frame.widthPx / width;
  const sy = frame.heightPx / height;
  // pixel-centre coordinates: x = (x' + ½)·s − ½
  const toSource = composeAffine(frame.toSource, [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5]);
  const scale = (p: Point): Point => ({ x: p.x / sx, y: p.y / sy });
  return {
    ...frame,
    widthPx: width,
    heightPx: height,
    pxPerMm: frame.pxPerMm / sy,
    toSource,
    planned: { eye: scale(frame.planned.eye), crownY: frame.planned.crownY / sy, chinY: frame.planned.chinY / sy },
  };
}
