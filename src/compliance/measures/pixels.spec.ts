import { describe, expect, it } from 'vitest';
import { bandScore, rampScore } from './measure.ts';
import { chroma, deltaE, meanGrey, meanRgb, srgbToLab } from './pixels.ts';

describe('pixel helpers', () => {
  it('sRGB → CIELAB (D65) matches reference values', () => {
    const white = srgbToLab(255, 255, 255);
    expect(white.L).toBeCloseTo(100, 1);
    expect(chroma(white)).toBeLessThan(0.05);
    const red = srgbToLab(255, 0, 0);
    expect([red.L, red.a, red.b].map((v) => Math.round(v))).toEqual([53, 80, 67]);
    const grey = srgbToLab(119, 119, 119);
    expect(grey.L).toBeCloseTo(50, 0);
    expect(deltaE(white, white)).toBe(0);
  });

  it('region means clip to the image and say when nothing is inside', () => {
    const image = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 255, 255]) };
    expect(meanRgb(image, { x0: -5, y0: 0, x1: 5, y1: 1 })).toEqual([127.5, 127.5, 127.5]);
    expect(meanRgb(image, { x0: 3, y0: 0, x1: 5, y1: 1 })).toBeUndefined();
    expect(meanGrey(image, { x0: 1, y0: 0, x1: 2, y1: 1 })).toBeCloseTo(255, 5);
  });

  it('scores run either way and clamp to 0–100', () => {
    expect([0, 5, 10, 20].map((v) => rampScore(v, 0, 10))).toEqual([0, 50, 100, 100]);
    expect([0, 5, 10].map((v) => rampScore(v, 10, 0))).toEqual([100, 50, 0]);
    expect([0, 15, 50, 85, 100].map((v) => bandScore(v, 10, 20, 80, 90))).toEqual([0, 50, 100, 50, 0]);
  });
});
