import { affineScale, composeAffine, type Affine } from './geometry.ts';
import type { RgbImage } from './types.ts';

/**
 * A decoded photo plus lazily built half-resolution levels (2×2 box averages). Every crop the models
 * see (detector window, landmark crop, aligned face, PAD and pose crops) is sampled from the level whose
 * resolution is just above the crop's, so a 1350-pixel face shrunk to 64 or 112 pixels is averaged
 * rather than aliased, and bilinear interpolation only ever shrinks by less than 2×.
 */
export class Picture {
  private readonly levels: RgbImage[];

  constructor(readonly image: RgbImage) {
    this.levels = [image];
  }

  get width(): number {
    return this.image.width;
  }

  get height(): number {
    return this.image.height;
  }

  /**
   * Samples a width×height RGB raster; `toSource` maps output pixel centres to source pixel centres.
   * Outside the photo the value is `fill` (grey level), or the nearest edge pixel when `fill` is undefined.
   */
  sample(toSource: Affine, width: number, height: number, fill?: number): RgbImage {
    const wanted = Math.max(0, Math.floor(Math.log2(affineScale(toSource))));
    const level = this.level(wanted);
    const f = 2 ** level;
    // level-L pixel k averages level-0 pixels f·k … f·k+f−1, so its centre is at f·k + (f−1)/2
    const toLevel = composeAffine([1 / f, 0, -(f - 1) / (2 * f), 0, 1 / f, -(f - 1) / (2 * f)], toSource);
    return bilinear(this.levels[level], toLevel, width, height, fill);
  }

  /** returns the deepest available level ≤ wanted, building levels on demand */
  private level(wanted: number): number {
    while (this.levels.length <= wanted) {
      const last = this.levels[this.levels.length - 1];
      if (last.width < 4 || last.height < 4) break;
      this.levels.push(halve(last));
    }
    return Math.min(wanted, this.levels.length - 1);
  }
}

function halve(src: RgbImage): RgbImage {
  const width = src.width >> 1;
  const height = src.height >> 1;
  const data = new Uint8Array(width * height * 3);
  const stride = src.width * 3;
  const s = src.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = 2 * y * stride; x < width; x++, i += 6) {
      // channels unrolled: this runs for every pixel of every photo
      data[o++] = (s[i] + s[i + 3] + s[i + stride] + s[i + stride + 3] + 2) >> 2;
      data[o++] = (s[i + 1] + s[i + 4] + s[i + stride + 1] + s[i + stride + 4] + 2) >> 2;
      data[o++] = (s[i + 2] + s[i + 5] + s[i + stride + 2] + s[i + stride + 5] + 2) >> 2;
    }
  }
  return { data, width, height };
}

/**
 * Bilinear sampling, written for speed: it touches every pixel the models see (about 160,000 per
 * request), so the four source offsets are found once per output pixel rather than per channel,
 * pixels whose four neighbours all lie outside the photo are filled without interpolating, and only
 * the ring of pixels straddling the edge of a filled crop takes the general path.
 */
