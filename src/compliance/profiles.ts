import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MEASUREMENT_NAMES } from './measures/index.ts';

/** Sensitivity levels (as in the ID-photo API of reference 001): higher is stricter; MEDIUM by default. */
export const SENSITIVITIES = ['VERY_LOW', 'LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];
export const DEFAULT_SENSITIVITY: Sensitivity = 'MEDIUM';

/** Every issue a photo check can report. ISSUE_FACE_NOT_FOUND is the verdict on a photo with no face, not a profile check. */
export const ISSUE_CODES = [
  'ISSUE_FACE_NOT_FOUND', 'ISSUE_MULTIPLE_FACES', 'ISSUE_FACE_TOO_SMALL', 'ISSUE_HEAD_YAW_OVER_THRESHOLD', 'ISSUE_HEAD_PITCH_OVER_THRESHOLD',
  'ISSUE_HEAD_ROLL_OVER_THRESHOLD', 'ISSUE_EYES_CLOSED', 'ISSUE_MOUTH_OPEN', 'ISSUE_EXPRESSION_NOT_NEUTRAL', 'ISSUE_PHOTO_SHARPNESS_BAD',
  'ISSUE_FACE_BRIGHTNESS_BAD', 'ISSUE_FACE_LIGHT_NOT_BALANCE', 'ISSUE_UNNATURAL_SKIN_TONE', 'ISSUE_BACKGROUND_NOT_UNIFORM',
  'ISSUE_BACKGROUND_COLOR', 'ISSUE_SHADOW_BEHIND_HEAD', 'ISSUE_HEAD_SIZE', 'ISSUE_EYE_LINE', 'ISSUE_BOTTOM_INCOMPLETE',
  'ISSUE_LEFT_INCOMPLETE', 'ISSUE_RIGHT_INCOMPLETE', 'ISSUE_EYEGLASSES', 'ISSUE_HEAD_COVERING', 'ISSUE_FACE_OCCLUDED',
] as const;
export type IssueCode = (typeof ISSUE_CODES)[number];

const levels = <T extends z.ZodType>(threshold: T) => z.strictObject(Object.fromEntries(SENSITIVITIES.map((level) => [level, threshold])) as Record<Sensitivity, T>);

const common = {
  code: z.enum(ISSUE_CODES).exclude(['ISSUE_FACE_NOT_FOUND']),
  measure: z.enum(MEASUREMENT_NAMES),
  severity: z.enum(['critical', 'major', 'minor']),
  /** what a person reading the verdict should fix */
  message: z.string().min(1),
  /** the measure is a rule of thumb on pixels, not a model trained for it; said so in every answer */
  heuristic: z.boolean().default(false),
};

/** each level at least as strict as the one below it */
const ordered = (values: number[]) => values.every((v, i) => i === 0 || v >= values[i - 1]);

const checkSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({ ...common, kind: z.literal('min'), thresholds: levels(z.number()) })
    .refine((c) => ordered(SENSITIVITIES.map((l) => c.thresholds[l])), 'min thresholds must not fall from VERY_LOW to VERY_HIGH'),
  z
    .strictObject({ ...common, kind: z.literal('max'), thresholds: levels(z.number()) })
    .refine((c) => ordered(SENSITIVITIES.map((l) => -c.thresholds[l])), 'max thresholds must not rise from VERY_LOW to VERY_HIGH'),
  z
    .strictObject({ ...common, kind: z.literal('range'), thresholds: levels(z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'a range is [min, max]')) })
    .refine(
      (c) => ordered(SENSITIVITIES.map((l) => c.thresholds[l][0])) && ordered(SENSITIVITIES.map((l) => -c.thresholds[l][1])),
      'ranges must not widen from VERY_LOW to VERY_HIGH',
    ),
]);

const profileSchema = z.strictObject({
  description: z.string(),
  checks: z.array(checkSchema).min(1).refine((checks) => new Set(checks.map((c) => c.code)).size === checks.length, 'each issue code at most once per profile'),
});

const profilesSchema = z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), profileSchema).refine((p) => Object.keys(p).length > 0, 'at least one profile');

export type ComplianceCheck = z.infer<typeof checkSchema>;
export type ComplianceProfile = z.infer<typeof profileSchema>;
export type ComplianceProfiles = z.infer<typeof profilesSchema>;

export const DEFAULT_PROFILES_FILE = new URL('./profiles.json', import.meta.url);
export const DEFAULT_PROFILE = 'icao';

/** Reads and validates the profiles once, at start; a bad file stops the server with the reason. */
export function loadProfiles(file: URL | string = DEFAULT_PROFILES_FILE): ComplianceProfiles {
  const parsed = profilesSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`compliance profiles ${String(file)}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** The threshold a check applies at a level: a number for min / max checks, [min, max] for ranges. */
export type Threshold = number | [number, number];

/** Whether `value` passes `check` at `level`. */
export function passes(check: ComplianceCheck, level: Sensitivity, value: number): boolean {
  switch (check.kind) {
    case 'min':
      return value >= check.thresholds[level];
    case 'max':
      return value <= check.thresholds[level];
    case 'range':
      return value >= check.thresholds[level][0] && value <= check.thresholds[level][1];
  }
}
