import { describe, expect, it } from 'vitest';
import { seededRandom } from '../seeded-random.ts';
import { delaunay } from './delaunay.ts';

const area = (p: { x: number; y: number }[], [a, b, c]: number[]) => Math.abs((p[b].x - p[a].x) * (p[c].y - p[a].y) - (p[c].x - p[a].x) * (p[b].y - p[a].y)) / 2;

describe('delaunay', () => {
  it('splits a square into two triangles covering it', () => {
    const square = [
      { x: 0, y: 0 },
      { x: 1, y: 0 },
      { x: 1, y: 1 },
      { x: 0, y: 1 },
    ];
    const triangles = delaunay(square);
    expect(triangles).toHaveLength(2);
    expect(triangles.reduce((sum, t) => sum + area(square, t), 0)).toBeCloseTo(1, 9);
  });

  it('tiles the convex hull of random points with no point inside any circumcircle', () => {
    const random = seededRandom(7);
    const frame = [
      { x: 0, y: 0 },
      { x: 100, y: 0 },
      { x: 100, y: 100 },
      { x: 0, y: 100 },
    ];
    const points = [...frame, ...Array.from({ length: 60 }, () => ({ x: 1 + 98 * random(), y: 1 + 98 * random() }))];
    const triangles = delaunay(points);
    // Euler: a triangulation of n points with h on the hull has 2n − h − 2 triangles
    expect(triangles).toHaveLength(2 * points.length - 4 - 2);
    expect(triangles.reduce((sum, t) => sum + area(points, t), 0)).toBeCloseTo(100 * 100, 6);
    for (const [a, b, c] of triangles) {
      const [p, q, r] = [points[a], points[b], points[c]];
      const d = 2 * (p.x * (q.y - r.y) + q.x * (r.y - p.y) + r.x * (p.y - q.y));
      const ux = ((p.x ** 2 + p.y ** 2) * (q.y - r.y) + (q.x ** 2 + q.y ** 2) * (r.y - p.y) + (r.x ** 2 + r.y ** 2) * (p.y - q.y)) / d;
      const uy = ((p.x ** 2 + p.y ** 2) * (r.x - q.x) + (q.x ** 2 + q.y ** 2) * (p.x - r.x) + (r.x ** 2 + r.y ** 2) * (q.x - p.x)) / d;
      const r2 = (p.x - ux) ** 2 + (p.y - uy) ** 2;
      const inside = points.filter((s, i) => i !== a && i !== b && i !== c && (s.x - ux) ** 2 + (s.y - uy) ** 2 < r2 - 1e-6);
      expect(inside).toEqual([]);
    }
  });
});
