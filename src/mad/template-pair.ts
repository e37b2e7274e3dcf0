import type { Template } from '../pipeline/types.ts';

/** how many numbers `templatePairFeatures` returns for templates of `dimensions` */
export const templatePairFeatureCount = (dimensions: number) => 2 * dimensions + 1;

/**
 * D-MAD features of two L2-normalised templates: |a − b| and a ⊙ b per dimension, and their cosine.
 * Symmetric in a and b, so it does not matter which photo is the trusted one. A morph sits between
 * its contributors: closer to the live face than a stranger, but further, and along different
 * dimensions, than a second photo of the same person.
 */
export function templatePairFeatures(a: Template, b: Template): Float64Array {
  if (a.length !== b.length) throw new Error(`templates differ in length: ${a.length} and ${b.length}`);
  const n = a.length;
  const out = new Float64Array(templatePairFeatureCount(n));
  let cosine = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.abs(a[i] - b[i]);
    out[n + i] = a[i] * b[i];
    cosine += a[i] * b[i];
  }
  out[2 * n] = cosine;
  return out;
}
