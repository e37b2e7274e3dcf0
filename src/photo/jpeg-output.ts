import sharp from 'sharp';
import { ApiError } from '../errors.ts';
import type { RgbImage } from '../pipeline/types.ts';

/** Quality of a photo with no file-size rule: visually lossless for a print at 300 dpi. */
export const DEFAULT_JPEG_QUALITY = 92;

export interface FileSizeBand {
  minKb?: number;
  maxKb?: number;
}

export interface EncodedPhoto {
  jpeg: Buffer;
  width: number;
  height: number;
  quality: number;
}

/** JPEG with the dpi written into its JFIF density and EXIF resolution, so a print shop prints it at size. */
export function encodeJpeg(image: RgbImage, dpi: number, quality = DEFAULT_JPEG_QUALITY): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' })
    .withMetadata({ density: dpi })
    .toBuffer();
}

async function resize(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  return { data, width, height };
}

/** Each downscaling step keeps this share of the sides: about 20 % fewer pixels, so about 20 % fewer bytes. */
const DOWNSCALE_STEP = 0.9;

/**
 * Meets a file-size band: the highest JPEG quality whose file is at most `maxKb` (binary search), then,
 * when even the lowest quality is too large, smaller pixel sizes while `minHeightPx` allows (the aspect
 * ratio kept). A band that cannot be met is an error, never a silently oversized or zero-padded file.
 */
export async function encodeWithinBand(image: RgbImage, dpi: number, band: FileSizeBand, minHeightPx = 1): Promise<EncodedPhoto> {
  const maxBytes = band.maxKb === undefined ? Infinity : band.maxKb * 1024;
  const minBytes = (band.minKb ?? 0) * 1024;
  const fits = (bytes: Buffer) => bytes.length <= maxBytes;
  let current = image;
  for (;;) {
    const best = await bestQuality(current, dpi, fits);
    if (best) {
      if (best.jpeg.length >= minBytes) return best;
      const larger = await lowestQualityAbove(current, dpi, best.quality, (jpeg) => jpeg.length >= minBytes && fits(jpeg));
      if (!larger) {
        throw new ApiError('file_size_unreachable', `the photo is ${(best.jpeg.length / 1024).toFixed(1)} KB at JPEG quality ${best.quality}, below the required minimum of ${band.minKb} KB`, {
          size_kb: Math.round(best.jpeg.length / 1024),
          min_kb: band.minKb ?? 0,
        });
      }
      return larger;
    }
    const width = Math.round(current.width * DOWNSCALE_STEP);
    const height = Math.round(current.height * DOWNSCALE_STEP);
    if (height < minHeightPx || width < 1) {
      throw new ApiError('file_size_unreachable', `the photo cannot be made ${band.maxKb} KB or smaller without going below ${minHeightPx} pixels high`, {
        max_kb: band.maxKb ?? 0,
        min_height_px: minHeightPx,
      });
    }
    current = await resize(image, width, height);
  }
}

/** the highest quality (1–DEFAULT) whose JPEG `fits`, by binary search; undefined when even quality 1 does not */
async function bestQuality(image: RgbImage, dpi: number, fits: (jpeg: Buffer) => boolean): Promise<EncodedPhoto | undefined> {
  const at = async (quality: number) => ({ jpeg: await encodeJpeg(image, dpi, quality), width: image.width, height: image.height, quality });
  const top = await at(DEFAULT_JPEG_QUALITY);
  if (fits(top.jpeg)) return top;
  let lo = 1;
  let hi = DEFAULT_JPEG_QUALITY - 1;
  let best: EncodedPhoto | undefined;
  while (lo <= hi) {
    const quality = (lo + hi) >> 1;
    const candidate = await at(quality);
    if (fits(candidate.jpeg)) {
      best = candidate;
      lo = quality + 1;
    } else {
      hi = quality - 1;
    }
  }
  return best;
}

/** the lowest quality above `from` (up to 100) whose JPEG is `enough`, by binary search; a minimum size is met by quality, never by padding */
async function lowestQualityAbove(image: RgbImage, dpi: number, from: number, enough: (jpeg: Buffer) => boolean): Promise<EncodedPhoto | undefined> {
  let lo = from + 1;
  let hi = 100;
  let best: EncodedPhoto | undefined;
  while (lo <= hi) {
    const quality = (lo + hi) >> 1;
    const jpeg = await encodeJpeg(image, dpi, quality);
    if (enough(jpeg)) {
      best = { jpeg, width: image.width, height: image.height, quality };
      hi = quality - 1;
    } else {
      lo = quality + 1;
    }
  }
  return best;
}
