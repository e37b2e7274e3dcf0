import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { DEFAULT_PARTITION, PARTITION_NAME_PATTERN } from '../gallery/gallery.ts';

export interface MatchingDefaults {
  defaultThreshold: number;
  defaultTopK: number;
  maxTopK: number;
}

// XML 1.0 cannot carry C0 controls (other than tab/newline/CR, which no id needs either), DEL and
// C1 controls, nor lone surrogates; an id we could not echo back is refused on the way in.
const SUBJECT_ID_PATTERN = /^[^\p{Cc}\p{Cs}\uFFFE\uFFFF]+$/u;
export const MAX_SUBJECT_ID_LENGTH = 256;

const subjectId = z
  .string({ error: 'subject_id must be a string' })
  .min(1, 'subject_id must not be empty')
  .max(MAX_SUBJECT_ID_LENGTH, `subject_id must be at most ${MAX_SUBJECT_ID_LENGTH} characters`)
  .regex(SUBJECT_ID_PATTERN, 'subject_id must not contain control characters');

const partition = z
  .string({ error: 'partition must be a string' })
  .regex(PARTITION_NAME_PATTERN, 'partition must be 1–64 characters of A–Z, a–z, 0–9, _ or -')
  .default(DEFAULT_PARTITION);

const threshold = (fallback: number) =>
  z.number({ error: 'threshold must be a number' }).min(0, 'threshold must be between 0 and 1').max(1, 'threshold must be between 0 and 1').default(fallback);

export function metadataSchemas(defaults: MatchingDefaults) {
  return {
    search: z.strictObject({
      partition,
      top_k: z
        .number({ error: 'top_k must be an integer' })
        .int('top_k must be an integer')
        .min(1, 'top_k must be at least 1')
        .max(defaults.maxTopK, `top_k must be at most ${defaults.maxTopK}`)
        .default(defaults.defaultTopK),
      threshold: threshold(defaults.defaultThreshold),
    }),
    verify: z.strictObject({ subject_id: subjectId, partition, threshold: threshold(defaults.defaultThreshold) }),
    enrol: z.strictObject({ subject_id: subjectId, partition }),
    delete: z.strictObject({ subject_id: subjectId, partition }),
  };
}

export type MetadataSchemas = ReturnType<typeof metadataSchemas>;
export type SearchMetadata = z.infer<MetadataSchemas['search']>;
export type VerifyMetadata = z.infer<MetadataSchemas['verify']>;
export type EnrolMetadata = z.infer<MetadataSchemas['enrol']>;
export type DeleteMetadata = z.infer<MetadataSchemas['delete']>;

/** Parses a metadata JSON text (or an already-parsed JSON body) once, at the boundary. */
export function parseMetadata<S extends z.ZodType>(schema: S, input: string | unknown | undefined): z.infer<S> {
  let value: unknown = input ?? {};
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new ApiError('invalid_metadata', 'metadata is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('invalid_metadata', 'metadata must be a JSON object');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const message = issue.code === 'unrecognized_keys' ? `unknown metadata field(s): ${issue.keys.join(', ')}` : issue.message;
    throw new ApiError('invalid_metadata', message, issue.path.length ? { field: issue.path.join('.') } : {});
  }
  return result.data;
}
