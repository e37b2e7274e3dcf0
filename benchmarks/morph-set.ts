// The morphing-attack set `npm run morphs` writes and `npm run train:mad` reads.
import { join } from 'node:path';
import type { MorphVariant } from '../tools/morph/morph.ts';
import type { PostProcess } from '../tools/morph/post-process.ts';
import { PROJECT_ROOT } from './fixtures.ts';

export const MORPHS_DIR = join(PROJECT_ROOT, 'benchmarks', 'data', 'morphs');

export type Split = 'train' | 'test';

export interface SetImage {
  /** relative to MORPHS_DIR, or to the fixtures directory for originals (`post` = none) */
  file: string;
  label: 'bona_fide' | 'morph';
  split: Split;
  post: PostProcess | 'none';
  /** bona fide: the identity; morph: the two contributors */
  identities: string[];
  /** bona fide: the fixture photo; morph: the two contributors' photos */
  sources: string[];
  variant?: MorphVariant;
  alpha?: number;
}

