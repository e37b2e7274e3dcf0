import type { MeshFeatures } from '../../pipeline/face-geometry.ts';
import { distance, meanPoint } from '../../pipeline/geometry.ts';
import type { Picture } from '../../pipeline/picture.ts';
import type { Point, RgbImage } from '../../pipeline/types.ts';

/** Longer side of the reduced copy the background measures sample: plenty for plain-or-not and its colour. */
const SAMPLE_SIDE = 192;
/**
 * The head ellipse reaches this much past the face outline sideways and past the estimated crown and
 * chin vertically: hair, ears and the estimate's error belong to the head, not the background.
 */
const HAIR_WIDTH = 1.45;
const HAIR_HEIGHT = 1.12;

/** An axis-aligned ellipse in photo coordinates. */
export interface Ellipse {
  centre: Point;
  /** horizontal and vertical semi-axes */
  rx: number;
  ry: number;
}

/**
 * Where the head is and which pixels are background. No segmentation model exists yet, so the
 * background is what lies outside an ellipse round the head (face outline widened for hair, reaching
 * up to the estimated crown) and above the chin line (below it: neck, shoulders, clothes).
 */
export interface PhotoRegions {
  head: Ellipse;
  /** face outline width at its widest, photo pixels */
  faceWidth: number;
  faceLeft: number;
  faceRight: number;
  /** chin to estimated crown, photo pixels */
  headHeight: number;
  /** the photo reduced to SAMPLE_SIDE on its longer side, and its scale (photo pixels per sample) */
  small: RgbImage;
  scale: number;
  /** whether each pixel of `small` is background */
  background: Uint8Array;
}

export function photoRegions(picture: Picture, features: MeshFeatures): PhotoRegions {
  const xs = features.oval.map((p) => p.x);
  const faceLeft = Math.min(...xs);
  const faceRight = Math.max(...xs);
  const faceWidth = faceRight - faceLeft;
  const headHeight = distance(features.chin, features.crown);
  const head: Ellipse = { centre: meanPoint([features.chin, features.crown]), rx: (faceWidth / 2) * HAIR_WIDTH, ry: (headHeight / 2) * HAIR_HEIGHT };

  const scale = Math.max(1, Math.max(picture.width, picture.height) / SAMPLE_SIDE);
  const width = Math.max(1, Math.round(picture.width / scale));
  const height = Math.max(1, Math.round(picture.height / scale));
  // output pixel centre u ↦ photo position scale·u + (scale − 1)/2
  const small = picture.sample([scale, 0, (scale - 1) / 2, 0, scale, (scale - 1) / 2], width, height);
  const background = new Uint8Array(width * height);
  for (let v = 0; v < height; v++) {
    const y = v * scale + (scale - 1) / 2;
    if (y >= features.chin.y) break;
    for (let u = 0; u < width; u++) {
      const x = u * scale + (scale - 1) / 2;
      background[v * width + u] = insideEllipse(head, { x, y }) ? 0 : 1;
    }
  }
  return { head, faceWidth, faceLeft, faceRight, headHeight, small, scale, background };
}

export function insideEllipse(e: Ellipse, p: Point): boolean {
  return ((p.x - e.centre.x) / e.rx) ** 2 + ((p.y - e.centre.y) / e.ry) ** 2 <= 1;
}
