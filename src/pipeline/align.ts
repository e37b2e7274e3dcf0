import { estimateSimilarity, invertAffine, toCentreConvention } from './geometry.ts';
import type { RecognitionModel } from './models/roles.ts';
import type { Picture } from './picture.ts';
import type { FivePoints, RgbImage } from './types.ts';

/** ArcFace's 112×112 template for left eye, right eye, nose tip, left and right mouth corner (OpenCV pixel centres). */
export const ARCFACE_REFERENCE_112: FivePoints = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/**
 * Warps the face so its five points land, in the least-squares sense, on the recognition model's
 * reference points under a similarity (no shear: the face keeps its proportions). Outside the photo
 * is black, as with cv2.warpAffine in the ArcFace training pipeline.
 */
export function alignFace(picture: Picture, five: FivePoints, alignment: RecognitionModel['alignment']): RgbImage {
  const toAligned = estimateSimilarity(toCentreConvention(five), alignment.reference);
  return picture.sample(invertAffine(toAligned), alignment.width, alignment.height, 0);
}
