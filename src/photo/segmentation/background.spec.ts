import { describe, expect, it } from 'vitest';
import { replaceBackground } from './background.ts';
import type { PersonMask } from './person-mask.ts';

// A row of hair over a green wall: alpha ramps from person (1) to wall (0), and each pixel is the mix
// α·hair + (1 − α)·green, as a camera records a fine edge.
const width = 40;
const height = 6;
const hair = [90, 60, 40];
const green = [20, 200, 30];
const alphaAt = (x: number) => Math.min(1, Math.max(0, (30 - x) / 20));
const mask: PersonMask = { width, height, alpha: Float32Array.from({ length: width * height }, (_, i) => alphaAt(i % width)) };
const photo = {
  width,
  height,
  data: Uint8Array.from({ length: width * height * 3 }, (_, k) => {
    const a = alphaAt(Math.floor(k / 3) % width);
    return Math.round(a * hair[k % 3] + (1 - a) * green[k % 3]);
  }),
};
const white: [number, number, number] = [255, 255, 255];

describe('replaceBackground', () => {
  it('takes the old wall colour out of edge pixels: α·person + (1 − α)·new colour', () => {
    const out = replaceBackground(photo, mask, white);
    for (let x = 0; x < width; x++) {
      const a = alphaAt(x);
      for (let c = 0; c < 3; c++) expect(Math.abs(out.data[3 * (2 * width + x) + c] - (a * hair[c] + (1 - a) * 255))).toBeLessThanOrEqual(2);
    }
  });

  it('keeps person pixels and paints wall pixels with the new colour', () => {
    const out = replaceBackground(photo, mask, white);
    expect([...out.data.subarray(0, 3)]).toEqual(hair);
    expect([...out.data.subarray(3 * (width - 1), 3 * width)]).toEqual(white);
  });

  it('refuses a mask of another size', () => {
    expect(() => replaceBackground(photo, { ...mask, width: 10 }, white)).toThrow(/mask is 10×6/);
  });
});
