import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ModelManifest } from '../pipeline/model-manifest.ts';
import { FACE_TEXTURE_FEATURES } from './face-texture.ts';
import type { PairModel } from './differential-mad.ts';
import { LogisticModel, logisticSchema } from './logistic.ts';
import { TEMPLATE_PAIR_FEATURES } from './template-pair.ts';

/** the manifest `kind` of the MAD weights file that `npm run train:mad` writes */
export const MAD_MODEL_KIND = 'logistic-mad-v1';

const madFileSchema = z
  .object({
    kind: z.literal(MAD_MODEL_KIND),
    /** single-image MAD: logistic regression over `faceTextureFeatures` */
    s_mad: z.object({ features: z.literal('face-texture-v1'), model: logisticSchema }).strict(),
    /** differential MAD: logistic regression over `templatePairFeatures` of this recognition model's templates */
    d_mad: z.object({ features: z.enum(TEMPLATE_PAIR_FEATURES), recognition_model_id: z.string().min(1), model: logisticSchema }).strict(),
  })
  // how and on what the weights were trained, for people reading the file
  .passthrough();

export type MadFile = z.infer<typeof madFileSchema>;

export interface MorphModels {
  single: LogisticModel;
  /** absent when the bundle's recognition model is not the one D-MAD was trained on */
  differential?: PairModel;
}

/**
 * The bundle's MAD weights (its `mad` role), or undefined when the bundle has none. The manifest has
 * already checked the file's sha256; this checks it is the kind and shape this server reads.
 */
export function loadMorphModels(manifest: ModelManifest): MorphModels | undefined {
  const entry = manifest.roles.mad;
  if (!entry) return undefined;
  const where = `models/${manifest.file}: mad model ${entry.file}`;
  if (entry.kind !== MAD_MODEL_KIND) throw new Error(`${where} has kind "${entry.kind}", which this server does not know (known: ${MAD_MODEL_KIND})`);
  const parsed = madFileSchema.safeParse(JSON.parse(readFileSync(join(manifest.modelsDir, entry.file), 'utf8')));
  if (!parsed.success) throw new Error(`${where} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const single = new LogisticModel(parsed.data.s_mad.model);
  if (single.featureCount !== FACE_TEXTURE_FEATURES || entry.input_shape.join() !== String(FACE_TEXTURE_FEATURES)) {
    throw new Error(`${where} takes ${single.featureCount} features (input_shape [${entry.input_shape}]); this server measures ${FACE_TEXTURE_FEATURES}`);
  }
  const { d_mad } = parsed.data;
  return { single, differential: d_mad.recognition_model_id === manifest.modelId ? { features: d_mad.features, model: new LogisticModel(d_mad.model) } : undefined };
}
