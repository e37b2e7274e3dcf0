import type { FaceDetector } from '../pipeline/models/roles.ts';
import { Picture } from '../pipeline/picture.ts';
import type { Detection, FaceBox, RgbImage } from '../pipeline/types.ts';
import { clamp, extract, shrinkToFit } from './raster.ts';

// Finding the portrait printed on a straightened document and cutting it out.

/** Faces are looked for on the document shrunk to this long side: a printed portrait is large on it. */
export const FACE_SEARCH_SIDE = 480;

/**
 * A document longer than this (width ÷ height) is searched for faces in overlapping pieces about this
 * shape: the detector letterboxes its input to a square, so on a long strip (a card's front and back
 * scanned side by side) the portrait would shrink to a few input pixels. ID-1 and ID-3 are one piece.
 */
const FACE_PIECE_ASPECT = 1.6;

/**
 * Where ICAO 9303 prints the portrait (zone V) on every format's portrait side: in the left half, and
 * above the machine-readable zone where that side carries one (TD2, TD3 and visa pages).
 */
const PORTRAIT_ZONE = {
  width: 0.5,
  /** left out above the zone's first line (its centre), down to which the look reaches: half a line and a gap, as a share of the page height */
  aboveMrz: 0.04,
  /** the least height looked at, as a share of the page's: a zone read too high does not shrink the look to a strip */
  minHeight: 0.5,
};

/** The printed portrait's crop around the detected face box: head and shoulders, as on the document. */
const PORTRAIT_MARGIN = { side: 0.35, top: 0.45, bottom: 0.35 };

/**
 * Faces on a landscape image, best first, looked for in pieces of FACE_PIECE_ASPECT when it is longer.
 * Never in the detector's tiles, which are for small faces in large photos: a printed portrait is large
 * at FACE_SEARCH_SIDE, and in tiles BlazeFace imagined faces (0.79–0.80) in a card back's print, at the
 * cost of nine more runs for every side of a document that shows no face.
 */
export async function detectAcross(detector: FaceDetector, image: RgbImage): Promise<Detection[]> {
  const pieces = Math.ceil(image.width / image.height / FACE_PIECE_ASPECT - 0.05);
  if (pieces <= 1) return detector.detect(new Picture(image), { tiles: false });
  const width = Math.round(image.height * FACE_PIECE_ASPECT);
  const faces: Detection[] = [];
  for (let k = 0; k < pieces; k++) {
    const left = Math.round(((image.width - width) * k) / (pieces - 1));
    const piece = await extract(image, { left, top: 0, width, height: image.height });
    for (const f of await detector.detect(new Picture(piece), { tiles: false })) faces.push(fromPiece(f, left, 1));
  }
  return faces.sort((a, b) => b.score - a.score);
}

/**
 * Faces in the portrait's zone alone (PORTRAIT_ZONE) of an upright document, in the document's pixels:
 * the portrait fills much more of the detector's input than in the whole page. `mrzTop` is where the
 * zone's first line is (its centre, 0–1 down the page), 1 without a zone. On the eval set
 * (benchmarks/results/cropper-portraits.json) BlazeFace scores the portrait of a passport whose eye
 * glare hides 0.34 on the whole page and 0.89 here, and no card back above 0.60 either way up.
 */
export async function detectInPortraitZone(detector: FaceDetector, document: RgbImage, mrzTop: number): Promise<Detection[]> {
  const width = Math.round(document.width * PORTRAIT_ZONE.width);
  const height = Math.round(document.height * clamp(mrzTop - PORTRAIT_ZONE.aboveMrz, PORTRAIT_ZONE.minHeight, 1));
  const zone = await shrinkToFit(await extract(document, { left: 0, top: 0, width, height }), FACE_SEARCH_SIDE);
  const scale = zone.width / width;
  return (await detector.detect(new Picture(zone), { tiles: false })).map((f) => fromPiece(f, 0, scale));
}

/** a face found in a piece of an image, `left` pixels from the image's left edge and shrunk by `scale`, in the image's pixels */
function fromPiece(face: Detection, left: number, scale: number): Detection {
  const x = (v: number) => v / scale + left;
  const y = (v: number) => v / scale;
  return {
    ...face,
    x1: x(face.x1),
    y1: y(face.y1),
    x2: x(face.x2),
    y2: y(face.y2),
    ...(face.eyes ? { eyes: [{ x: x(face.eyes[0].x), y: y(face.eyes[0].y) }, { x: x(face.eyes[1].x), y: y(face.eyes[1].y) }] } : {}),
  };
}

/** The portrait cut from the upright document around the face found on it: head and shoulders, kept inside the document. */
export function cropPortrait(document: RgbImage, face: FaceBox): Promise<RgbImage> {
  const { width, height } = document;
  const w = face.x2 - face.x1;
  const h = face.y2 - face.y1;
  const left = clamp(Math.round(face.x1 - w * PORTRAIT_MARGIN.side), 0, width - 1);
  const top = clamp(Math.round(face.y1 - h * PORTRAIT_MARGIN.top), 0, height - 1);
  const right = clamp(Math.round(face.x2 + w * PORTRAIT_MARGIN.side), left + 1, width);
  const bottom = clamp(Math.round(face.y2 + h * PORTRAIT_MARGIN.bottom), top + 1, height);
  return extract(document, { left, top, width: right - left, height: bottom - top });
}
