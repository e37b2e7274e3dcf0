import type { Rect } from './pixels.ts';

// Zones of the 112×112 aligned face (ARCFACE_REFERENCE_112: eyes at y≈52, nose tip y≈72, mouth y≈92),
// so every face is sampled at the same places whatever its size or roll in the photo.
export const ALIGNED_ZONES = {
  /** both eyes, brows to lower lids, across the nose bridge: where lenses and frames sit */
  eyeBand: { x0: 24, y0: 42, x1: 88, y1: 62 },
  cheeks: [
    { x0: 24, y0: 64, x1: 40, y1: 80 },
    { x0: 72, y0: 64, x1: 88, y1: 80 },
  ],
  /** beside and below the mouth: covered by a mask or a hand */
  lowerFace: [
    { x0: 26, y0: 82, x1: 40, y1: 98 },
    { x0: 72, y0: 82, x1: 86, y1: 98 },
    { x0: 44, y0: 100, x1: 68, y1: 110 },
  ],
  forehead: { x0: 40, y0: 14, x1: 72, y1: 32 },
  leftHalf: { x0: 20, y0: 30, x1: 56, y1: 104 },
  rightHalf: { x0: 56, y0: 30, x1: 92, y1: 104 },
} satisfies Record<string, Rect | Rect[]>;