function bilinear(src: RgbImage, toSource: Affine, width: number, height: number, fill: number | undefined): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const [a, b, c, d, e, f] = toSource;
  const sw = src.width;
  const sh = src.height;
  const s = src.data;
  const rowBytes = sw * 3;
  const fillValue = fill === undefined ? 0 : Math.round(fill);
  const clampX = (x: number) => (x < 0 ? 0 : x >= sw ? sw - 1 : x);
  const clampY = (y: number) => (y < 0 ? 0 : y >= sh ? sh - 1 : y);
  // byte offset of pixel (x, y), or -1 outside the photo (only used when there is a fill value)
  const offset = (x: number, y: number): number => (x < 0 || y < 0 || x >= sw || y >= sh ? -1 : (y * sw + x) * 3);
  const valueAt = (i: number, ch: number): number => (i < 0 ? fillValue : s[i + ch]);
  for (let v = 0, o = 0; v < height; v++) {
    for (let u = 0; u < width; u++, o += 3) {
      const x = a * u + b * v + c;
      const y = d * u + e * v + f;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      let i00: number, i10: number, i01: number, i11: number;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
        i00 = (y0 * sw + x0) * 3;
        i10 = i00 + 3;
        i01 = i00 + rowBytes;
        i11 = i01 + 3;
      } else if (fill === undefined) {
        // the nearest edge pixel stands in for each neighbour outside the photo
        const xa = clampX(x0) * 3;
        const xb = clampX(x0 + 1) * 3;
        const ya = clampY(y0) * rowBytes;
        const yb = clampY(y0 + 1) * rowBytes;
        i00 = ya + xa;
        i10 = ya + xb;
        i01 = yb + xa;
        i11 = yb + xb;
      } else if (x0 + 1 < 0 || y0 + 1 < 0 || x0 >= sw || y0 >= sh) {
        out[o] = out[o + 1] = out[o + 2] = fillValue;
        continue;
      } else {
        const n00 = offset(x0, y0);
        const n10 = offset(x0 + 1, y0);
        const n01 = offset(x0, y0 + 1);
        const n11 = offset(x0 + 1, y0 + 1);
        for (let ch = 0; ch < 3; ch++) {
          out[o + ch] = interpolate(valueAt(n00, ch), valueAt(n10, ch), valueAt(n01, ch), valueAt(n11, ch), fx, fy);
        }
        continue;
      }
      out[o] = interpolate(s[i00], s[i10], s[i01], s[i11], fx, fy);
      out[o + 1] = interpolate(s[i00 + 1], s[i10 + 1], s[i01 + 1], s[i11 + 1], fx, fy);
      out[o + 2] = interpolate(s[i00 + 2], s[i10 + 2], s[i01 + 2], s[i11 + 2], fx, fy);
    }
  }
  return { data: out, width, height };
}

function interpolate(p00: number, p10: number, p01: number, p11: number, fx: number, fy: number): number {
  const top = p00 + (p10 - p00) * fx;
  const bottom = p01 + (p11 - p01) * fx;
  return Math.round(top + (bottom - top) * fy);
}

/** ITU-R BT.601 luma, as OpenCV's RGB2GRAY */
export function toGrey(image: RgbImage): Uint8Array {
  const n = image.width * image.height;
  const grey = new Uint8Array(n);
  const s = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) grey[i] = Math.round(0.299 * s[j] + 0.587 * s[j + 1] + 0.114 * s[j + 2]);
  return grey;
}

export interface ChannelTransform {
  /** which source channel feeds each input plane */
  order: 'rgb' | 'bgr';
  /** per input plane: value = (pixel − mean) × scale */
  mean: readonly [number, number, number];
  scale: readonly [number, number, number];
}

/** HWC 8-bit RGB → CHW float32 network input */
export function planarTensor(image: RgbImage, t: ChannelTransform): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(3 * n);
  const source = t.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let plane = 0; plane < 3; plane++) {
    const ch = source[plane];
    const mean = t.mean[plane];
    const scale = t.scale[plane];
    const base = plane * n;
    const data = image.data;
    for (let i = 0, j = ch; i < n; i++, j += 3) out[base + i] = (data[j] - mean) * scale;
  }
  return out;
}

/** HWC 8-bit RGB → HWC float32 network input (TensorFlow layout), value = pixel × scale + offset */
export function interleavedTensor(image: RgbImage, scale: number, offset: number): Float32Array {
  const data = image.data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] * scale + offset;
  return out;
}

/** grey 8-bit → 1×H×W float32, value × scale */
export function greyTensor(grey: Uint8Array, scale: number): Float32Array {
  const out = new Float32Array(grey.length);
  for (let i = 0; i < grey.length; i++) out[i] = grey[i] * scale;
  return out;
}
