import { describe, expect, it } from 'vitest';
import { ARCFACE_REFERENCE_112 } from './align.ts';
import { applyAffine, composeAffine, estimateSimilarity, invertAffine, outputToSource, rectToOutput, rollDegrees, uprightRect, type Affine } from './geometry.ts';
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

describe('uprightRect', () => {
  it('is rectToOutput of the axis-aligned rectangle at roll 0', () => {
    const upright = uprightRect({ x: 50, y: 40 }, 30, 20, 0, 60, 40);
    const expected = rectToOutput({ x: 35, y: 30, width: 30, height: 20 }, 60, 40);
    upright.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 9));
  });

  it('turns a face rolled by the given angle upright: its eyes land level in the crop', () => {
    // eyes 40 px apart on a line rolled 30° clockwise on screen around (100, 100)
    const angle = (30 * Math.PI) / 180;
    const leftEye = { x: 100 - 20 * Math.cos(angle), y: 100 - 20 * Math.sin(angle) };
    const rightEye = { x: 100 + 20 * Math.cos(angle), y: 100 + 20 * Math.sin(angle) };
    expect(rollDegrees(leftEye, rightEye)).toBeCloseTo(30, 9);
    const toSource = uprightRect({ x: 100, y: 100 }, 80, 80, 30, 80, 80);
    const toCrop = invertAffine(toSource);
    const inCrop = [leftEye, rightEye].map((p) => {
      const q = applyAffine(toCrop, { x: p.x - 0.5, y: p.y - 0.5 });
      return { x: q.x + 0.5, y: q.y + 0.5 };
    });
    expect(inCrop[0].y).toBeCloseTo(inCrop[1].y, 9);
    expect(inCrop[0].y).toBeCloseTo(40, 9);
    expect(inCrop[1].x - inCrop[0].x).toBeCloseTo(40, 9);
    // and back
    expect(outputToSource(toSource, inCrop[0]).x).toBeCloseTo(leftEye.x, 9);
  });
});
