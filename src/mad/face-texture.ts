// Single-image MAD features: what landmark morphing leaves in a face. Both photos are resampled by
// the warp and averaged, which smooths fine texture and sensor noise inside the face more than outside
// it; a spliced morph also leaves a seam where the blended face meets the contributor's head.
import { ARCFACE_REFERENCE_112 } from '../pipeline/align.ts';
import type { FaceGeometry } from '../pipeline/face-geometry.ts';
import { applyAffine, estimateSimilarity, invertAffine, meanPoint } from '../pipeline/geometry.ts';
import { toGrey, type Picture } from '../pipeline/picture.ts';
import type { Point } from '../pipeline/types.ts';

/** side of the square, upright face crop the features are measured on */
const CROP = 384;
/**
 * The ArcFace five-point layout, enlarged 2.4× and centred in the crop so the face outline, hair and
 * background show. Eyes 84 pixels apart: about what a document portrait gives, so the fine texture and
 * sensor noise that morphing smooths away are measured near the photo's own resolution, not averaged out.
 */
const FACE_SCALE = 2.4;
const inCrop = (x: number, y: number) => ({ x: (x - 56) * FACE_SCALE + CROP / 2, y: (y - 56) * FACE_SCALE + CROP / 2 + CROP / 24 });
const REFERENCE = ARCFACE_REFERENCE_112.map((p) => inCrop(p.x, p.y));
/** LBP histograms over a 3×3 grid of the inner face (eyes, nose, mouth, cheeks), plus one over the whole face */
const GRID = 3;
const INNER_FACE = (() => {
  const [topLeft, bottomRight] = [inCrop(18, 30), inCrop(94, 106)];
  return { x0: Math.round(topLeft.x), y0: Math.round(topLeft.y), x1: Math.round(bottomRight.x), y1: Math.round(bottomRight.y) };
})();
/** rings of the face outline, as its scale about its centre: inner face, the band a spliced seam lies in, just outside */
const RINGS = [0, 0.75, 0.95, 1.15, 1.35];

/** how many numbers `faceTextureFeatures` returns */
export const FACE_TEXTURE_FEATURES = (GRID * GRID + 1) * 10 + 5 + 2 * (RINGS.length - 1) + 3;

type Grey = Float32Array;

/** box mean of side 2·radius+1, edges clamped; a running sum along each row, then each column */
function boxBlur(image: Grey, radius: number): Grey {
  const width = 2 * radius + 1;
  const pass = (input: Grey, step: number, stride: number) => {
    // step: between neighbours along a line; stride: between the starts of two lines
    const out = new Float32Array(input.length);
    const last = CROP - 1;
    for (let line = 0; line < CROP; line++) {
      const base = line * stride;
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += input[base + (k < 0 ? 0 : k > last ? last : k) * step];
      for (let k = 0; k < CROP; k++) {
        out[base + k * step] = sum / width;
        const enter = k + radius + 1;
        const leave = k - radius;
        sum += input[base + (enter > last ? last : enter) * step] - input[base + (leave < 0 ? 0 : leave) * step];
      }
    }
    return out;
  };
  return pass(pass(image, 1, CROP), CROP, 1);
}

/**
 * Rotation-invariant uniform LBP (8 neighbours, radius 1): codes 0–8 count the neighbours at least as
 * bright as the centre for patterns with at most two transitions, 9 is every other pattern.
 */
function lbpCodes(image: Grey): Uint8Array {
  const codes = new Uint8Array(CROP * CROP).fill(255);
  const offsets = [-CROP - 1, -CROP, -CROP + 1, 1, CROP + 1, CROP, CROP - 1, -1];
  for (let y = 1; y < CROP - 1; y++) {
    for (let x = 1; x < CROP - 1; x++) {
      const i = y * CROP + x;
      let ones = 0;
      let transitions = 0;
      let previous = image[i + offsets[7]] >= image[i] ? 1 : 0;
      for (const offset of offsets) {
        const bit = image[i + offset] >= image[i] ? 1 : 0;
        ones += bit;
        transitions += bit ^ previous;
        previous = bit;
      }
      codes[i] = transitions <= 2 ? ones : 9;
    }
  }
  return codes;
}

function lbpHistogram(codes: Uint8Array, x0: number, y0: number, x1: number, y1: number): number[] {
  const histogram = new Array<number>(10).fill(0);
  let count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const code = codes[y * CROP + x];
      if (code === 255) continue;
      histogram[code]++;
      count++;
    }
  }
  return histogram.map((h) => h / Math.max(1, count));
}

/** log energy of each band of a box-blur pyramid over the inner face, relative to the total: morph smoothing moves energy to coarse bands */
function bandEnergies(image: Grey): number[] {
  const levels = [image, boxBlur(image, 1), boxBlur(image, 2), boxBlur(image, 4), boxBlur(image, 8), boxBlur(image, 16)];
  const { x0, y0, x1, y1 } = INNER_FACE;
  const energy = levels.slice(0, -1).map((level, k) => {
    let sum = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += (level[y * CROP + x] - levels[k + 1][y * CROP + x]) ** 2;
    return sum / ((x1 - x0) * (y1 - y0));
  });
  const total = energy.reduce((s, e) => s + e, 0) + 1e-6;
  return energy.map((e) => Math.log((e + 1e-6) / total));
}

