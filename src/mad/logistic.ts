import { z } from 'zod';

/** A trained logistic regression over standardised features, as stored in models/mad.json. */
export const logisticSchema = z
  .object({
    /** per feature: subtracted, then divided by `scale`, before the weights apply */
    mean: z.array(z.number()),
    scale: z.array(z.number().positive()),
    weights: z.array(z.number()),
    bias: z.number(),
  })
  .strict()
  .refine((m) => m.mean.length === m.weights.length && m.scale.length === m.weights.length, 'mean, scale and weights must have one entry per feature');

export type LogisticWeights = z.infer<typeof logisticSchema>;

export class LogisticModel {
  constructor(private readonly weights: LogisticWeights) {}

  get featureCount(): number {
    return this.weights.weights.length;
  }

  /** probability of the positive class (here: a morph), 0–1 */
  probability(features: ArrayLike<number>): number {
    const { mean, scale, weights, bias } = this.weights;
    if (features.length !== weights.length) throw new Error(`the model takes ${weights.length} features, got ${features.length}`);
    let z = bias;
    for (let i = 0; i < weights.length; i++) z += ((features[i] - mean[i]) / scale[i]) * weights[i];
    return 1 / (1 + Math.exp(-z));
  }
}
