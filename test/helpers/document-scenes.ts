import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { loadOpenCv } from '../../src/documents/opencv.ts';
import type { DocumentType, Quad, Vec } from '../../src/documents/quad.ts';
import { FIXTURES_DIR } from './fixtures.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

// Photos of ID documents made from the flat scans in fixtures/idcards: each scan is pasted onto a
// background under a known perspective, so its true corners are known exactly. Everything is drawn
// from a seeded generator: the same seed gives the same photo on every machine.

export const SCENE_CONDITIONS = ['plain_desk', 'photo_background', 'low_contrast', 'strong_perspective', 'any_rotation', 'blur', 'glare', 'occluded_corner'] as const;
export type SceneCondition = (typeof SCENE_CONDITIONS)[number];

export interface IdCardFixture {
  file: string;
  doc: string;
  hasPortrait: boolean;
  /** the ISO/IEC 7810 size of the document scanned, where it is one (FORMATS) */
  format?: DocumentType;
}

export interface Scene {
  name: string;
  card: IdCardFixture;
  condition: SceneCondition;
  /** JPEG */
  image: Buffer;
  width: number;
  height: number;
  /** the scan's corners in the photo: its top-left, top-right, bottom-right, bottom-left */
  corners: Quad;
}

export interface SceneOptions {
  width?: number;
  height?: number;
  /** share of the photo's long side the document's long side spans, [min, max] */
  scale?: [number, number];
}

const IDCARDS_DIR = resolve(FIXTURES_DIR, 'idcards');
const NONFACES_DIR = resolve(FIXTURES_DIR, 'nonfaces');

/**
 * Labels in labels.csv that the scans contradict, checked by eye. 100_id-che.jpg is the back of the
 * Swiss card (machine-readable zone, signature, a kinegram window): there is no face on it to return.
 */
const LABEL_CORRECTIONS: Record<string, Partial<IdCardFixture>> = {
  '100_id-che.jpg': { hasPortrait: false },
};

/**
 * The format of each scan, read by eye from its machine-readable zone (ICAO 9303: TD1 3 × 30 characters
 * on ID-1 cards, TD2 2 × 36 on ID-2, TD3 2 × 44 on ID-3 passport pages) or, without one on the side
 * scanned, from what it is. `unknown`: a card's front and back side by side, which is no one format.
 * Left out: the MRV-A visa (80 × 120 mm, none of the three), the ICAO figure of a TD2 document drawn
 * inside a captioned frame, and the phone screenshot of a passport: the scene's document is the figure
 * or the screenshot, whose shape is no format.
 */
const FORMATS: Record<string, IdCardFixture['format']> = {
  '0_id-esp.png': 'ID-1',
  '100_id-che.jpg': 'ID-1',
  '100_id-rou.jpg': 'ID-2',
  '100_id-usa.jpg': 'unknown',
  '100_pass-chn.jpg': 'ID-3',
  '100_pass-cze2.jpg': 'ID-3',
  '100_pass-hrv.jpg': 'ID-3',
  '100_pass-ltu.jpg': 'ID-3',
  '100_pass-polx.jpg': 'ID-3',
  '25_pass-uto.jpg': 'ID-3',
  '33_id-usa.jpg': 'unknown',
  '43_pass-twn.jpg': 'ID-3',
  '77_card-cmw.png': 'ID-1',
  '79_pass-hun.png': 'ID-3',
  'passport-td2.jpg': 'ID-2',
};

export function idCardFixtures(): IdCardFixture[] {
  const [header, ...rows] = readFileSync(resolve(IDCARDS_DIR, 'labels.csv'), 'utf8').trim().split('\n');
  const columns = header.split(',');
  return rows.map((row) => {
    const cells = row.split(',');
    const cell = (name: string) => cells[columns.indexOf(name)];
    const file = cell('file').replace(/^idcards\//, '');
    return { file, doc: cell('doc'), hasPortrait: cell('has_portrait') === 'yes', format: FORMATS[file], ...LABEL_CORRECTIONS[file] };
  });
}

export function backgroundFiles(): string[] {
  return readdirSync(NONFACES_DIR).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
}

interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
}

