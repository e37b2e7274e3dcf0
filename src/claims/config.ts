import { z } from 'zod';
import { SENSITIVITIES } from '../compliance/profiles.ts';

/** Enrolment from trusted document photos and the verification that follows (src/claims/). */
export const claimsConfigSchema = z
  .object({
    /** how long a token may be used after it was issued */
    tokenTtlSeconds: z.number().int().min(1).max(86_400).default(600),
    /** image posts a token accepts, refused ones included */
    maxTries: z.number().int().min(1).max(100).default(3),
    /** largest enrolment image, bytes (2 MB as the reference's image requirements) */
    maxImageBytes: z.number().int().min(1024).default(2 * 1024 * 1024),
    /** least distance between the eye centres of an enrolment image, pixels */
    minInterEyePx: z.number().min(1).default(85),
    /** sensitivity the compliance profile (icao for eid / oid, enrolment for selfie) is applied at */
    complianceSensitivity: z.enum(SENSITIVITIES).default('MEDIUM'),
  })
  .strict();

export type ClaimsConfig = z.infer<typeof claimsConfigSchema>;
