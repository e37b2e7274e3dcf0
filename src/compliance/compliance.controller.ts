import Router from '@koa/router';
import { z } from 'zod';
import { imageAndMetadata, refuseWhenBusy, requireContentType } from '../http/biometric.controller.ts';
import { multipartParser, type BodyLimits } from '../http/body.ts';
import { parseMetadata } from '../http/metadata.ts';
import type { ComplianceService, ComplianceVerdict } from './compliance.service.ts';
import { DEFAULT_PROFILE, ISSUE_CODES, SENSITIVITIES, type ComplianceProfiles, type IssueCode, type Sensitivity } from './profiles.ts';

export const PHOTO_CHECK_PATH = '/api/v1/photo/check';

/** The metadata part of a photo check; unknown profiles, issue codes and levels are 400 invalid_metadata. */
export function checkMetadataSchema(profiles: ComplianceProfiles) {
  const names = Object.keys(profiles);
  return z.strictObject({
    profile: z
      .string({ error: 'profile must be a string' })
      .refine((name) => names.includes(name), { message: `profile must be one of: ${names.join(', ')}` })
      .default(names.includes(DEFAULT_PROFILE) ? DEFAULT_PROFILE : names[0]),
    issueSensitivityOverride: z
      .record(
        z.string().refine((code) => (ISSUE_CODES as readonly string[]).includes(code), { message: 'unknown issue code in issueSensitivityOverride' }),
        z.enum(SENSITIVITIES, { error: `a sensitivity is one of ${SENSITIVITIES.join(', ')}` }),
      )
      .default({})
      .transform((overrides) => overrides as Partial<Record<IssueCode, Sensitivity>>),
  });
}

/** The JSON answer: the verdict, with the photo's quarter turn left out unless the photo was turned. */
export function serializeVerdict(verdict: ComplianceVerdict) {
  const { quarterTurns, ...size } = verdict.image;
  return {
    compliant: verdict.compliant,
    profile: verdict.profile,
    issues: verdict.issues,
    checks: verdict.checks,
    face: verdict.face,
    image: quarterTurns ? { ...size, quarter_turns: quarterTurns } : size,
    measurements: verdict.measurements,
  };
}

/** POST /api/v1/photo/check: multipart image + optional metadata → the photo's compliance with a profile. */
export function complianceRouter(service: ComplianceService, profiles: ComplianceProfiles, limits: BodyLimits): Router {
  const router = new Router();
  const schema = checkMetadataSchema(profiles);
  router.post(
    PHOTO_CHECK_PATH,
    requireContentType('multipart/form-data', 'an "image" file part and an optional "metadata" JSON part'),
    refuseWhenBusy(service),
    multipartParser(limits),
    async (ctx) => {
      const { image, metadata } = imageAndMetadata(ctx);
      const verdict = await service.check(image, parseMetadata(schema, metadata));
      ctx.state.operation!.record({ decision: verdict.compliant ? 'compliant' : 'non_compliant' });
      ctx.body = serializeVerdict(verdict);
    },
  );
  return router;
}
