import { describe, expect, it } from 'vitest';
import { LogisticModel } from './logistic.ts';
import { templatePairFeatureCount, templatePairFeatures } from './template-pair.ts';

describe('templatePairFeatures', () => {
  it('gives |a − b|, a ⊙ b and the cosine, the same whichever template comes first', () => {
    const a = Float32Array.from([0.6, 0.8, 0]);
    const b = Float32Array.from([0, 0.6, 0.8]);
    const features = templatePairFeatures(a, b);
    expect(features).toHaveLength(templatePairFeatureCount(3));
    expect([...features].map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.2, 0.8, 0, 0.48, 0, 0.48]);
    expect(templatePairFeatures(b, a)).toEqual(features);
  });
});

describe('LogisticModel', () => {
  it('standardises, weighs and squashes; refuses a feature vector of the wrong length', () => {
    const model = new LogisticModel({ mean: [1, 0], scale: [2, 1], weights: [2, -1], bias: 0.5 });
    // z = 0.5 + 2·(3 − 1)/2 − 1·1 = 1.5
    expect(model.probability([3, 1])).toBeCloseTo(1 / (1 + Math.exp(-1.5)), 12);
    expect(() => model.probability([1])).toThrow(/takes 2 features/);
  });
});
