import { describe, expect, it } from 'vitest';
import { boxMean, guidedCoefficients, resampleBilinear } from './edge-refinement.ts';

describe('boxMean', () => {
  it('equals the brute-force mean over each clipped window', () => {
    const width = 23;
    const height = 17;
    const src = Float32Array.from({ length: width * height }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453));
    const r = 3;
    const fast = boxMean(src, width, height, r);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        let count = 0;
        for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
          for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++) {
            sum += src[yy * width + xx];
            count++;
          }
        }
        expect(fast[y * width + x]).toBeCloseTo(sum / count, 5);
      }
    }
  });
});

describe('guidedCoefficients', () => {
  it('turns a blurred mask into a step at the colour edge of the guide, even where the two sides share a grey level', () => {
    const width = 64;
    const height = 8;
    const edge = 32;
    // skin-like on the left, saturated green on the right: BT.601 grey levels 161 and 150
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) data.set(i % width < edge ? [200, 150, 110] : [0, 255, 0], 3 * i);
    const blurred = Float32Array.from({ length: width * height }, (_, i) => Math.min(1, Math.max(0, 0.5 - ((i % width) - edge + 0.5) / 16)));
    const { a, b } = guidedCoefficients({ data, width, height }, blurred, 4, 1e-3);
    const alphaAt = (x: number) => {
      const i = 4 * width + x;
      return (a[0][i] * data[3 * i] + a[1][i] * data[3 * i + 1] + a[2][i] * data[3 * i + 2]) / 255 + b[i];
    };
    // the blurred ramp drops 1/16 per pixel; refined, the drop sits at the colour edge and each side is flat
    expect(blurred[4 * width + edge - 1] - blurred[4 * width + edge]).toBeCloseTo(1 / 16, 5);
    expect(alphaAt(edge - 1) - alphaAt(edge)).toBeGreaterThan(4 / 16);
    expect(Math.abs(alphaAt(edge - 2) - alphaAt(edge - 1))).toBeLessThan(0.05);
    expect(Math.abs(alphaAt(edge + 1) - alphaAt(edge))).toBeLessThan(0.05);
  });
});

describe('resampleBilinear', () => {
  it('keeps a linear ramp linear, pixel centres aligned', () => {
    const src = Float32Array.from([0, 1, 2, 3]);
    expect([...resampleBilinear(src, 4, 1, 8, 1)]).toEqual([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
  });
});
