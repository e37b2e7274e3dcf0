import sharp from 'sharp';
import type { FaceSummary } from '../../src/compliance/measures/index.ts';
import type { IssueCode } from '../../src/compliance/profiles.ts';
import { tiltedHead } from './fixtures.ts';

/**
 * Photo variants for the compliance checks, made in code from a compliant photo and where its face is
 * (the `face` a photo check reports on it). Each variant is built to fail one check (its ground truth,
 * `issue`); it may fail others too (a darkened photo is also darker overall). Deterministic: no
 * randomness, so the calibration and the tests see the same pixels on every run. Nothing is written to disk.
 */

export interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

interface Layout {
  face: FaceSummary;
  /** pixels between the eye centres */
  interEye: number;
  /** chin to estimated crown */
  head: number;
  /** eye midpoint */
  eyeX: number;
  eyeY: number;
  /** approximate face width: twice the inter-eye distance */
  faceWidth: number;
}

function layout(face: FaceSummary): Layout {
  const [l, r] = face.eyes;
  const interEye = Math.hypot(r.x - l.x, r.y - l.y);
  return { face, interEye, head: face.chin.y - face.crown.y, eyeX: (l.x + r.x) / 2, eyeY: (l.y + r.y) / 2, faceWidth: 2 * interEye };
}

export async function decodeRaw(bytes: Uint8Array): Promise<Raw> {
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export function encodeJpeg(raw: Raw): Promise<Buffer> {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function crop(raw: Raw, x0: number, y0: number, width: number, height: number): Promise<Raw> {
  const left = Math.max(0, Math.round(x0));
  const top = Math.max(0, Math.round(y0));
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .extract({ left, top, width: Math.min(Math.round(width), raw.width - left), height: Math.min(Math.round(height), raw.height - top) })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then(({ data, info }) => ({ data, width: info.width, height: info.height }));
}

/** every pixel through `f(x, y, rgb) → rgb`, in place on a copy */
function mapPixels(raw: Raw, f: (x: number, y: number, rgb: [number, number, number]) => [number, number, number]): Raw {
  const data = Buffer.from(raw.data);
  for (let y = 0; y < raw.height; y++) {
    for (let x = 0; x < raw.width; x++) {
      const i = (y * raw.width + x) * 3;
      const [r, g, b] = f(x, y, [data[i], data[i + 1], data[i + 2]]);
      data[i] = clamp(r);
      data[i + 1] = clamp(g);
      data[i + 2] = clamp(b);
    }
  }
  return { ...raw, data };
}

/** whether (x, y) is background: outside a generous ellipse round the head and above the chin */
function isBackground(l: Layout, x: number, y: number): boolean {
  if (y > l.face.chin.y) return false;
  const cx = l.eyeX;
  const cy = (l.face.chin.y + l.face.crown.y) / 2;
  return ((x - cx) / (l.faceWidth * 0.85)) ** 2 + ((y - cy) / (l.head * 0.62)) ** 2 > 1;
}

function meanColour(raw: Raw, x0: number, y0: number, x1: number, y1: number): [number, number, number] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.max(0, Math.round(y0)); y < Math.min(raw.height, Math.round(y1)); y++) {
    for (let x = Math.max(0, Math.round(x0)); x < Math.min(raw.width, Math.round(x1)); x++) {
      const i = (y * raw.width + x) * 3;
      for (let k = 0; k < 3; k++) sum[k] += raw.data[i + k];
      n++;
    }
  }
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** pixels inside an axis-aligned ellipse painted `colour`, softened over its outer `soft` fraction */
function paintEllipse(raw: Raw, cx: number, cy: number, rx: number, ry: number, colour: [number, number, number], soft = 0.15): Raw {
  return mapPixels(raw, (x, y, rgb) => {
    const d = Math.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2);
    if (d >= 1) return rgb;
    const w = d < 1 - soft ? 1 : (1 - d) / soft;
    return [rgb[0] + (colour[0] - rgb[0]) * w, rgb[1] + (colour[1] - rgb[1]) * w, rgb[2] + (colour[2] - rgb[2]) * w];
  });
}

/**
 * The compliant base for both profiles: the photo cut to a 35 × 45 frame in which the head (chin to
 * estimated crown) is 74 % of the height, with 9 % above the crown, centred on the eyes, at 900 px high.
 */
