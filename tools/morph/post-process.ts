// What happens to a photo on its way into a document, applied alike to morphs and to bona fide photos
// (otherwise a detector learns the processing, not the morph).
import sharp from 'sharp';
import type { RgbImage } from '../../src/pipeline/types.ts';

export type PostProcess = 'digital' | 'print_scan';

const between = (random: () => number, low: number, high: number) => low + (high - low) * random();

function raw(image: RgbImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/** Long side cut to 480–720 pixels (never enlarged), as document portraits are stored. */
function documentSize(image: RgbImage, random: () => number): { width: number; height: number } {
  const scale = Math.min(1, between(random, 480, 720) / Math.max(image.width, image.height));
  return { width: Math.round(image.width * scale), height: Math.round(image.height * scale) };
}

/**
 * `digital`: resized and JPEG-recompressed (quality 75–95), as a portrait submitted online.
 * `print_scan`: resized, then a print-and-scan simulation: optical blur, a gamma shift, halftone-like
 * periodic dot texture, sensor noise, a second slight blur, and the scanner's JPEG.
 */
export async function postProcess(image: RgbImage, kind: PostProcess, random: () => number): Promise<Buffer> {
  const size = documentSize(image, random);
  if (kind === 'digital') {
    return raw(image).resize(size.width, size.height, { kernel: 'lanczos3' }).jpeg({ quality: Math.round(between(random, 75, 95)) }).toBuffer();
  }
  const resized = await raw(image).resize(size.width, size.height, { kernel: 'lanczos3' }).blur(between(random, 0.6, 1.2)).raw().toBuffer({ resolveWithObject: true });
  const { width, height } = resized.info;
  const data = new Uint8Array(resized.data);
  const gamma = between(random, 0.8, 1.25);
  const period = between(random, 2.5, 4);
  const dotAmplitude = between(random, 4, 10);
  const noise = between(random, 2, 5);
  const angle = between(random, 0, Math.PI / 4);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  // a Box–Muller pair per pixel would be slow; the sum of three uniforms is close enough to Gaussian
  const gaussian = () => (random() + random() + random() - 1.5) * 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x * cos + y * sin) * ((2 * Math.PI) / period);
      const v = (-x * sin + y * cos) * ((2 * Math.PI) / period);
      const dots = dotAmplitude * Math.cos(u) * Math.cos(v);
      const grain = noise * gaussian();
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * width + x) * 3 + ch;
        const value = 255 * (data[i] / 255) ** gamma + dots + grain;
        data[i] = value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
      }
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .blur(between(random, 0.4, 0.7))
    .jpeg({ quality: Math.round(between(random, 80, 92)) })
    .toBuffer();
}
