import type { Template } from '../pipeline/types.ts';

/**
 * The feature sets D-MAD can be trained on, by the name models/mad.json records. `npm run train:mad`
 * tries each and keeps the one that cross-validates best on the training identities.
 */
export const TEMPLATE_PAIR_FEATURES = ['template-cosine-v1', 'template-pair-v1'] as const;
export type TemplatePairFeatureSet = (typeof TEMPLATE_PAIR_FEATURES)[number];

/** how many numbers `templatePairFeatures` returns for templates of `dimensions` */
export function templatePairFeatureCount(set: TemplatePairFeatureSet, dimensions: number): number {
  return set === 'template-cosine-v1' ? 1 : 2 * dimensions + 1;
}

/**
 * D-MAD features of two L2-normalised templates, symmetric in a and b (it does not matter which photo
 * is the trusted one). A morph sits between its contributors: closer to the live face than a stranger,
 * but further, and along different dimensions, than a second photo of the same person.
 * - `template-cosine-v1`: their cosine alone;
 * - `template-pair-v1`: |a − b| and a ⊙ b per dimension, and their cosine.
 */
export function templatePairFeatures(set: TemplatePairFeatureSet, a: Template, b: Template): Float64Array {
  if (a.length !== b.length) throw new Error(`templates differ in length: ${a.length} and ${b.length}`);
  const n = a.length;
  const out = new Float64Array(templatePairFeatureCount(set, n));
  let cosine = 0;
  for (let i = 0; i < n; i++) cosine += a[i] * b[i];
  out[out.length - 1] = cosine;
  if (set === 'template-pair-v1') {
    for (let i = 0; i < n; i++) {
      out[i] = Math.abs(a[i] - b[i]);
      out[n + i] = a[i] * b[i];
    }
  }
  return out;
}
