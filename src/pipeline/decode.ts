import sharp from 'sharp';
import { ApiError } from '../errors.ts';
import type { RgbImage } from './types.ts';

interface Format {
  /** sharp's name for it */
  name: 'jpeg' | 'png' | 'webp' | 'jp2';
  label: string;
  matches(bytes: Uint8Array): boolean;
}

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0) => signature.every((b, i) => bytes[offset + i] === b);
const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

// Formats are recognised from their magic bytes, not from a filename or content type, and only these
// reach a decoder: SVG, GIF, TIFF, HEIF, PDF … never get to libvips' other loaders.
const CANDIDATES: readonly Format[] = [
  { name: 'jpeg', label: 'JPEG', matches: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { name: 'png', label: 'PNG', matches: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { name: 'webp', label: 'WebP', matches: (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8) },
  {
    name: 'jp2',
    label: 'JPEG 2000',
    // JP2 box file, or a bare J2K codestream
    matches: (b) => startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]) || startsWith(b, [0xff, 0x4f, 0xff, 0x51]),
  },
];

/** The candidates this build of sharp can read from a buffer (the prebuilt binaries lack JPEG 2000). */
export const ACCEPTED_FORMATS: readonly Format[] = CANDIDATES.filter((f) => sharp.format[f.name]?.input.buffer);

const acceptedList = ACCEPTED_FORMATS.map((f) => f.label).join(', ');

/**
 * Bytes → 8-bit sRGB, upright per EXIF orientation, alpha flattened onto white.
 * Refuses unknown formats (unsupported_image_format), images over `maxPixels` judged from the header
 * alone (payload_too_large, before any pixel is decoded) and damaged or truncated files (image_decode_failed).
 */
export async function decodeImage(bytes: Uint8Array, maxPixels: number): Promise<RgbImage> {
  const format = ACCEPTED_FORMATS.find((f) => f.matches(bytes));
  if (!format) throw new ApiError('unsupported_image_format', `the image is not in an accepted format (${acceptedList})`);
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
  if (width * height > maxPixels) {
    throw new ApiError('payload_too_large', `the image is ${width}×${height} pixels; at most ${maxPixels} pixels are accepted`, {
      width,
      height,
      max_pixels: maxPixels,
    });
  }

  try {
    const { data, info } = await sharp(bytes, options)
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (error) {
    throw decodeFailed(format, error);
  }
}

function decodeFailed(format: Format, error: unknown): ApiError {
  return new ApiError('image_decode_failed', `the ${format.label} image could not be decoded: ${(error as Error).message}`, { format: format.label });
}
