import sharp from 'sharp';
import type { PersonMask } from './segmentation/index.ts';

// The person mask kept between analyze and generate: 8-bit grey PNG. Masks are mostly 0 and 255, so
// a 12-megapixel one is a few hundred KB; 1/255 steps are finer than the edge refinement's accuracy.

export function maskToPng(mask: PersonMask): Promise<Buffer> {
  const grey = new Uint8Array(mask.alpha.length);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(Math.min(1, Math.max(0, mask.alpha[i])) * 255);
  return sharp(grey, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .png({ compressionLevel: 3 })
    .toBuffer();
}

export async function maskFromPng(png: Uint8Array): Promise<PersonMask> {
  const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const alpha = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) alpha[i] = data[i] / 255;
  return { width: info.width, height: info.height, alpha };
}
