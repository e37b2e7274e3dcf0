import type { FaceDetector } from '../pipeline/models/roles.ts';
import { Picture } from '../pipeline/picture.ts';
import type { Detection, FaceBox, RgbImage } from '../pipeline/types.ts';
import { clamp, extract } from './raster.ts';

// Finding the portrait printed on a straightened document and cutting it out.

/** Faces are looked for on the document shrunk to this long side: a printed portrait is large on it. */
export const FACE_SEARCH_SIDE = 480;

/**
 * A document longer than this (width ÷ height) is searched for faces in overlapping pieces about this
 * shape: the detector letterboxes its input to a square, so on a long strip (a card's front and back
 * scanned side by side) the portrait would shrink to a few input pixels. ID-1 and ID-3 are one piece.
 */
const FACE_PIECE_ASPECT = 1.6;

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
    for (const f of await detector.detect(new Picture(piece), { tiles: false })) {
      faces.push({ ...f, x1: f.x1 + left, x2: f.x2 + left, ...(f.eyes ? { eyes: [{ x: f.eyes[0].x + left, y: f.eyes[0].y }, { x: f.eyes[1].x + left, y: f.eyes[1].y }] } : {}) });
    }
  }
  return faces.sort((a, b) => b.score - a.score);
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
