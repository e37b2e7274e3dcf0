import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../pipeline/types.ts';

// Raw RGB rasters through libvips: the cropper's resizes, quarter turns, crops and JPEG output.

export type QuarterTurn = 0 | 90 | 180 | 270;

function raw(image: RgbImage): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

async function rgb(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

export function resize(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  return rgb(raw(image).resize(width, height, { fit: 'fill', kernel: 'linear' }));
}

/** shrunk (never enlarged) so that its long side is at most `longSide` */
export function shrinkToFit(image: RgbImage, longSide: number): Promise<RgbImage> {
  const scale = Math.min(1, longSide / Math.max(image.width, image.height));
  return scale < 1 ? resize(image, Math.round(image.width * scale), Math.round(image.height * scale)) : Promise.resolve(image);
}

/** turned clockwise by `degrees` */
export function rotate(image: RgbImage, degrees: QuarterTurn): Promise<RgbImage> {
  return rgb(raw(image).rotate(degrees));
}

export function extract(image: RgbImage, region: { left: number; top: number; width: number; height: number }): Promise<RgbImage> {
  return rgb(raw(image).extract(region));
}

export function jpeg(image: RgbImage): Promise<Buffer> {
  return raw(image).jpeg({ quality: 90 }).toBuffer();
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
