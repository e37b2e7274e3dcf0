import { describe, expect, it } from 'vitest';
import { turnImage, turnsToUpright, unturnBox, unturnPoint, type QuarterTurns } from './orientation.ts';
import type { RgbImage } from './types.ts';

/** a 3×2 photo whose red channel numbers its pixels, so every pixel can be followed through a turn */
const photo: RgbImage = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => (i % 3 === 0 ? i / 3 : 0)) };
const red = (image: RgbImage, x: number, y: number) => image.data[(y * image.width + x) * 3];

describe('turnImage', () => {
  it('turns clockwise: the top-left pixel goes to the top-right after one quarter turn', () => {
    const turned = turnImage(photo, 1);
    expect([turned.width, turned.height]).toEqual([2, 3]);
    expect(red(turned, 1, 0)).toBe(red(photo, 0, 0));
    expect(red(turned, 0, 0)).toBe(red(photo, 0, 1));
  });

  it.each([1, 2, 3] as QuarterTurns[])('and unturnPoint agree on where every pixel came from (%i turns)', (turns) => {
    const turned = turnImage(photo, turns);
    for (let y = 0; y < turned.height; y++) {
      for (let x = 0; x < turned.width; x++) {
        // the centre of the turned pixel, traced back, is the centre of the pixel it was copied from
        const back = unturnPoint({ x: x + 0.5, y: y + 0.5 }, turns, photo.width, photo.height);
        expect(red(turned, x, y)).toBe(red(photo, Math.floor(back.x), Math.floor(back.y)));
      }
    }
  });

  it('comes back to the original after four quarter turns', () => {
    let image = photo;
    for (let i = 0; i < 4; i++) image = turnImage(image, 1);
    expect(image).toEqual(photo);
  });
});

describe('unturnBox', () => {
  it('gives an axis-aligned box in the photo before turning', () => {
    // the whole turned photo is the whole photo
    expect(unturnBox({ x1: 0, y1: 0, x2: 2, y2: 3, score: 0.9 }, 1, 3, 2)).toEqual({ x1: 0, y1: 0, x2: 3, y2: 2, score: 0.9 });
  });
});

describe('turnsToUpright', () => {
  it.each([
    [0, 0],
    [40, 0],
    [-44, 0],
    [90, 3], // eye line pointing down the image: the face lies turned clockwise, so turn the photo back
    [-90, 1],
    [180, 2],
    [-170, 2],
    [135.1, 2],
  ])('roll %f° → %i quarter turns', (roll, turns) => {
    expect(turnsToUpright(roll)).toBe(turns);
  });
});
