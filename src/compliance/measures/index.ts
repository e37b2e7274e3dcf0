import type { ExaminedPhoto } from '../../pipeline/face-pipeline.ts';
import { ApiError } from '../../errors.ts';
import { background } from './background.ts';
import { brightness } from './brightness.ts';
import { expression } from './expression.ts';
import { eyeglasses } from './eyeglasses.ts';
import { eyesOpen } from './eyes-open.ts';
import { faceCount } from './face-count.ts';
import { faceSize } from './face-size.ts';
import { headCovering } from './head-covering.ts';
import { headFrame } from './head-frame.ts';
import { lightBalance } from './light-balance.ts';
import type { Measure, Measurement } from './measure.ts';
import { mouthClosed } from './mouth.ts';
import { occlusion } from './occlusion.ts';
import { pose } from './pose.ts';
import { photoRegions } from './regions.ts';
import { shadowBehindHead } from './shadow.ts';
import { sharpness } from './sharpness.ts';
import { skinTone } from './skin-tone.ts';

export type { Measurement } from './measure.ts';

/** Every measurement name the measures below produce: what a profile's check may refer to. */
export const MEASUREMENT_NAMES = [
  'face_count', 'second_face_ratio', 'inter_eye_px', 'yaw', 'pitch', 'roll', 'eye_opening', 'eye_open_probability', 'lip_opening', 'smile', 'mouth_width',
  'mouth_corner_lift', 'laplacian_variance', 'face_luminance', 'face_contrast', 'light_imbalance', 'skin_hue', 'skin_chroma',
  'background_texture', 'background_colour_deviation', 'background_lightness', 'shadow_darkening', 'head_height_ratio',
  'eye_line_ratio', 'bottom_margin', 'left_margin', 'right_margin', 'eye_band_brightness', 'crown_chroma', 'lower_face_difference',
] as const;
export type MeasurementName = (typeof MEASUREMENT_NAMES)[number];

const MEASURES: readonly Measure[] = [
  faceCount, faceSize, pose, eyesOpen, mouthClosed, expression, sharpness, brightness, lightBalance, skinTone,
  background, shadowBehindHead, headFrame, eyeglasses, headCovering, occlusion,
];

/** Where the subject's face is, photo coordinates; angles in degrees. */
export interface FaceSummary {
  box: { x1: number; y1: number; x2: number; y2: number; score: number };
  eyes: [{ x: number; y: number }, { x: number; y: number }];
  chin: { x: number; y: number };
  crown: { x: number; y: number };
  yaw: number;
  pitch: number;
  roll: number;
}

/** What a photo check sends back from the worker: numbers and points only, never pixels. */
export interface PhotoMeasurements {
  /** by measurement name; empty when no face was found, and without those whose model is not loaded */
  measurements: Record<string, Measurement>;
  /** absent when no face was found */
  face?: FaceSummary;
  /** the photo as judged: upright, so width and height are swapped when it was turned a quarter */
  image: { width: number; height: number; quarterTurns: number };
  timings: Record<string, number>;
}

/** Every measure, from one geometry pass; runs in a pipeline worker. */
export function measurePhoto(examined: ExaminedPhoto): PhotoMeasurements {
  const { picture, subject, otherFaces, turns } = examined;
  const image = { width: picture.width, height: picture.height, quarterTurns: turns };
  if (!subject) return { measurements: {}, image, timings: examined.timings };
  const { geometry, aligned, eyesOpen } = subject;
  const features = geometry.features;
  if (!features) throw new ApiError('internal_error', 'photo checks need a model bundle with the 468-point face mesh');
  const started = performance.now();
  const regions = photoRegions(picture, features);
  const input = { image: picture.image, geometry, features, aligned, eyesOpen, otherFaces, regions };
  const measurements = Object.assign({}, ...MEASURES.map((measure) => measure(input))) as Record<string, Measurement>;
  const { x1, y1, x2, y2, score } = geometry.box;
  return {
    measurements,
    face: {
      box: { x1, y1, x2, y2, score },
      eyes: [geometry.eyes[0].centre, geometry.eyes[1].centre],
      chin: features.chin,
      crown: features.crown,
      yaw: geometry.pose?.yaw ?? 0,
      pitch: geometry.pose?.pitch ?? 0,
      roll: geometry.roll,
    },
    image,
    timings: { ...examined.timings, measures: performance.now() - started },
  };
}
