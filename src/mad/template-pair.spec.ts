import { describe, expect, it } from 'vitest';
import { LogisticModel } from './logistic.ts';
import { templatePairFeatureCount, templatePairFeatures } from './template-pair.ts';

describe('templatePairFeatures', () => {
  const a = Float32Array.from([0.6, 0.8, 0]);
  const b = Float32Array.from([0, 0.6, 0.8]);
  it('template-pair-v1: |a − b|, a ⊙ b and the cosine, the same whichever template comes first', () => {
    const features = templatePairFeatures('template-pair-v1', a, b);
    expect(features).toHaveLength(templatePairFeatureCount('template-pair-v1', 3));
    expect([...features].map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.2, 0.8, 0, 0.48, 0, 0.48]);
    expect(templatePairFeatures('template-pair-v1', b, a)).toEqual(features);
  });

  it('template-cosine-v1: the cosine alone', () => {
    expect(templatePairFeatureCount('template-cosine-v1', 3)).toBe(1);
    expect([...templatePairFeatures('template-cosine-v1', a, b)].map((v) => Number(v.toFixed(6)))).toEqual([0.48]);
    expect(() => templatePairFeatures('template-cosine-v1', a, Float32Array.from([1, 0]))).toThrow(/differ in length/);
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
