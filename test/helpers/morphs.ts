import { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import { FACE_OVAL } from '../../src/pipeline/models/face-mesh.ts';
import { landmarkedPhoto } from '../../tools/morph/landmarked.ts';
import { morph, type MorphVariant } from '../../tools/morph/morph.ts';
import { postProcess, type PostProcess } from '../../tools/morph/post-process.ts';
import { seededRandom } from '../../tools/seeded-random.ts';
import { fixture } from './fixtures.ts';

/**
 * A morph of two fixture faces made as `npm run morphs` makes them (mesh landmarks, averaged shape,
 * per-triangle warp, blend), saved as a document portrait: digital (resized, JPEG-recompressed; the
 * default) or print-scan.
 */
export async function fixtureMorph(
  pipeline: FacePipeline,
  first: string,
  second: string,
  options: { alpha: number; variant: MorphVariant; post?: PostProcess; seed?: number },
): Promise<Buffer> {
  const [a, b] = await Promise.all([first, second].map(async (file) => landmarkedPhoto(pipeline, fixture(file), file)));
  const morphed = morph(a, b, { alpha: options.alpha, variant: options.variant, oval: FACE_OVAL });
  return postProcess(morphed, options.post ?? 'digital', seededRandom(options.seed ?? 1));
}
