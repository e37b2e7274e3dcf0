import type { Ramp } from '../config.ts';
import type { FaceGeometry } from '../face-geometry.ts';
import type { Picture } from '../picture.ts';
import type { RgbImage } from '../types.ts';

/** What the quality components may look at; each uses what it needs. */
export interface QualityInput {
  picture: Picture;
  geometry: FaceGeometry;
  /** the face as the recognition model sees it */
  aligned: RgbImage;
}

export interface ComponentResult {
  /** 0–1 */
  score: number;
  /** the raw values behind the score, by name, for calibration and logs */
  measurements: Record<string, number>;
}

/** One OFIQ-style quality measure: measures something and maps it to 0–1. */
export type QualityComponent = (input: QualityInput) => Promise<ComponentResult>;

/** 0 at or beyond `zeroAt`, 1 at or beyond `oneAt`, linear between; either direction. */
export function rampScore(value: number, ramp: Ramp): number {
  return Math.min(1, Math.max(0, (value - ramp.zeroAt) / (ramp.oneAt - ramp.zeroAt)));
}
