import type { Point } from '../../src/pipeline/types.ts';

export type Triangle = [number, number, number];

interface Circumscribed {
  corners: Triangle;
  x: number;
  y: number;
  /** squared radius */
  r2: number;
}

function circumscribe(points: readonly Point[], corners: Triangle): Circumscribed {
  const [a, b, c] = corners.map((i) => points[i]);
  const d = 2 * (a.x * (b.y - c.y) + b.x * (c.y - a.y) + c.x * (a.y - b.y));
  if (d === 0) return { corners, x: 0, y: 0, r2: Infinity };
  const a2 = a.x * a.x + a.y * a.y;
  const b2 = b.x * b.x + b.y * b.y;
  const c2 = c.x * c.x + c.y * c.y;
  const x = (a2 * (b.y - c.y) + b2 * (c.y - a.y) + c2 * (a.y - b.y)) / d;
  const y = (a2 * (c.x - b.x) + b2 * (a.x - c.x) + c2 * (b.x - a.x)) / d;
  return { corners, x, y, r2: (a.x - x) ** 2 + (a.y - y) ** 2 };
}

/**
 * Delaunay triangulation by Bowyer–Watson: each point in turn removes the triangles whose circumcircle
 * holds it and fills the hole with triangles fanned from it. O(n²), which is nothing for the ~480 points
 * of a face mesh plus frame; written here rather than adding a dependency for one tool.
 */
export function delaunay(points: readonly Point[]): Triangle[] {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const span = Math.max(Math.max(...xs) - minX, Math.max(...ys) - minY, 1);
  // a triangle far larger than the points, removed at the end with every triangle touching it
  const n = points.length;
  const all: Point[] = [...points, { x: minX - 20 * span, y: minY - span }, { x: minX + 20 * span, y: minY - span }, { x: minX + span / 2, y: minY + 20 * span }];
  let triangles: Circumscribed[] = [circumscribe(all, [n, n + 1, n + 2])];
  for (let i = 0; i < n; i++) {
    const p = all[i];
    const bad: Circumscribed[] = [];
    const kept: Circumscribed[] = [];
    for (const t of triangles) ((p.x - t.x) ** 2 + (p.y - t.y) ** 2 < t.r2 ? bad : kept).push(t);
    // the hole's outline: edges belonging to exactly one removed triangle
    const edges = new Map<string, [number, number]>();
    for (const { corners } of bad) {
      for (let k = 0; k < 3; k++) {
        const u = corners[k];
        const v = corners[(k + 1) % 3];
        const key = u < v ? `${u},${v}` : `${v},${u}`;
        if (edges.has(key)) edges.delete(key);
        else edges.set(key, [u, v]);
      }
    }
    for (const [u, v] of edges.values()) kept.push(circumscribe(all, [u, v, i]));
    triangles = kept;
  }
  return triangles.filter((t) => t.corners.every((c) => c < n)).map((t) => t.corners);
}