/**
 * Sensor-noise residual (the image minus its 3×3 mean) per ring of the face outline: log standard
 * deviation and log mean absolute gradient per ring.
 */
function ringStatistics(image: Grey, outline: Point[]): number[] {
  const residual = boxBlur(image, 1).map((blurred, i) => image[i] - blurred);
  const centre = meanPoint(outline);
  // the outline's radius in every direction, so a pixel's ring is its distance over the radius that way
  const radiusAt = (angle: number) => {
    let best = 0;
    let bestCos = -2;
    for (const p of outline) {
      const a = Math.atan2(p.y - centre.y, p.x - centre.x);
      const c = Math.cos(a - angle);
      if (c > bestCos) [bestCos, best] = [c, Math.hypot(p.x - centre.x, p.y - centre.y)];
    }
    return best;
  };
  const radii = Array.from({ length: 72 }, (_, k) => radiusAt((k / 72) * 2 * Math.PI - Math.PI));
  const rings = RINGS.length - 1;
  const noise = new Array<number>(rings).fill(0);
  const gradient = new Array<number>(rings).fill(0);
  const counts = new Array<number>(rings).fill(0);
  for (let y = 1; y < CROP - 1; y++) {
    for (let x = 1; x < CROP - 1; x++) {
      const angle = Math.atan2(y - centre.y, x - centre.x);
      const radius = radii[Math.min(71, Math.floor(((angle + Math.PI) / (2 * Math.PI)) * 72))];
      const r = Math.hypot(x - centre.x, y - centre.y) / radius;
      let ring = -1;
      for (let k = 0; k < rings; k++) {
        if (r >= RINGS[k] && r < RINGS[k + 1]) {
          ring = k;
          break;
        }
      }
      if (ring < 0) continue;
      const i = y * CROP + x;
      noise[ring] += residual[i] ** 2;
      gradient[ring] += Math.hypot(image[i + 1] - image[i - 1], image[i + CROP] - image[i - CROP]);
      counts[ring]++;
    }
  }
  return [
    ...noise.map((n, k) => 0.5 * Math.log(n / Math.max(1, counts[k]) + 1e-3)),
    ...gradient.map((g, k) => Math.log(g / Math.max(1, counts[k]) + 1e-3)),
  ];
}

/** Edge sharpness across the face outline: the steepest step along each outline normal, and its spread. */
function contourSharpness(image: Grey, outline: Point[]): number[] {
  const centre = meanPoint(outline);
  const steps = outline.map((p) => {
    const length = Math.hypot(p.x - centre.x, p.y - centre.y) || 1;
    const [nx, ny] = [(p.x - centre.x) / length, (p.y - centre.y) / length];
    let steepest = 0;
    for (let t = -12; t <= 12; t++) {
      const at = (s: number) => {
        const x = Math.min(CROP - 1, Math.max(0, Math.round(p.x + nx * s)));
        const y = Math.min(CROP - 1, Math.max(0, Math.round(p.y + ny * s)));
        return image[y * CROP + x];
      };
      steepest = Math.max(steepest, Math.abs(at(t + 1) - at(t - 1)));
    }
    return steepest;
  });
  const mean = steps.reduce((s, v) => s + v, 0) / steps.length;
  const sd = Math.sqrt(steps.reduce((s, v) => s + (v - mean) ** 2, 0) / steps.length);
  return [Math.log(mean + 1), Math.log(sd + 1), Math.log(Math.max(...steps) + 1)];
}

/**
 * The S-MAD feature vector of one face: the face cut upright at a fixed scale from the photo, then LBP
 * histograms per region, frequency-band energies, noise-residual and gradient levels per ring of the
 * face outline, and edge sharpness along the outline. Needs the mesh's face outline (`features.oval`).
 */
export function faceTextureFeatures(picture: Picture, geometry: FaceGeometry): Float64Array {
  const oval = geometry.features?.oval;
  if (!oval) throw new Error('S-MAD needs the face outline from a face-mesh landmark model');
  const toCrop = estimateSimilarity(geometry.five, REFERENCE);
  const crop = picture.sample(invertAffine(toCrop), CROP, CROP);
  const image = Float32Array.from(toGrey(crop));
  const outline = oval.map((p) => applyAffine(toCrop, p));
  const codes = lbpCodes(image);
  const { x0, y0, x1, y1 } = INNER_FACE;
  const cellW = (x1 - x0) / GRID;
  const cellH = (y1 - y0) / GRID;
  const histograms: number[] = [];
  for (let gy = 0; gy < GRID; gy++) {
    for (let gx = 0; gx < GRID; gx++) {
      histograms.push(...lbpHistogram(codes, Math.round(x0 + gx * cellW), Math.round(y0 + gy * cellH), Math.round(x0 + (gx + 1) * cellW), Math.round(y0 + (gy + 1) * cellH)));
    }
  }
  histograms.push(...lbpHistogram(codes, x0, y0, x1, y1));
  return Float64Array.from([...histograms, ...bandEnergies(image), ...ringStatistics(image, outline), ...contourSharpness(image, outline)]);
}
