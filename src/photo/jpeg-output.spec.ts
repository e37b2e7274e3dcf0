import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { decodeImage } from '../pipeline/decode.ts';
import type { RgbImage } from '../pipeline/types.ts';
import { fixture } from '../../test/helpers/fixtures.ts';
import { encodeJpeg, encodeWithinBand } from './jpeg-output.ts';

// A real portrait at a passport photo's size (CN: 354 x 472 px), so file sizes are those of real photos.
async function portrait(width = 354, height = 472): Promise<RgbImage> {
  const resized = await sharp(fixture('faces/london_001/1.jpg')).resize(width, height, { fit: 'cover' }).jpeg({ quality: 98 }).toBuffer();
  return decodeImage(resized, 40_000_000);
}

const kb = (bytes: Buffer) => bytes.length / 1024;

describe('encodeJpeg', () => {
  it('writes the dpi into the JFIF / EXIF density', async () => {
    for (const dpi of [72, 300, 600, 1200]) expect((await sharp(await encodeJpeg(await portrait(), dpi)).metadata()).density).toBe(dpi);
  });
});

describe('encodeWithinBand', () => {
  it('meets a maximum by lowering the quality only as far as needed', async () => {
    const image = await portrait();
    const unbounded = await encodeWithinBand(image, 300, {});
    const maxKb = Math.floor(kb(unbounded.jpeg) / 2);
    const fitted = await encodeWithinBand(image, 300, { maxKb }, 472);
    expect(kb(fitted.jpeg)).toBeLessThanOrEqual(maxKb);
    expect([fitted.width, fitted.height]).toEqual([354, 472]);
    expect(fitted.quality).toBeLessThan(unbounded.quality);
    // the next quality up would not fit: the search found the best
    expect(kb(await encodeJpeg(image, 300, fitted.quality + 1))).toBeGreaterThan(maxKb);
    expect((await sharp(fitted.jpeg).metadata()).density).toBe(300);
  });

  it('meets a minimum (CN: 40-120 KB) by raising the quality, never by padding', async () => {
    const image = await portrait();
    const low = kb(await encodeJpeg(image, 300, 92));
    const minKb = Math.ceil(low * 1.2);
    const fitted = await encodeWithinBand(image, 300, { minKb, maxKb: minKb * 3 }, 472);
    expect(kb(fitted.jpeg)).toBeGreaterThanOrEqual(minKb);
    expect(fitted.quality).toBeGreaterThan(92);
    await expect(encodeWithinBand(image, 300, { minKb: 2000 }, 472)).rejects.toMatchObject({ code: 'file_size_unreachable' });
  });

  it('downscales when even the lowest quality is too large, while the minimum height allows, else says so', async () => {
    const image = await portrait(1200, 1600);
    const atLowest = kb(await encodeJpeg(image, 300, 1));
    const maxKb = Math.floor(atLowest * 0.6);
    const fitted = await encodeWithinBand(image, 300, { maxKb }, 600);
    expect(kb(fitted.jpeg)).toBeLessThanOrEqual(maxKb);
    expect(fitted.height).toBeLessThan(1600);
    expect(fitted.height).toBeGreaterThanOrEqual(600);
    expect(fitted.width / fitted.height).toBeCloseTo(1200 / 1600, 2);
    const refused = await encodeWithinBand(image, 300, { maxKb }, 1500).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe('file_size_unreachable');
    expect((refused as ApiError).message).toMatch(/1500 pixels/);
  });
});
