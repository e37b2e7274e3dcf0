import type { MeshFeatures, FaceGeometry } from '../../pipeline/face-geometry.ts';
import type { FaceBox, RgbImage } from '../../pipeline/types.ts';
import type { PhotoRegions } from './regions.ts';

/** Everything a photo measure may read: one geometry pass plus the pixels. */
export interface MeasureInput {
  /** the photo, upright */
  image: RgbImage;
  geometry: FaceGeometry;
  /** the mesh's features (compliance needs the 468-point mesh bundle) */
  features: MeshFeatures;
  /** the face as the recognition model sees it: 112×112, eyes at fixed places (ARCFACE_REFERENCE_112) */
  aligned: RgbImage;
  /** each eye's open probability from the eye-state model (absent without one) */
  eyesOpen?: [number, number];
  /** other faces in the photo, largest first */
  otherFaces: FaceBox[];
  /** head outline and background samples, built once for the measures that need them */
  regions: PhotoRegions;
}

/** A raw value in the measure's own unit and how good it is, 0 (unusable) – 100 (ideal). */
export interface Measurement {
  value: number;
  score: number;
}

/** One measure module: computes one or more named measurements. */
export type Measure = (input: MeasureInput) => Record<string, Measurement>;

/** 0 at `zeroAt`, 100 at `hundredAt`, linear between, clamped; either direction. */
export function rampScore(value: number, zeroAt: number, hundredAt: number): number {
  return Math.round(100 * Math.min(1, Math.max(0, (value - zeroAt) / (hundredAt - zeroAt))));
}

/** 100 inside [lowIdeal, highIdeal], falling linearly to 0 at lowZero and highZero. */
export function bandScore(value: number, lowZero: number, lowIdeal: number, highIdeal: number, highZero: number): number {
  return value < lowIdeal ? rampScore(value, lowZero, lowIdeal) : rampScore(value, highZero, highIdeal);
}
