import sharp from 'sharp';

/** Watermark texts a caller may choose (compared case-insensitively), as in the reference API. */
export const WATERMARK_TEXTS = ['Preview', 'Aperçu'] as const;

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A preview that cannot pass for the photo: diagonal bands across the whole picture and the text
 * repeated along them. The bands alone mark it even where no font is installed for the text.
 */
export async function watermark(jpeg: Uint8Array, text: string): Promise<Buffer> {
  const image = sharp(jpeg);
  const { width = 0, height = 0, density } = await image.metadata();
  const step = Math.max(24, Math.round(Math.min(width, height) / 5));
  const band = Math.max(4, Math.round(step / 4));
  const fontSize = Math.max(10, Math.round(step / 3));
  const diagonal = Math.ceil(Math.hypot(width, height));
  const lines: string[] = [];
  for (let offset = -diagonal; offset < diagonal; offset += step) {
    lines.push(`<rect x="${-diagonal}" y="${offset}" width="${3 * diagonal}" height="${band}" fill="white" fill-opacity="0.6"/>`);
    lines.push(`<text x="${-diagonal + ((offset / step) % 3) * fontSize}" y="${offset + band + fontSize}" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="${fontSize}" fill="black" fill-opacity="0.35">${escapeXml(`${text}   `.repeat(Math.ceil((3 * diagonal) / (fontSize * text.length))))}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g transform="rotate(-30 ${width / 2} ${height / 2})">${lines.join('')}</g></svg>`;
  return image
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .withMetadata(density ? { density } : {})
    .toBuffer();
}
