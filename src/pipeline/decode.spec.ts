import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../test/helpers/fixtures.ts';
import { ApiError } from '../errors.ts';
import { decodeImage } from './decode.ts';
import type { RgbImage } from './types.ts';

const MAX_PIXELS = 40_000_000;

/** mean absolute difference per sample of two rasters of one size */
function meanDifference(a: RgbImage, b: RgbImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

async function codeOf(pending: Promise<unknown>): Promise<string> {
  try {
    await pending;
    return 'decoded';
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
}

describe('decodeImage with fitWithin', () => {
  it('shrinks a JPEG while decoding it to the picture a full decode shrunk after gives, upright per EXIF', async () => {
    // 1200×800 stored, EXIF orientation 6: displayed 800×1200
    const stored = await sharp(fixture('nonfaces/01.jpg')).resize(1200, 800, { fit: 'fill' }).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer();
    const small = await decodeImage(stored, MAX_PIXELS, { fitWithin: 300 });
    expect([small.width, small.height]).toEqual([200, 300]);
    const full = await decodeImage(stored, MAX_PIXELS);
    expect([full.width, full.height]).toEqual([800, 1200]);
    const reference = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } }).resize(200, 300, { fit: 'fill' }).raw().toBuffer();
    // the DCT shrink and a resize of the full decode differ in filtering, not in content
    expect(meanDifference(small, { data: new Uint8Array(reference), width: 200, height: 300 })).toBeLessThan(4);
  });

  it('never enlarges: an image already within the size comes whole', async () => {
    const image = await sharp(fixture('nonfaces/01.jpg')).resize(160, 120, { fit: 'fill' }).png().toBuffer();
    const decoded = await decodeImage(image, MAX_PIXELS, { fitWithin: 720 });
    expect([decoded.width, decoded.height]).toEqual([160, 120]);
  });

  it('refuses a truncated file and a decompression bomb with the codes a full decode gives', async () => {
    const jpeg = await sharp(fixture('nonfaces/01.jpg')).jpeg().toBuffer();
    expect(await codeOf(decodeImage(jpeg.subarray(0, jpeg.length >> 1), MAX_PIXELS, { fitWithin: 300 }))).toBe('image_decode_failed');
    const large = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    expect(await codeOf(decodeImage(large, 1_000_000, { fitWithin: 300 }))).toBe('payload_too_large');
  });
});
