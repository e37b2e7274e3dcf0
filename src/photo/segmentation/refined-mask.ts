import { rectToOutput, type Rect } from '../../pipeline/geometry.ts';
import type { Picture } from '../../pipeline/picture.ts';
import type { RgbImage } from '../../pipeline/types.ts';
import { guidedCoefficients, resampleBilinear, type GuidedCoefficients } from './edge-refinement.ts';
import type { PersonMask } from './person-mask.ts';

// From a network's coarse person map to the photo's mask: every segmentation model kind ends here.

/**
 * The edge refinement's working grid: the region scaled so its long side is at most this. The guided
 * filter's coefficients vary slowly, so a finer grid would cost time without adding detail; the detail
 * comes from the full-resolution photo when they are applied.
 */
const WORKING_SIDE = 1024;
/** guided-filter window radius as a share of the working grid's long side: about a strand cluster */
const GUIDE_RADIUS_SHARE = 0.008;
/** guided-filter regularisation on 0–1 colour: edges fainter than about √eps are smoothed over */
const GUIDE_EPS = 1e-3;

/** `region` (edge coordinates) cut to whole pixels inside the image; the whole image when absent */
export function clippedRegion(image: RgbImage, region: Rect | undefined): Rect {
  if (!region) return { x: 0, y: 0, width: image.width, height: image.height };
  const x = Math.max(0, Math.floor(region.x));
  const y = Math.max(0, Math.floor(region.y));
  const right = Math.min(image.width, Math.ceil(region.x + region.width));
  const bottom = Math.min(image.height, Math.ceil(region.y + region.height));
  if (right <= x || bottom <= y) throw new Error('segmentation region lies outside the image');
  return { x, y, width: right - x, height: bottom - y };
}

/**
 * The person mask of `picture`'s photo from a network's coarse map (coarseWidth×coarseHeight, 0–1) of
 * `area`: resampled to the working grid, refined there by the colour guided filter with the photo as
 * guide, applied at full resolution; 0 outside `area`.
 */
export function refinedMask(picture: Picture, area: Rect, coarse: Float32Array, coarseWidth: number, coarseHeight: number): PersonMask {
  const scale = Math.min(1, WORKING_SIDE / Math.max(area.width, area.height));
  const width = Math.max(1, Math.round(area.width * scale));
  const height = Math.max(1, Math.round(area.height * scale));
  const working = resampleBilinear(coarse, coarseWidth, coarseHeight, width, height);
  const guide = picture.sample(rectToOutput(area, width, height), width, height);
  const radius = Math.max(1, Math.round(GUIDE_RADIUS_SHARE * Math.max(width, height)));
  return applyAtFullResolution(picture.image, area, guidedCoefficients(guide, working, radius, GUIDE_EPS), width, height);
}

/**
 * alpha = a·colour + b at every pixel of the region, with the coefficients interpolated from the working
 * grid one row at a time (four full-size coefficient rasters of a 12-megapixel photo would be 190 MB).
 */
function applyAtFullResolution(image: RgbImage, area: Rect, coefficients: GuidedCoefficients, width: number, height: number): PersonMask {
  const alpha = new Float32Array(image.width * image.height);
  const planes = [...coefficients.a, coefficients.b];
  const rows = planes.map(() => new Float32Array(width));
  const sx = width / area.width;
  const sy = height / area.height;
  const x0s = new Int32Array(area.width);
  const x1s = new Int32Array(area.width);
  const fxs = new Float32Array(area.width);
  for (let x = 0; x < area.width; x++) {
    const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(width - 1, x0s[x] + 1);
    fxs[x] = fx - x0s[x];
  }
  const [ar, ag, ab, bb] = rows;
  const s = image.data;
  for (let y = 0; y < area.height; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const wy = fy - y0;
    planes.forEach((plane, k) => {
      for (let x = 0; x < width; x++) rows[k][x] = plane[y0 * width + x] + (plane[y1 * width + x] - plane[y0 * width + x]) * wy;
    });
    let out = (area.y + y) * image.width + area.x;
    let j = out * 3;
    for (let x = 0; x < area.width; x++, out++, j += 3) {
      const x0 = x0s[x];
      const x1 = x1s[x];
      const fx = fxs[x];
      const value =
        ((ar[x0] + (ar[x1] - ar[x0]) * fx) * s[j] + (ag[x0] + (ag[x1] - ag[x0]) * fx) * s[j + 1] + (ab[x0] + (ab[x1] - ab[x0]) * fx) * s[j + 2]) / 255 +
        bb[x0] + (bb[x1] - bb[x0]) * fx;
      alpha[out] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
  return { width: image.width, height: image.height, alpha };
}
