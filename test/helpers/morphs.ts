import { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import { FACE_OVAL } from '../../src/pipeline/models/face-mesh.ts';
import { landmarkedPhoto } from '../../tools/morph/landmarked.ts';
import { morph, type MorphVariant } from '../../tools/morph/morph.ts';
import { postProcess } from '../../tools/morph/post-process.ts';
import { seededRandom } from '../../tools/seeded-random.ts';
import { fixture } from './fixtures.ts';

/**
 * A morph of two fixture faces made as `npm run morphs` makes them (mesh landmarks, averaged shape,
 * per-triangle warp, blend), saved as a digital document portrait (resized, JPEG-recompressed).
 */
export async function fixtureMorph(pipeline: FacePipeline, first: string, second: string, options: { alpha: number; variant: MorphVariant; seed?: number }): Promise<Buffer> {
  const [a, b] = await Promise.all([first, second].map(async (file) => landmarkedPhoto(pipeline, fixture(file), file)));
  const morphed = morph(a, b, { alpha: options.alpha, variant: options.variant, oval: FACE_OVAL });
  return postProcess(morphed, 'digital', seededRandom(options.seed ?? 1));
}
