import { describe, expect, it } from 'vitest';
import { hairTop, type PersonMask } from './person-mask.ts';

/** a width×height mask with alpha 1 inside each of the given shapes */
function maskOf(width: number, height: number, inside: Array<(x: number, y: number) => boolean>): PersonMask {
  const alpha = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside.some((f) => f(x, y))) alpha[y * width + x] = 1;
  return { width, height, alpha };
}

const head = (x: number, y: number) => (x - 100) ** 2 + (y - 120) ** 2 <= 60 ** 2;
const shoulders = (_x: number, y: number) => y >= 170;

describe('hairTop', () => {
  it('gives the top row of the head blob within the face columns', () => {
    expect(hairTop(maskOf(200, 240, [head, shoulders]), { from: 70, to: 130 })).toBe(61);
  });

  it('skips stray hairs and specks above the head that are not a solid run yet', () => {
    const strand = (x: number, y: number) => x === 100 && y >= 30 && y < 61;
    const speck = (x: number, y: number) => x >= 75 && x < 78 && y >= 5 && y < 8;
    expect(hairTop(maskOf(200, 240, [head, shoulders, strand, speck]), { from: 40, to: 160 })).toBe(61);
  });

  it('ignores a separate, smaller blob (another object) above the head', () => {
    const lamp = (x: number, y: number) => x >= 80 && x < 120 && y >= 10 && y < 30;
    expect(hairTop(maskOf(200, 240, [head, shoulders, lamp]), { from: 70, to: 130 })).toBe(61);
  });

  it('is 0 when the hair reaches the top edge, undefined when the band holds no person', () => {
    const tall = (x: number) => Math.abs(x - 100) < 40;
    expect(hairTop(maskOf(200, 240, [tall]), { from: 70, to: 130 })).toBe(0);
    expect(hairTop(maskOf(200, 240, []), { from: 70, to: 130 })).toBeUndefined();
    expect(hairTop(maskOf(200, 240, [head]), { from: 250, to: 300 })).toBeUndefined();
  });
});
