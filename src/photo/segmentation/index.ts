import type { PipelineConfig } from '../../pipeline/config.ts';
import { loadModelManifest } from '../../pipeline/model-manifest.ts';
import { loadModel } from '../../pipeline/models/registry.ts';
import type { PersonSegmenter } from './person-mask.ts';

export { replaceBackground } from './background.ts';
export { hairTop, type PersonMask, type PersonSegmenter } from './person-mask.ts';

/**
 * Opens the bundle's `segmentation` model (config `pipeline.manifest`, `pipeline.intraOpThreads`). ONNX
 * inference blocks its thread: call it inside a worker, as the pipeline does.
 */
export async function loadPersonSegmenter(modelsDir: string, config: PipelineConfig): Promise<PersonSegmenter> {
  const manifest = loadModelManifest(modelsDir, config.manifest, ['segmentation']);
  const entry = manifest.roles.segmentation;
  if (!entry) throw new Error(`models/${manifest.file} has no segmentation model; background replacement needs one (run \`npm run setup\`)`);
  return loadModel('segmentation', entry, manifest, config);
}
