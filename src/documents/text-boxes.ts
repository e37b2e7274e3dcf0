import { withMats, type OpenCv } from './opencv.ts';
import { orderQuad, type Quad, type Vec } from './quad.ts';
import type { TextMap } from './text-detector.ts';

// PaddleOCR's DB post-processing (db_postprocess.py), the parts a document's extent needs: text regions
// are the connected blobs of the probability map above BINARY_THRESHOLD, each boxed by its minimum-area
// rectangle, kept when the map's mean inside the box reaches BOX_THRESHOLD, and grown ("unclipped") by
// the distance DB shrank them by in training.

const BINARY_THRESHOLD = 0.3;
const BOX_THRESHOLD = 0.6;
const UNCLIP_RATIO = 1.5;
/** boxes thinner than this many map pixels are noise */
const MIN_BOX_SIDE = 3;

export interface TextBox {
  /** image pixels, clockwise from the top-left */
  corners: Quad;
  /** direction of the long side, radians, in (−π/2, π/2] */
  angle: number;
  /** long side, image pixels */
  length: number;
  /** short side (the line's height for a line of text), image pixels */
  thickness: number;
  /** mean text probability inside the box */
  score: number;
}

export function textBoxes(cv: OpenCv, map: TextMap): TextBox[] {
  return withMats((keep) => {
    const bitmap = keep(new cv.Mat(map.height, map.width, cv.CV_8U));
    // one view: every read of a Mat's `data` builds a new one through embind
    const pixels = bitmap.data;
    for (let i = 0; i < map.probability.length; i++) pixels[i] = map.probability[i] > BINARY_THRESHOLD ? 255 : 0;
    const contours = keep(new cv.MatVector());
    const hierarchy = keep(new cv.Mat());
    cv.findContours(bitmap, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
    const boxes: TextBox[] = [];
    for (let i = 0; i < contours.size(); i++) {
      const contour = contours.get(i);
      try {
        if (contour.rows < 4) continue;
        const rect = cv.minAreaRect(contour);
        if (Math.min(rect.size.width, rect.size.height) < MIN_BOX_SIDE) continue;
        const { width, height } = rect.size;
        const found: MapRect = { center: [rect.center.x, rect.center.y], width, height, degrees: rect.angle };
        const score = meanInside(map, found);
        if (score < BOX_THRESHOLD) continue;
        // DB's unclip: the polygon offset outwards by area × ratio ÷ perimeter, on every side
        const offset = (width * height * UNCLIP_RATIO) / (2 * (width + height));
        boxes.push(toImage({ ...found, width: width + 2 * offset, height: height + 2 * offset }, map, score));
      } finally {
        contour.delete();
      }
    }
    return boxes;
  });
}

interface MapRect {
  center: Vec;
  width: number;
  height: number;
  /** OpenCV's RotatedRect angle: the direction of `width`, degrees */
  degrees: number;
}

/** mean of the map inside the rotated rectangle (PaddleOCR's box_score_fast) */
function meanInside(map: TextMap, rect: MapRect): number {
  const a = (rect.degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(a), Math.sin(a)];
  const [halfW, halfH] = [rect.width / 2, rect.height / 2];
  const reachX = Math.abs(cos) * halfW + Math.abs(sin) * halfH;
  const reachY = Math.abs(sin) * halfW + Math.abs(cos) * halfH;
  let sum = 0;
  let count = 0;
  for (let y = Math.max(0, Math.floor(rect.center[1] - reachY)); y <= Math.min(map.height - 1, Math.ceil(rect.center[1] + reachY)); y++) {
    for (let x = Math.max(0, Math.floor(rect.center[0] - reachX)); x <= Math.min(map.width - 1, Math.ceil(rect.center[0] + reachX)); x++) {
      const [dx, dy] = [x - rect.center[0], y - rect.center[1]];
      if (Math.abs(dx * cos + dy * sin) > halfW || Math.abs(-dx * sin + dy * cos) > halfH) continue;
      sum += map.probability[y * map.width + x];
      count++;
    }
  }
  return count > 0 ? sum / count : 0;
}

/** A rotated rectangle of the map as a box in image pixels (the map may be scaled unevenly per axis). */
function toImage(rect: MapRect, map: TextMap, score: number): TextBox {
  const a = (rect.degrees * Math.PI) / 180;
  const u: Vec = [Math.cos(a), Math.sin(a)];
  const v: Vec = [-Math.sin(a), Math.cos(a)];
  const corners = ([[-1, -1], [1, -1], [1, 1], [-1, 1]] as Vec[]).map(([su, sv]): Vec => [
    (rect.center[0] + (su * rect.width * u[0]) / 2 + (sv * rect.height * v[0]) / 2 + 0.5) * map.scaleX - 0.5,
    (rect.center[1] + (su * rect.width * u[1]) / 2 + (sv * rect.height * v[1]) / 2 + 0.5) * map.scaleY - 0.5,
  ]);
  const along = [corners[1][0] - corners[0][0], corners[1][1] - corners[0][1]];
  const across = [corners[3][0] - corners[0][0], corners[3][1] - corners[0][1]];
  const [first, second] = [Math.hypot(along[0], along[1]), Math.hypot(across[0], across[1])];
  const long = first >= second ? along : across;
  let angle = Math.atan2(long[1], long[0]);
  if (angle > Math.PI / 2) angle -= Math.PI;
  if (angle <= -Math.PI / 2) angle += Math.PI;
  return { corners: orderQuad(corners), angle, length: Math.max(first, second), thickness: Math.min(first, second), score };
}
