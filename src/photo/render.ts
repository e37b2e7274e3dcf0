import { outputToSource } from '../pipeline/geometry.ts';
import type { Picture } from '../pipeline/picture.ts';
import type { RgbImage } from '../pipeline/types.ts';
import type { Frame } from './frame.ts';
import type { PersonMask } from './segmentation/index.ts';

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

/** The person mask under the output frame (bilinear; 0 beyond the source), to read the output's hair top from. */
export function frameMask(mask: PersonMask, frame: Frame): PersonMask {
  const { widthPx: width, heightPx: height } = frame;
  const alpha = new Float32Array(width * height);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= mask.width || y >= mask.height ? 0 : mask.alpha[y * mask.width + x]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = outputToSource(frame.toSource, { x: x + 0.5, y: y + 0.5 });
      // pixel-centre coordinates of the source
      const fx = p.x - 0.5;
      const fy = p.y - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const wx = fx - x0;
      const wy = fy - y0;
      const top = at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx;
      const bottom = at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx;
      alpha[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return { width, height, alpha };
}
