import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../test/helpers/fixtures.ts';
import { watermark } from './watermark.ts';

/** mean absolute difference per channel, and the share of pixels changed by more than 24 grey levels */
async function difference(a: Uint8Array, b: Uint8Array): Promise<{ mean: number; changedShare: number }> {
  const [x, y] = await Promise.all([sharp(a).raw().toBuffer(), sharp(b).raw().toBuffer()]);
  let sum = 0;
  let changed = 0;
  for (let i = 0; i < x.length; i += 3) {
    const d = Math.abs(x[i] - y[i]) + Math.abs(x[i + 1] - y[i + 1]) + Math.abs(x[i + 2] - y[i + 2]);
    sum += d;
    if (d / 3 > 24) changed++;
  }
  return { mean: sum / x.length, changedShare: changed / (x.length / 3) };
}

describe('watermark', () => {
  it('marks the whole preview visibly, keeps its size and dpi', async () => {
    const clean = await sharp(fixture('faces/london_001/1.jpg')).resize(413, 531, { fit: 'cover' }).jpeg({ quality: 92 }).withMetadata({ density: 300 }).toBuffer();
    const marked = await watermark(clean, 'Preview');
    const meta = await sharp(marked).metadata();
    expect([meta.width, meta.height, meta.density]).toEqual([413, 531, 300]);
    const { mean, changedShare } = await difference(clean, marked);
    // measured on London-set portraits 001, 010, 020: 17-20 grey levels on average, 28-31 % of the pixels
    // changed by more than 24 levels
    expect(mean).toBeGreaterThan(12);
    expect(changedShare).toBeGreaterThan(0.2);
    // and in every quarter of the picture, so no crop of the preview is clean
    for (const [left, top] of [[0, 0], [206, 0], [0, 265], [206, 265]]) {
      const part = (bytes: Buffer) => sharp(bytes).extract({ left, top, width: 206, height: 265 }).png().toBuffer();
      expect((await difference(await part(clean), await part(marked))).changedShare, `${left},${top}`).toBeGreaterThan(0.1);
    }
  });
});
