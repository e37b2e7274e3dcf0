import { signedArea, type Quad, type Vec } from '../../src/documents/quad.ts';

/**
 * The SmartDoc 2015 score: the found quadrilateral and the true one are both mapped into the document's
 * own frame (by the homography taking the true corners to a width × height rectangle), where the
 * intersection over union of the two is taken. Working in the document's frame weighs every part of
 * the document alike, however it was foreshortened in the photo.
 */
export function smartDocJaccard(truth: Quad, found: Quad, width: number, height: number): number {
  const rectangle: Quad = [
    [0, 0],
    [width, 0],
    [width, height],
    [0, height],
  ];
  const toDocument = homography(truth, rectangle);
  const mapped = found.map((p) => project(toDocument, p));
  const foundArea = Math.abs(signedArea(mapped));
  const inter = Math.abs(signedArea(clip(mapped, rectangle)));
  return inter / (width * height + foundArea - inter);
}


/** Sutherland–Hodgman: `subject` clipped to the convex, clockwise (image coordinates) `window`. */
function clip(subject: readonly Vec[], window: readonly Vec[]): Vec[] {
  let output = [...subject];
  for (let i = 0; i < window.length && output.length > 0; i++) {
    const a = window[i];
    const b = window[(i + 1) % window.length];
    const inside = (p: Vec) => (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0;
    const input = output;
    output = [];
    for (let k = 0; k < input.length; k++) {
      const current = input[k];
      const previous = input[(k + input.length - 1) % input.length];
      if (inside(current)) {
        if (!inside(previous)) output.push(crossing(previous, current, a, b));
        output.push(current);
      } else if (inside(previous)) {
        output.push(crossing(previous, current, a, b));
      }
    }
  }
  return output;
}

function crossing(p: Vec, q: Vec, a: Vec, b: Vec): Vec {
  const d1 = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
  const d2 = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]);
  const t = d1 / (d1 - d2);
  return [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
}

/** The 3×3 homography (row-major, h33 = 1) taking each `from` corner to the matching `to` corner. */
function homography(from: Quad, to: Quad): number[] {
  const rows: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i];
    const [u, v] = to[i];
    rows.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    rows.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gaussian elimination with partial pivoting on the 8×9 augmented matrix.
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(rows[r][col]) > Math.abs(rows[pivot][col])) pivot = r;
    [rows[col], rows[pivot]] = [rows[pivot], rows[col]];
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = rows[r][col] / rows[col][col];
      for (let c = col; c < 9; c++) rows[r][c] -= f * rows[col][c];
    }
  }
  return [...rows.map((row, i) => row[8] / row[i]), 1];
}

function project(h: number[], [x, y]: Vec): Vec {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}