export async function icaoFrame(raw: Raw, face: FaceSummary): Promise<Raw> {
  const l = layout(face);
  const height = l.head / 0.74;
  const width = (height * 35) / 45;
  const framed = await crop(raw, l.eyeX - width / 2, face.crown.y - 0.09 * height, width, height);
  const { data, info } = await sharp(framed.data, { raw: { width: framed.width, height: framed.height, channels: 3 } })
    .resize({ height: 900 })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export interface Variant {
  /** the issue the variant is made to produce */
  issue: IssueCode;
  /** what was done, for the calibration table */
  description: string;
  make(base: Raw, face: FaceSummary, donor: Raw): Promise<Raw>;
}

/** Synthetic variants of a compliant framed photo, by name. */
export const VARIANTS: Record<string, Variant> = {
  small_face: {
    issue: 'ISSUE_FACE_TOO_SMALL',
    description: 'the photo shrunk to 1/4 and centred on a canvas of its background colour',
    async make(base) {
      const background = meanColour(base, 0, 0, base.width * 0.1, base.height * 0.1);
      const w = Math.round(base.width / 4);
      const small = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } }).resize({ width: w }).raw().toBuffer({ resolveWithObject: true });
      const canvas = sharp({ create: { width: base.width, height: base.height, channels: 3, background: { r: background[0], g: background[1], b: background[2] } } });
      const left = Math.round((base.width - small.info.width) / 2);
      const top = Math.round((base.height - small.info.height) / 2);
      return decodeRaw(await canvas.composite([{ input: small.data, raw: { width: small.info.width, height: small.info.height, channels: 3 }, left, top }]).png().toBuffer());
    },
  },
  second_face: {
    issue: 'ISSUE_MULTIPLE_FACES',
    description: 'another person\'s photo at 45 % of the width pasted into the top-left corner',
    async make(base, _face, donor) {
      const w = Math.round(base.width * 0.45);
      const pasted = await sharp(donor.data, { raw: { width: donor.width, height: donor.height, channels: 3 } }).resize({ width: w }).raw().toBuffer({ resolveWithObject: true });
      const photo = sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } });
      // through PNG: composite output may carry an alpha channel, which decodeRaw drops
      return decodeRaw(await photo.composite([{ input: pasted.data, raw: { width: pasted.info.width, height: pasted.info.height, channels: 3 }, left: 0, top: 0 }]).png().toBuffer());
    },
  },
  rolled: {
    issue: 'ISSUE_HEAD_ROLL_OVER_THRESHOLD',
    description: 'turned 14° in the image plane (then cut to the largest centred square)',
    make: async (base) => decodeRaw(await tiltedHead(await encodeJpeg(base), 14)),
  },
  eyes_closed: {
    issue: 'ISSUE_EYES_CLOSED',
    description: 'each eye painted over with the skin below it, with a dark lash line',
    async make(base, face) {
      const l = layout(face);
      let out = base;
      for (const eye of face.eyes) {
        const skin = meanColour(base, eye.x - 0.15 * l.interEye, eye.y + 0.3 * l.interEye, eye.x + 0.15 * l.interEye, eye.y + 0.4 * l.interEye);
        out = paintEllipse(out, eye.x, eye.y, 0.3 * l.interEye, 0.13 * l.interEye, skin, 0.35);
        out = paintEllipse(out, eye.x, eye.y + 0.03 * l.interEye, 0.24 * l.interEye, 0.018 * l.interEye, [50, 35, 30], 0.5);
      }
      return out;
    },
  },
  blurred: {
    issue: 'ISSUE_PHOTO_SHARPNESS_BAD',
    description: 'Gaussian blur, σ = inter-eye distance / 20',
    async make(base, face) {
      const sigma = layout(face).interEye / 20;
      const { data, info } = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } }).blur(sigma).raw().toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height };
    },
  },
  dark: {
    issue: 'ISSUE_FACE_BRIGHTNESS_BAD',
    description: 'every pixel × 0.25',
    make: async (base) => mapPixels(base, (_x, _y, [r, g, b]) => [r * 0.25, g * 0.25, b * 0.25]),
  },
  overexposed: {
    issue: 'ISSUE_FACE_BRIGHTNESS_BAD',
    description: 'every pixel × 1.7 + 30 (clipped)',
    make: async (base) => mapPixels(base, (_x, _y, [r, g, b]) => [r * 1.7 + 30, g * 1.7 + 30, b * 1.7 + 30]),
  },
  half_dark: {
    issue: 'ISSUE_FACE_LIGHT_NOT_BALANCE',
    description: 'the image-left half × 0.45, blended over 4 % of the width at the face midline',
    async make(base, face) {
      const mid = layout(face).eyeX;
      const ramp = base.width * 0.04;
      return mapPixels(base, (x, _y, [r, g, b]) => {
        const k = 0.45 + 0.55 * Math.min(1, Math.max(0, (x - mid + ramp / 2) / ramp));
        return [r * k, g * k, b * k];
      });
    },
  },
  green_cast: {
    issue: 'ISSUE_UNNATURAL_SKIN_TONE',
    description: 'colour cast: R × 0.55, G × 1.1, B × 0.8',
    make: async (base) => mapPixels(base, (_x, _y, [r, g, b]) => [r * 0.55, g * 1.1, b * 0.8]),
  },
  busy_background: {
    issue: 'ISSUE_BACKGROUND_NOT_UNIFORM',
    description: 'the background (outside an ellipse round the head, above the chin) replaced by coloured stripes and checks',
    async make(base, face) {
      const l = layout(face);
      const cell = Math.max(6, Math.round(base.width / 30));
      return mapPixels(base, (x, y, rgb) => {
        if (!isBackground(l, x, y)) return rgb;
        const check = (Math.floor(x / cell) + Math.floor(y / cell)) % 2;
        const stripe = Math.floor((x + y) / (cell * 0.7)) % 3;
        return check ? [200, 60 + 60 * stripe, 40] : [40 + 70 * stripe, 90, 180];
      });
    },
  },
  red_background: {
    issue: 'ISSUE_BACKGROUND_COLOR',
    description: 'the background replaced by plain saturated red (180, 40, 40)',
    async make(base, face) {
      const l = layout(face);
      return mapPixels(base, (x, y, rgb) => (isBackground(l, x, y) ? [180, 40, 40] : rgb));
    },
  },
  shadow: {
    issue: 'ISSUE_SHADOW_BEHIND_HEAD',
    description: 'a soft head-shaped shadow (background × 0.5) cast down and to the right of the head',
    async make(base, face) {
      const l = layout(face);
      const cx = l.eyeX + 0.45 * l.faceWidth;
      const cy = (face.chin.y + face.crown.y) / 2 + 0.08 * l.head;
      return mapPixels(base, (x, y, [r, g, b]) => {
        if (!isBackground(l, x, y)) return [r, g, b];
        const d = Math.sqrt(((x - cx) / (0.9 * l.faceWidth)) ** 2 + ((y - cy) / (0.6 * l.head)) ** 2);
        const k = d < 0.8 ? 0.5 : d < 1.2 ? 0.5 + 0.5 * ((d - 0.8) / 0.4) : 1;
        return [r * k, g * k, b * k];
      });
    },
  },
  large_head: {
    issue: 'ISSUE_HEAD_SIZE',
    description: 'cut to a frame in which the head is 95 % of the height',
    async make(base, face) {
      const l = layout(face);
      const height = l.head / 0.95;
      return crop(base, l.eyeX - (height * 35) / 90, face.crown.y - 0.02 * height, (height * 35) / 45, height);
    },
  },
  low_eyes: {
    issue: 'ISSUE_EYE_LINE',
    description: 'the frame moved up: 22 % of the height added above (copied edge) and cut below',
    async make(base) {
      const extra = Math.round(base.height * 0.22);
      const { data, info } = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } })
        .extend({ top: extra, extendWith: 'copy' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return crop({ data, width: info.width, height: info.height }, 0, 0, base.width, base.height);
    },
  },
  cut_bottom: {
    issue: 'ISSUE_BOTTOM_INCOMPLETE',
    description: 'cut just below the chin',
    make: async (base, face) => crop(base, 0, 0, base.width, face.chin.y + 0.03 * layout(face).head),
  },
  cut_left: {
    issue: 'ISSUE_LEFT_INCOMPLETE',
    description: 'cut through the image-left side of the face',
    make: async (base, face) => {
      const x0 = layout(face).eyeX - 0.4 * layout(face).faceWidth;
      return crop(base, x0, 0, base.width - x0, base.height);
    },
  },
  cut_right: {
    issue: 'ISSUE_RIGHT_INCOMPLETE',
    description: 'cut through the image-right side of the face',
    make: async (base, face) => crop(base, 0, 0, layout(face).eyeX + 0.4 * layout(face).faceWidth, base.height),
  },
  dark_glasses: {
    issue: 'ISSUE_EYEGLASSES',
    description: 'dark lenses (20, 20, 25) painted over both eyes, with a bridge',
    async make(base, face) {
      const l = layout(face);
      let out = base;
      for (const eye of face.eyes) out = paintEllipse(out, eye.x, eye.y, 0.42 * l.interEye, 0.3 * l.interEye, [20, 20, 25], 0.08);
      return paintEllipse(out, l.eyeX, l.eyeY - 0.1 * l.interEye, 0.2 * l.interEye, 0.04 * l.interEye, [20, 20, 25], 0.2);
    },
  },
  hat: {
    issue: 'ISSUE_HEAD_COVERING',
    description: 'a red cap (170, 30, 40) over the top of the head, down to the hairline',
    async make(base, face) {
      const l = layout(face);
      const top = face.crown.y - 0.08 * l.head;
      const bottom = l.eyeY - 0.28 * l.head;
      return paintEllipse(base, l.eyeX, bottom, 0.62 * l.faceWidth, bottom - top, [170, 30, 40], 0.05);
    },
  },
  face_mask: {
    issue: 'ISSUE_FACE_OCCLUDED',
    description: 'a light-blue mask (150, 195, 225) from below the eyes to below the chin',
    async make(base, face) {
      const l = layout(face);
      const top = l.eyeY + 0.35 * l.interEye;
      const bottom = face.chin.y + 0.05 * l.head;
      return paintEllipse(base, l.eyeX, (top + bottom) / 2, 0.5 * l.faceWidth, (bottom - top) / 2, [150, 195, 225], 0.05);
    },
  },
};
