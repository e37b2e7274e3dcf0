import { describe, expect, it } from 'vitest';
import { outputToSource } from '../pipeline/geometry.ts';
import { planFrame, type FrameRules, type HeadLandmarks } from './frame.ts';

const US: FrameRules = { widthMm: 50.8, heightMm: 50.8, headHeightMm: { min: 25.4, max: 34.9 }, eyeLineFromBottomMm: { min: 28.6, max: 34.9 } };
const GB: FrameRules = { widthMm: 35, heightMm: 45, headHeightMm: { min: 29, max: 34 } };
const plain = { dpi: 300, zoom: 1, shiftMm: { x: 0, y: 0 } };
const source = { width: 2000, height: 3000 };

/** a level head: eyes 200 px apart at y = 1000, chin 400 px below the eyes, crown 400 px above */
const head: HeadLandmarks = { leftEye: { x: 900, y: 1000 }, rightEye: { x: 1100, y: 1000 }, chin: { x: 1000, y: 1400 }, crown: { x: 1000, y: 600 } };

/** the same head turned by `degrees` about (1000, 1000) */
function turned(degrees: number): HeadLandmarks {
  const a = (degrees * Math.PI) / 180;
  const turn = (p: { x: number; y: number }) => ({ x: 1000 + (p.x - 1000) * Math.cos(a) - (p.y - 1000) * Math.sin(a), y: 1000 + (p.x - 1000) * Math.sin(a) + (p.y - 1000) * Math.cos(a) });
  return { leftEye: turn(head.leftEye), rightEye: turn(head.rightEye), chin: turn(head.chin), crown: turn(head.crown) };
}

describe('planFrame', () => {
  it('is the spec size in whole pixels, the head the middle of its band, the eyes the middle of theirs', () => {
    const frame = planFrame(head, US, plain, source);
    expect([frame.widthPx, frame.heightPx]).toEqual([600, 600]);
    expect((frame.planned.chinY - frame.planned.crownY) / frame.pxPerMm).toBeCloseTo((25.4 + 34.9) / 2, 6);
    expect((frame.heightPx - frame.planned.eye.y) / frame.pxPerMm).toBeCloseTo((28.6 + 34.9) / 2, 6);
    expect(frame.planned.eye.x).toBe(300);
    // the planned eye point samples the source eye midpoint
    const eye = outputToSource(frame.toSource, frame.planned.eye);
    expect(eye.x).toBeCloseTo(1000, 6);
    expect(eye.y).toBeCloseTo(1000, 6);
    expect(frame.incomplete).toEqual([]);
  });

  it('without an eye rule leaves 40 % of the free height above the crown', () => {
    const frame = planFrame(head, GB, plain, source);
    expect([frame.widthPx, frame.heightPx]).toEqual([413, 531]);
    const freeMm = frame.heightPx / frame.pxPerMm - 31.5;
    expect(frame.planned.crownY / frame.pxPerMm).toBeCloseTo(freeMm * 0.4, 6);
  });

  it('corrects the roll by rotating about the eye midpoint', () => {
    for (const degrees of [-12, 7]) {
      const frame = planFrame(turned(degrees), US, plain, source);
      expect(frame.roll).toBeCloseTo(degrees, 6);
      // the source chin lands straight below the planned eye point
      const chin = outputToSource(frame.toSource, { x: frame.planned.eye.x, y: frame.planned.chinY });
      const expected = turned(degrees).chin;
      expect(chin.x).toBeCloseTo(expected.x, 4);
      expect(chin.y).toBeCloseTo(expected.y, 4);
    }
  });

  it('zoom scales the head; shift moves it; a crop beyond the photo names the sides to pad', () => {
    const zoomed = planFrame(head, GB, { ...plain, zoom: 1.2 }, source);
    expect((zoomed.planned.chinY - zoomed.planned.crownY) / zoomed.pxPerMm).toBeCloseTo(31.5 * 1.2, 6);
    const shifted = planFrame(head, GB, { ...plain, shiftMm: { x: 2, y: 1 } }, source);
    const base = planFrame(head, GB, plain, source);
    expect(shifted.planned.eye.x - base.planned.eye.x).toBeCloseTo(2 * base.pxPerMm, 6);
    expect(shifted.planned.eye.y - base.planned.eye.y).toBeCloseTo(1 * base.pxPerMm, 6);
    // the GB frame spans about x 556–1444, y 463–1605 of the source
    expect(planFrame(head, GB, plain, { width: 1500, height: 1500 }).incomplete).toEqual(['BOTTOM']);
    expect(planFrame(head, GB, plain, { width: 1400, height: 1550 }).incomplete).toEqual(['BOTTOM', 'RIGHT']);
    const high = { leftEye: { x: 900, y: 500 }, rightEye: { x: 1100, y: 500 }, chin: { x: 1000, y: 900 }, crown: { x: 1000, y: 100 } };
    expect(planFrame(high, GB, plain, source).incomplete).toEqual(['TOP']);
    const left = { leftEye: { x: 300, y: 1000 }, rightEye: { x: 500, y: 1000 }, chin: { x: 400, y: 1400 }, crown: { x: 400, y: 600 } };
    expect(planFrame(left, GB, plain, source).incomplete).toEqual(['LEFT']);
  });

  it('refuses a crown below the eyes', () => {
    expect(() => planFrame({ ...head, crown: { x: 1000, y: 1200 } }, GB, plain, source)).toThrow(RangeError);
  });
});
