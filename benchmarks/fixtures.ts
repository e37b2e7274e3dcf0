// Shared by the benchmark scripts: where the fixtures are and how to list them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const FIXTURES_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures');
export const MODELS_DIR = join(PROJECT_ROOT, 'models');
export const RESULTS_DIR = join(PROJECT_ROOT, 'benchmarks', 'results');

export interface FixtureImage {
  /** path relative to the fixtures directory, e.g. faces/london_001/1.jpg */
  name: string;
  bytes: Uint8Array;
}

/** every image below `folder` (relative to the fixtures directory), sorted, labels.csv left out */
export function fixtureImages(folder: string): FixtureImage[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? walk(join(dir, entry)) : [join(dir, entry)]));
  return walk(join(FIXTURES_DIR, folder))
    .filter((path) => !path.endsWith('.csv'))
    .map((path) => ({ name: relative(FIXTURES_DIR, path), bytes: new Uint8Array(readFileSync(path)) }));
}

/** faces/<identity>/<file> → identity */
export const identityOf = (name: string) => name.split('/')[1];

export interface Summary {
  count: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  percentiles: Record<string, number>;
}

export function summarise(values: readonly number[], percentiles = [1, 5, 25, 50, 75, 95, 99]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / count;
  const sd = Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, count - 1));
  const at = (p: number) => sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))];
  return { count, mean, sd, min: sorted[0], max: sorted[count - 1], percentiles: Object.fromEntries(percentiles.map((p) => [`p${p}`, at(p)])) };
}

export const round = (value: number, digits = 4) => Number(value.toFixed(digits));
