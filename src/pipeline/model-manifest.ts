import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const MODEL_ROLES = ['detection', 'landmarks', 'recognition', 'pad', 'pose', 'eyes', 'mad', 'segmentation', 'text', 'portrait', 'portrait_zone'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];
/** every role but `mad`, whose weights are a small JSON file (src/mad/), is an ONNX network */
export type OnnxRole = Exclude<ModelRole, 'mad'>;

/** Roles the pipeline cannot run without; the others switch their stage off when absent. */
const REQUIRED_ROLES: readonly ModelRole[] = ['detection', 'landmarks', 'recognition'];

const FIX_HINT = 'run `npm run setup` to fetch the model bundle, or fix models/manifest.json';

/**
 * Cosine → API score, as knots of a piecewise-linear map. Written by `npm run calibrate`;
 * the knot at score 0.45 (the contract's default threshold) is the calibrated operating point.
 */
const scoreCalibrationSchema = z
  .object({
    knots: z
      .array(z.tuple([z.number().min(-1).max(1), z.number().min(0).max(1)]))
      .min(2)
      .refine((k) => k[0][0] === -1 && k[0][1] === 0 && k.at(-1)![0] === 1 && k.at(-1)![1] === 1, 'knots must start at [-1, 0] and end at [1, 1]')
      .refine((k) => k.every((knot, i) => i === 0 || (knot[0] > k[i - 1][0] && knot[1] > k[i - 1][1])), 'knots must increase strictly in cosine and in score'),
    /** how the operating point was found, for people reading the manifest */
    operating_point: z.object({ fmr: z.number(), cosine: z.number(), score: z.number() }).passthrough().optional(),
  })
  .passthrough();

export type ScoreCalibration = z.infer<typeof scoreCalibrationSchema>;

const modelEntrySchema = z
  .object({
    role: z.enum(MODEL_ROLES),
    kind: z.string().min(1),
    file: z.string().min(1).regex(/^[^/\\]+$/, 'a file name inside the models directory'),
    model_id: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** −1 for a dimension the model leaves free (a fully convolutional network takes any size) */
    input_shape: z.array(z.number().int().refine((d) => d > 0 || d === -1, 'a positive size, or −1 for a free one')),
    score_calibration: scoreCalibrationSchema.optional(),
    /**
     * recognition only: a detection whose raw embedding is shorter than this is not a face (ArcFace-style
     * models give animals, flowers and patterns short embeddings); absent = no such check
     */
    min_embedding_norm: z.number().positive().optional(),
  })
  .passthrough();

export type ModelEntry = z.infer<typeof modelEntrySchema>;

const manifestSchema = z
  .object({
    bundle: z.string().min(1),
    models: z.array(modelEntrySchema).min(1),
  })
  .passthrough()
  .refine((m) => new Set(m.models.map((e) => e.role)).size === m.models.length, 'each role may appear only once');

export interface ModelManifest {
  bundle: string;
  modelsDir: string;
  /** the manifest's file name in modelsDir */
  file: string;
  /** entries by role; optional roles may be missing */
  roles: Partial<Record<ModelRole, ModelEntry>>;
  recognition: ModelEntry;
  /** the recognition model's id: templates from different ids must never be compared */
  modelId: string;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The bundle the server uses unless `pipeline.manifest` names another. */
export const DEFAULT_MANIFEST = 'manifest.json';

/**
 * Reads and validates `<modelsDir>/<file>` (the bundle's manifest) and checks the model files of the
 * roles in `check` (all by default) against their sha256. The server's start checks all; a worker
 * checks only what it opens, so the 88 MB segmentation model is not hashed again by every pipeline
 * worker. Synchronous on purpose: it runs once at start, before anything is served. Throws an Error
 * that names the file, what is wrong and how to fix it.
 */
export function loadModelManifest(modelsDir: string, file = DEFAULT_MANIFEST, check: readonly ModelRole[] = MODEL_ROLES): ModelManifest {
  const manifestPath = join(modelsDir, file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new Error(`model manifest ${manifestPath} cannot be read: ${(error as Error).message}; ${FIX_HINT}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`model manifest ${manifestPath} is invalid (${problems}); ${FIX_HINT}`);
  }
  const roles: Partial<Record<ModelRole, ModelEntry>> = {};
  for (const entry of parsed.data.models) {
    roles[entry.role] = entry;
    if (!check.includes(entry.role)) continue;
    const path = join(modelsDir, entry.file);
    if (!existsSync(path)) throw new Error(`model file ${path} (${entry.role}) is missing; ${FIX_HINT}`);
    const actual = sha256File(path);
    if (actual !== entry.sha256) {
      throw new Error(`model file ${path} (${entry.role}) has sha256 ${actual}, manifest expects ${entry.sha256}; ${FIX_HINT}`);
    }
  }
  const missing = REQUIRED_ROLES.filter((role) => !roles[role]);
  if (missing.length > 0) throw new Error(`model manifest ${manifestPath} has no ${missing.join(', ')} model; ${FIX_HINT}`);
  const recognition = roles.recognition!;
  return { bundle: parsed.data.bundle, modelsDir, file, roles, recognition, modelId: recognition.model_id };
}
