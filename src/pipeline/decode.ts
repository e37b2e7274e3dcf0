import sharp, { type Sharp } from 'sharp';
import { ApiError } from '../errors.ts';
import { codestreamOf, decodeJpeg2000, isJpeg2000, jpeg2000Size } from './jpeg2000.ts';
import { startsWith } from './magic-bytes.ts';
import type { RgbImage } from './types.ts';

interface Format {
  /** sharp's name for it */
  name: 'jpeg' | 'png' | 'webp' | 'jp2';
  label: string;
  matches(bytes: Uint8Array): boolean;
}

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

// Formats are recognised from their magic bytes, not from a filename or content type, and only these
// reach a decoder: SVG, GIF, TIFF, HEIF, PDF … never get to libvips' other loaders.
const CANDIDATES: readonly Format[] = [
  { name: 'jpeg', label: 'JPEG', matches: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { name: 'png', label: 'PNG', matches: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { name: 'webp', label: 'WebP', matches: (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8) },
  // JP2 box file, or a bare J2K codestream; decoded by OpenJPEG (jpeg2000.ts), not by sharp
  { name: 'jp2', label: 'JPEG 2000', matches: isJpeg2000 },
];

/** The candidates this server decodes: sharp's own loaders, and JPEG 2000 through OpenJPEG. */
export const ACCEPTED_FORMATS: readonly Format[] = CANDIDATES.filter((f) => f.name === 'jp2' || sharp.format[f.name]?.input.buffer);

const acceptedList = ACCEPTED_FORMATS.map((f) => f.label).join(', ');

/** The accepted format the bytes are in, from their magic bytes; undefined for anything else. */
export function imageFormat(bytes: Uint8Array): Format['name'] | undefined {
  return ACCEPTED_FORMATS.find((f) => f.matches(bytes))?.name;
}

/**
 * Bytes → 8-bit sRGB, upright per EXIF orientation, alpha flattened onto white.
 * Refuses unknown formats (unsupported_image_format), images over `maxPixels` judged from the header
 * alone (payload_too_large, before any pixel is decoded) and damaged or truncated files (image_decode_failed).
 * With `fitWithin`, the image comes shrunk so its long side is at most that; a JPEG is then shrunk while it
 * is decoded (its DCT scaling), several times cheaper than decoding it whole.
 */
export async function decodeImage(bytes: Uint8Array, maxPixels: number, { fitWithin }: { fitWithin?: number } = {}): Promise<RgbImage> {
  const format = ACCEPTED_FORMATS.find((f) => f.matches(bytes));
  if (!format) throw new ApiError('unsupported_image_format', `the image is not in an accepted format (${acceptedList})`);
  if (format.name === 'jp2') return decodeJpeg2000Image(bytes, format, maxPixels, fitWithin);
  const options = { limitInputPixels: maxPixels, failOn: 'truncated' } as const;

  let width: number | undefined;
  let height: number | undefined;
  try {
    // Header only, so no pixel limit here: the size check below gives a bomb its own 413, not a decode error.
    ({ width, height } = await sharp(bytes, { ...options, limitInputPixels: false }).metadata());
  } catch (error) {
    throw decodeFailed(format, error);
  }
  if (!width || !height) throw decodeFailed(format, new Error('no image dimensions in the header'));
  assertPixelBudget(width, height, maxPixels);
  try {
    return await toRgb(sharp(bytes, options).autoOrient(), fitWithin);
  } catch (error) {
    throw decodeFailed(format, error);
  }
}

function assertPixelBudget(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new ApiError('payload_too_large', `the image is ${width}×${height} pixels; at most ${maxPixels} pixels are accepted`, {
      width,
      height,
      max_pixels: maxPixels,
    });
  }
}

/** Header first (a bomb gets its 413 before any sample is decoded), then OpenJPEG, then sharp as for the rest. */
async function decodeJpeg2000Image(bytes: Uint8Array, format: Format, maxPixels: number, fitWithin: number | undefined): Promise<RgbImage> {
  let codestream: Uint8Array;
  let size: { width: number; height: number };
  try {
    codestream = codestreamOf(bytes);
    size = jpeg2000Size(codestream);
  } catch (error) {
    throw decodeFailed(format, error);
  }
  assertPixelBudget(size.width, size.height, maxPixels);
  try {
    const samples = await decodeJpeg2000(codestream);
    return await toRgb(sharp(samples.data, { raw: { width: samples.width, height: samples.height, channels: samples.channels } }), fitWithin);
  } catch (error) {
    throw decodeFailed(format, error);
  }
}

async function toRgb(image: Sharp, fitWithin: number | undefined): Promise<RgbImage> {
  const sized = fitWithin ? image.resize(fitWithin, fitWithin, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' }) : image;
  const { data, info } = await sized.flatten({ background: '#ffffff' }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

function decodeFailed(format: Format, error: unknown): ApiError {
  return new ApiError('image_decode_failed', `the ${format.label} image could not be decoded: ${(error as Error).message}`, { format: format.label });
}
