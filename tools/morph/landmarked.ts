import type { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import type { LandmarkedPhoto } from './morph.ts';

/** The photo upright, with the pipeline's face mesh points; throws when the pipeline finds no face (a fixture must show one). */
export async function landmarkedPhoto(pipeline: FacePipeline, bytes: Uint8Array, name: string): Promise<LandmarkedPhoto> {
  const { picture, subject } = await pipeline.examine(bytes);
  if (!subject) throw new Error(`${name}: no face found to morph`);
  return { image: picture.image, points: subject.geometry.points };
}
