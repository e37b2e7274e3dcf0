import { outputToSource } from '../pipeline/geometry.ts';
import type { Picture } from '../pipeline/picture.ts';
import type { RgbImage } from '../pipeline/types.ts';
import type { Frame } from './frame.ts';

export type Rgb = readonly [r: number, g: number, b: number];

/** "#RRGGBB" → [r, g, b] */
export function parseHexColour(hex: string): Rgb {
  const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new RangeError(`not a #RRGGBB colour: ${hex}`);
  return [parseInt(match[1], 16), parseInt(match[2], 16), parseInt(match[3], 16)];
}

/**
 * The output photo: `frame` sampled from the picture (averaged from its half-resolution levels when it
 * shrinks), and every pixel whose centre falls outside the source painted `padding`, so a crop that
 * runs off the photo shows a plain band of background colour, never smeared edge pixels.
 */
export function renderFrame(picture: Picture, frame: Frame, padding: Rgb): RgbImage {
  const image = picture.sample(frame.toSource, frame.widthPx, frame.heightPx);
  if (frame.incomplete.length === 0) return image;
  const { data, width, height } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = outputToSource(frame.toSource, { x: x + 0.5, y: y + 0.5 });
      if (p.x >= 0 && p.y >= 0 && p.x <= picture.width && p.y <= picture.height) continue;
      const o = (y * width + x) * 3;
      data[o] = padding[0];
      data[o + 1] = padding[1];
      data[o + 2] = padding[2];
    }
  }
  return image;
}
