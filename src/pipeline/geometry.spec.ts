import { describe, expect, it } from 'vitest';
import { ARCFACE_REFERENCE_112 } from './align.ts';
import { applyAffine, composeAffine, estimateSimilarity, invertAffine, type Affine } from './geometry.ts';
import type { Point } from './types.ts';

/** rotation by `angle`, uniform `scale`, then translation */
const similarity = (angle: number, scale: number, tx: number, ty: number): Affine => [
  scale * Math.cos(angle),
  -scale * Math.sin(angle),
  tx,
  scale * Math.sin(angle),
  scale * Math.cos(angle),
  ty,
];

describe('estimateSimilarity', () => {
  it('recovers an exact similarity transform', () => {
    const truth = similarity(0.3, 2.5, 40, -12);
    const from: Point[] = ARCFACE_REFERENCE_112;
    const to = from.map((p) => applyAffine(truth, p));
    const estimated = estimateSimilarity(from, to);
    estimated.forEach((v, i) => expect(v).toBeCloseTo(truth[i], 6));
  });

  it('is the least-squares fit, not a fit through three of the points', () => {
    const truth = similarity(-0.2, 0.8, 5, 9);
    // Moving one point moves the least-squares fit a little for all five, unlike a 3-point affine,
    // which would fit the first three exactly and ignore the rest.
    const to = ARCFACE_REFERENCE_112.map((p, i) => {
      const q = applyAffine(truth, p);
      return i === 4 ? { x: q.x + 4, y: q.y } : q;
    });
    const estimated = estimateSimilarity(ARCFACE_REFERENCE_112, to);
    const residuals = ARCFACE_REFERENCE_112.map((p, i) => Math.hypot(applyAffine(estimated, p).x - to[i].x, applyAffine(estimated, p).y - to[i].y));
    expect(residuals.every((r) => r > 0.05)).toBe(true);
    expect(Math.max(...residuals)).toBeLessThan(4);
    // no shear: the linear part stays a scaled rotation
    expect(estimated[0]).toBeCloseTo(estimated[4], 9);
    expect(estimated[1]).toBeCloseTo(-estimated[3], 9);
  });

  it('inverts and composes consistently', () => {
    const m = similarity(1.1, 0.5, -3, 7);
    const identity = composeAffine(m, invertAffine(m));
    [1, 0, 0, 0, 1, 0].forEach((v, i) => expect(identity[i]).toBeCloseTo(v, 9));
  });
});
