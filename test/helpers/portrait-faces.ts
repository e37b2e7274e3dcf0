import sharp from 'sharp';
import type { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import type { MeshFeatures } from '../../src/pipeline/face-geometry.ts';
import type { RgbImage } from '../../src/pipeline/types.ts';

/** A London portrait decoded, with the face mesh's features and the columns the face spans. */
export interface MeasuredPortrait {
  image: RgbImage;
  features: MeshFeatures;
  /** image-left and image-right edge of the mesh's face oval: the band hairTop searches */
  faceColumns: { from: number; to: number };
}

export async function measurePortrait(pipeline: FacePipeline, bytes: Uint8Array): Promise<MeasuredPortrait> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { data: new Uint8Array(data), width: info.width, height: info.height };
  const examined = await pipeline.examine(bytes);
  const features = examined.subject?.geometry.features;
  if (!features || examined.turns !== 0) throw new Error('the portrait shows no upright face with a mesh');
  const xs = features.oval.map((p) => p.x);
  return { image, features, faceColumns: { from: Math.min(...xs), to: Math.max(...xs) } };
}