async function rgbOf(input: Buffer | string, resize?: { width: number; height: number }): Promise<Raster> {
  let pipeline = sharp(input).rotate().removeAlpha().toColourspace('srgb');
  if (resize) pipeline = pipeline.resize(resize.width, resize.height, { fit: 'cover' });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function background(condition: SceneCondition, random: () => number, width: number, height: number): Promise<Raster> {
  if (condition === 'photo_background' || condition === 'strong_perspective') {
    const files = backgroundFiles();
    return rgbOf(resolve(NONFACES_DIR, files[Math.floor(random() * files.length)]), { width, height });
  }
  // A plain desk: a colour, a lighting gradient across it and sensor noise. Low contrast: near white.
  const base = condition === 'low_contrast' ? [236 + random() * 14, 236 + random() * 14, 236 + random() * 14] : [40 + random() * 140, 40 + random() * 120, 30 + random() * 110];
  const gx = (random() - 0.5) * 40;
  const gy = (random() - 0.5) * 40;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const shade = (gx * x) / width + (gy * y) / height;
      const noise = (random() - 0.5) * 6;
      for (let c = 0; c < 3; c++) data[i++] = Math.max(0, Math.min(255, base[c] + shade + noise));
    }
  }
  return { data, width, height };
}

/** Where the scan lands: a rotated, perspective-jittered rectangle kept inside the photo. */
function placement(condition: SceneCondition, random: () => number, card: Raster, width: number, height: number, scale: [number, number]): Quad {
  const aspect = card.width / card.height;
  for (;;) {
    const long = Math.max(width, height) * (scale[0] + random() * (scale[1] - scale[0]));
    const w = aspect >= 1 ? long : long * aspect;
    const h = aspect >= 1 ? long / aspect : long;
    const angle = condition === 'any_rotation' ? random() * 2 * Math.PI : ((random() - 0.5) * 30 * Math.PI) / 180;
    const jitter = (condition === 'strong_perspective' ? 0.12 : 0.04) * long;
    const cx = width * (0.3 + random() * 0.4);
    const cy = height * (0.3 + random() * 0.4);
    const corners = ([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]] as Vec[]).map(([x, y]): Vec => [
      cx + x * Math.cos(angle) - y * Math.sin(angle) + (random() - 0.5) * 2 * jitter,
      cy + x * Math.sin(angle) + y * Math.cos(angle) + (random() - 0.5) * 2 * jitter,
    ]);
    const margin = 0.03 * Math.min(width, height);
    if (corners.every(([x, y]) => x > margin && y > margin && x < width - margin && y < height - margin)) return corners as Quad;
  }
}

/**
 * The seed of the `copy`-th photo of the `cardIndex`-th card (idCardFixtures order) under `condition`:
 * the numbering `npm run eval:cropper` scores, so a photo the eval names can be made again anywhere.
 */
export function evalSeed(cardIndex: number, condition: SceneCondition, copy: number): number {
  return 1 + cardIndex * 100 + copy * 10_000 + SCENE_CONDITIONS.indexOf(condition) * 1000;
}

/**
 * One synthetic photo of `card` under `condition`. `seed` fixes every random choice; the scan's
 * corners in the photo are returned as the truth.
 */
