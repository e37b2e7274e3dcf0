import type { DetectionConfig } from '../config.ts';
import { withAspect, type Rect } from '../geometry.ts';
import type { Picture } from '../picture.ts';
import type { Detection } from '../types.ts';
import type { DetectOptions } from './roles.ts';

/** Tiles only help when the whole-image window is shrunk by more than this. */
const TILE_MIN_SHRINK = 2;

/** Tile windows are this much larger than an even split, so a face on a seam is whole in some tile. */
const TILE_OVERLAP = 1.5;

/** Runs the detector network on one window of the photo; faces in image coordinates. */
export type WindowDetector = (window: Rect) => Promise<Detection[]>;

/**
 * Where a fixed-input detector looks, shared by every detection kind: the whole photo, letterboxed
 * rather than stretched (faces keep their shape), with a border so a face that fills the frame still
 * has the context detectors are trained with; and when that finds nothing in a large photo, overlapping
 * tiles at higher resolution, because a small face in a big photo is a few input pixels in the whole
 * window. Returns every raw candidate, for the caller's own suppression of overlaps.
 */
export async function searchWindows(
  picture: Picture,
  input: { width: number; height: number },
  options: DetectionConfig,
  detectIn: WindowDetector,
  { tiles: useTiles = true }: DetectOptions = {},
): Promise<Detection[]> {
  const aspect = input.width / input.height;
  const { width, height } = picture;
  const border = options.margin * Math.max(width, height);
  const whole = withAspect({ x: -border, y: -border, width: width + 2 * border, height: height + 2 * border }, aspect);
  let candidates = await detectIn(whole);
  if (candidates.length === 0 && useTiles && options.tiles > 1 && whole.width / input.width > TILE_MIN_SHRINK) {
    for (const tile of tiles(width, height, options.tiles, aspect)) candidates = candidates.concat(await detectIn(tile));
  }
  return candidates;
}

function* tiles(width: number, height: number, n: number, aspect: number): Generator<Rect> {
  const tw = (width / n) * TILE_OVERLAP;
  const th = (height / n) * TILE_OVERLAP;
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const cx = ((col + 0.5) * width) / n;
      const cy = ((row + 0.5) * height) / n;
      yield withAspect({ x: cx - tw / 2, y: cy - th / 2, width: tw, height: th }, aspect);
    }
  }
}
