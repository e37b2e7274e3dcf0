import { describe, expect, it } from 'vitest';
import { loadModelManifest } from './model-manifest.ts';
import { cosineForScore, createScoreMapper } from './score.ts';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../config/config.ts';

const recognition = loadModelManifest(resolve(PROJECT_ROOT, 'models')).recognition;

describe('score mapping', () => {
  const toScore = createScoreMapper(recognition);

  it('puts the calibrated operating point at the default threshold 0.45', () => {
    expect(toScore(recognition.score_calibration!.operating_point!.cosine)).toBeCloseTo(0.45, 9);
  });

  it('is monotonic and stays within 0–1', () => {
    const scores = Array.from({ length: 401 }, (_, i) => toScore(-1.2 + i * 0.006));
    expect(scores.every((s, i) => s >= 0 && s <= 1 && (i === 0 || s >= scores[i - 1]))).toBe(true);
    expect(toScore(-1)).toBe(0);
    expect(toScore(1)).toBe(1);
  });

  it('inverts', () => {
    for (const score of [0.1, 0.3, 0.45, 0.7, 0.95]) expect(toScore(cosineForScore(recognition, score))).toBeCloseTo(score, 9);
  });

  it('falls back to the clamped cosine for an uncalibrated model', () => {
    const raw = createScoreMapper({ ...recognition, score_calibration: undefined });
    expect(raw(0.37)).toBe(0.37);
    expect(raw(-0.2)).toBe(0);
  });
});