export async function synthesizeScene(card: IdCardFixture, condition: SceneCondition, seed: number, options: SceneOptions = {}): Promise<Scene> {
  const width = options.width ?? 1600;
  const height = options.height ?? 1200;
  const random = seededRandom(seed);
  const cv = await loadOpenCv();
  const scan = await rgbOf(resolve(IDCARDS_DIR, card.file));
  const canvas = await background(condition, random, width, height);
  const corners = placement(condition, random, scan, width, height, options.scale ?? [0.4, 0.75]);

  const mats: Array<{ delete(): void }> = [];
  const keep = <T extends { delete(): void }>(mat: T): T => (mats.push(mat), mat);
  try {
    const source = keep(new cv.Mat(scan.height, scan.width, cv.CV_8UC3));
    source.data.set(scan.data);
    const from = keep(cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, scan.width, 0, scan.width, scan.height, 0, scan.height]));
    const to = keep(cv.matFromArray(4, 1, cv.CV_32FC2, corners.flat()));
    const transform = keep(cv.getPerspectiveTransform(from, to));
    const warped = keep(new cv.Mat());
    cv.warpPerspective(source, warped, transform, new cv.Size(width, height), cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Scalar(0, 0, 0, 0));
    // Coverage of each photo pixel by the scan, antialiased along its edges.
    const solid = keep(new cv.Mat(scan.height * 4, scan.width * 4, cv.CV_8UC1, new cv.Scalar(255)));
    const up = keep(cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, scan.width * 4, 0, scan.width * 4, scan.height * 4, 0, scan.height * 4]));
    const maskTransform = keep(cv.getPerspectiveTransform(up, to));
    const mask = keep(new cv.Mat());
    cv.warpPerspective(solid, mask, maskTransform, new cv.Size(width, height), cv.INTER_AREA, cv.BORDER_CONSTANT, new cv.Scalar(0));
    const out = canvas.data;
    const doc = warped.data;
    const alpha = mask.data;
    for (let p = 0; p < width * height; p++) {
      const a = alpha[p] / 255;
      if (a === 0) continue;
      for (let c = 0; c < 3; c++) out[3 * p + c] = out[3 * p + c] * (1 - a) + doc[3 * p + c] * a;
    }

    const photo = keep(new cv.Mat(height, width, cv.CV_8UC3));
    photo.data.set(out);
    const long = Math.max(Math.hypot(corners[1][0] - corners[0][0], corners[1][1] - corners[0][1]), Math.hypot(corners[3][0] - corners[0][0], corners[3][1] - corners[0][1]));
    if (condition === 'occluded_corner') occludeCorner(cv, photo, corners, long, random);
    if (condition === 'glare') addGlare(photo, corners, long, random);
    if (condition === 'blur') {
      const sigma = 1.5 + random() * 1.5;
      cv.GaussianBlur(photo, photo, new cv.Size(0, 0), sigma);
    }
    const pixels = Buffer.from(photo.data);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, pixels[i] + Math.round((random() - 0.5) * 4)));
    const image = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
    return { name: `${card.doc}-${condition}-${seed}`, card, condition, image, width, height, corners };
  } finally {
    for (const mat of mats) mat.delete();
  }
}

/** A fingertip (skin-coloured rounded blob) reaching in over one corner from outside the document. */
function occludeCorner(cv: Awaited<ReturnType<typeof loadOpenCv>>, photo: InstanceType<Awaited<ReturnType<typeof loadOpenCv>>['Mat']>, corners: Quad, long: number, random: () => number): void {
  const k = Math.floor(random() * 4);
  const corner = corners[k];
  const centre = corners.reduce((s, p) => [s[0] + p[0] / 4, s[1] + p[1] / 4] as Vec, [0, 0] as Vec);
  const away: Vec = [corner[0] - centre[0], corner[1] - centre[1]];
  const norm = Math.hypot(...away);
  const direction: Vec = [away[0] / norm, away[1] / norm];
  const reach = long * (0.04 + random() * 0.04);
  const length = long * 0.35;
  const tip: Vec = [corner[0] - direction[0] * reach, corner[1] - direction[1] * reach];
  const middle = new cv.Point(tip[0] + (direction[0] * length) / 2, tip[1] + (direction[1] * length) / 2);
  const angle = (Math.atan2(direction[1], direction[0]) * 180) / Math.PI;
  const skin = new cv.Scalar(190 + random() * 40, 140 + random() * 30, 110 + random() * 30, 255);
  cv.ellipse(photo, middle, new cv.Size(length / 2, long * 0.06), angle, 0, 360, skin, -1, cv.LINE_AA);
}

/** A specular highlight on the document: a soft, saturated white spot. */
function addGlare(photo: { data: Uint8Array; cols: number; rows: number }, corners: Quad, long: number, random: () => number): void {
  const u = 0.2 + random() * 0.6;
  const v = 0.2 + random() * 0.6;
  const top: Vec = [corners[0][0] + (corners[1][0] - corners[0][0]) * u, corners[0][1] + (corners[1][1] - corners[0][1]) * u];
  const bottom: Vec = [corners[3][0] + (corners[2][0] - corners[3][0]) * u, corners[3][1] + (corners[2][1] - corners[3][1]) * u];
  const cx = top[0] + (bottom[0] - top[0]) * v;
  const cy = top[1] + (bottom[1] - top[1]) * v;
  const sigma = long * (0.03 + random() * 0.03);
  const reach = Math.ceil(3 * sigma);
  const { data, cols, rows } = photo;
  for (let y = Math.max(0, Math.floor(cy - reach)); y < Math.min(rows, cy + reach); y++) {
    for (let x = Math.max(0, Math.floor(cx - reach)); x < Math.min(cols, cx + reach); x++) {
      const strength = Math.min(1, 1.4 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)));
      const i = 3 * (y * cols + x);
      for (let c = 0; c < 3; c++) data[i + c] = data[i + c] + (255 - data[i + c]) * strength;
    }
  }
}
