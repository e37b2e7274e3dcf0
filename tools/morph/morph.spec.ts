import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/pipeline/types.ts';
import { morph, warpToShape } from './morph.ts';
import { delaunay } from './delaunay.ts';

/** a horizontal grey ramp: value = 2·x, the same in every channel */
function ramp(width: number, height: number, offset = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.fill(Math.min(255, 2 * x + offset), (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { data, width, height };
}
const grey = (image: { data: ArrayLike<number>; width: number }, x: number, y: number) => image.data[(y * image.width + x) * 3];

describe('warpToShape', () => {
  it('moves the image with its points: a shift of every point shifts the picture, sampled bilinearly', () => {
    const image = ramp(64, 32);
    const points = [
      { x: 0, y: 0 },
      { x: 63, y: 0 },
      { x: 63, y: 31 },
      { x: 0, y: 31 },
      { x: 30, y: 15 },
    ];
    // the same shape half a pixel to the right: each output pixel samples halfway between two source pixels
    const target = points.map((p) => ({ x: p.x + 0.5, y: p.y }));
    const warped = warpToShape({ image, points }, target, delaunay(target), 64, 32);
    expect(warped[(10 * 64 + 20) * 3]).toBeCloseTo(2 * 19.5, 5);
    expect(warped[(20 * 64 + 40) * 3]).toBeCloseTo(2 * 39.5, 5);
  });
});

describe('morph', () => {
  it('blends two photos of the same shape by alpha; spliced keeps the first photo outside the face outline', () => {
    const first = ramp(64, 64);
    const second = ramp(64, 64, 40);
    const points = [
      { x: 20, y: 20 },
      { x: 44, y: 20 },
      { x: 44, y: 44 },
      { x: 20, y: 44 },
    ];
    const whole = morph({ image: first, points }, { image: second, points }, { alpha: 0.25, variant: 'whole', oval: [0, 1, 2, 3] });
    expect(grey(whole, 10, 5)).toBe(Math.round(0.75 * 20 + 0.25 * 60));
    const spliced = morph({ image: first, points }, { image: second, points }, { alpha: 0.25, variant: 'spliced', oval: [0, 1, 2, 3] });
    expect(grey(spliced, 2, 2)).toBe(grey(first, 2, 2));
    expect(grey(spliced, 32, 32)).toBe(grey(whole, 32, 32));
  });
});
