import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { DEFAULT_PARTITION, PARTITION_NAME_PATTERN, TEMPLATE_SOURCES } from '../gallery/gallery.ts';

export interface MatchingDefaults {
  defaultThreshold: number;
  defaultTopK: number;
  maxTopK: number;
}

export const MAX_SUBJECT_ID_LENGTH = 256;

/**
 * The identifier policy (README "Identifiers"). One person must never be reachable under two ids that
 * look alike, nor two people under one: ids are normalised to Unicode NFC (so a precomposed "é" and
 * "e" + combining accent are one id), and characters that are invisible, ambiguous or cannot be stored
 * and echoed exactly are refused, each with its own reason.
 */
const SUBJECT_ID_RULES: ReadonlyArray<[RegExp, string]> = [
  // with the u flag a valid surrogate pair is one code point, so only unpaired halves match
  [/\p{Cs}/u, 'subject_id is not well-formed Unicode: it holds an unpaired UTF-16 surrogate'],
  [/\uFFFD/u, 'subject_id holds U+FFFD, the replacement character: its bytes were decoded from another encoding somewhere; send the id as UTF-8'],
  [/\p{Cc}/u, 'subject_id must not contain control characters'],
  [/\p{Cf}/u, 'subject_id must not contain invisible format characters (zero-width characters, bidirectional controls, byte-order marks)'],
  [/[\p{Zl}\p{Zp}]/u, 'subject_id must not contain line or paragraph separators'],
  [/\p{Co}/u, 'subject_id must not contain private-use characters'],
  [/\p{Cn}/u, 'subject_id must not contain noncharacters or unassigned code points'],
  [/^\s|\s$/u, 'subject_id must not be blank, nor start or end with white space'],
];

export function subjectIdProblem(id: string): string | undefined {
  return SUBJECT_ID_RULES.find(([pattern]) => pattern.test(id))?.[1];
}

const subjectId = z
  .string({ error: 'subject_id must be a string' })
  .min(1, 'subject_id must not be empty')
  .superRefine((id, ctx) => {
    const problem = subjectIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((id) => id.normalize('NFC'))
  .pipe(z.string().max(MAX_SUBJECT_ID_LENGTH, `subject_id must be at most ${MAX_SUBJECT_ID_LENGTH} characters`));

const partition = z
  .string({ error: 'partition must be a string' })
  .regex(PARTITION_NAME_PATTERN, 'partition must be 1–64 characters of A–Z, a–z, 0–9, _ or -')
  .default(DEFAULT_PARTITION);

const threshold = (fallback: number) =>
  z.number({ error: 'threshold must be a number' }).min(0, 'threshold must be between 0 and 1').max(1, 'threshold must be between 0 and 1').default(fallback);

/** Limits a search or verify to templates from these sources; absent: every template counts. */
const sources = z
  .array(z.enum(TEMPLATE_SOURCES, { error: `a source is one of ${TEMPLATE_SOURCES.join(', ')}` }), { error: 'sources must be an array of source names' })
  .min(1, 'sources must name at least one source (leave it out to use every template)')
  .transform((names) => new Set(names))
  .optional();

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
      sources,
    }),
    verify: z.strictObject({ subject_id: subjectId, partition, threshold: threshold(defaults.defaultThreshold), sources }),
    enrol: z.strictObject({ subject_id: subjectId, partition }),
    delete: z.strictObject({ subject_id: subjectId, partition }),
  };
}

export type MetadataSchemas = ReturnType<typeof metadataSchemas>;
export type SearchMetadata = z.infer<MetadataSchemas['search']>;
export type VerifyMetadata = z.infer<MetadataSchemas['verify']>;
export type EnrolMetadata = z.infer<MetadataSchemas['enrol']>;
export type DeleteMetadata = z.infer<MetadataSchemas['delete']>;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A metadata part or JSON body as text: UTF-8 only, decoded strictly, because a lenient decoder maps
 * different invalid byte sequences to the same U+FFFD and so merges different ids. A byte-order mark is
 * refused on both, as JSON (RFC 8259) forbids senders to add one.
 */
export function decodeJsonText(bytes: Uint8Array, what: string): string {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ApiError('invalid_metadata', `${what} is not valid UTF-8: send the JSON as UTF-8 text`);
  }
  if (text.startsWith('\uFEFF')) throw new ApiError('invalid_metadata', `${what} starts with a byte-order mark: send JSON without one`);
  return text;
}

/** Parses a metadata JSON text once, at the boundary; absent metadata is an empty object. */
export function parseMetadata<S extends z.ZodType>(schema: S, input: string | undefined, what = 'metadata'): z.infer<S> {
  let value: unknown = {};
  if (input !== undefined) {
    try {
      value = JSON.parse(input);
    } catch {
      throw new ApiError('invalid_metadata', `${what} is not valid JSON`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('invalid_metadata', `${what} must be a JSON object`);
  }
  return parseFields(schema, value, what);
}

/** Validates named fields (a parsed JSON object, or multipart text fields) once, at the boundary. */
export function parseFields<S extends z.ZodType>(schema: S, value: object, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) in ${what}: ${issue.keys.join(', ')}` : issue.message;
    throw new ApiError('invalid_metadata', message, issue.path.length ? { field: issue.path.join('.') } : {});
  }
  return result.data;
}
