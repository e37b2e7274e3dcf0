import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { CLAIM_SOURCES, DEFAULT_PARTITION, PARTITION_NAME_PATTERN } from '../gallery/gallery.ts';
import { refuseWhenBusy, requireContentType } from '../http/biometric.controller.ts';
import { multipartParser, multipartParts, readJsonBody, type BodyLimits } from '../http/body.ts';
import { decodeJsonText, parseFields, parseMetadata } from '../http/metadata.ts';
import type { ClaimOutcome } from './claim-token.repository.ts';
import type { StoreMode } from '../store-mode.ts';
import type { ClaimsService, IssuedToken } from './claims.service.ts';

export const CLAIM_PATHS = {
  enrolToken: '/api/v1/claim/enrol/token',
  enrolImage: '/api/v1/claim/enrol/image',
  verifyToken: '/api/v1/claim/verify/token',
  verifyImage: '/api/v1/claim/verify/image',
  validate: '/api/v1/claim/verify/validate',
} as const;

/** The reference's user id rule; the id is the subject id of the user's templates. */
export const USER_ID_PATTERN = /^[a-zA-Z0-9'+_@.-]{1,256}$/;

const userId = z.string({ error: 'user_id must be a string' }).regex(USER_ID_PATTERN, "user_id must be 1–256 characters of a–z, A–Z, 0–9 and ' + _ @ . -");
const partition = z.string({ error: 'partition must be a string' }).regex(PARTITION_NAME_PATTERN, 'partition must be 1–64 characters of A–Z, a–z, 0–9, _ or -').default(DEFAULT_PARTITION);
const source = z.enum(CLAIM_SOURCES, { error: `source must be one of ${CLAIM_SOURCES.join(', ')}` });
const token = z.string({ error: 'token must be a string' }).min(1, 'token must not be empty');

const schemas = {
  enrolToken: z.strictObject({ user_id: userId, partition, source }),
  verifyToken: z.strictObject({ user_id: userId, partition }),
  validate: z.strictObject({ token, user_id: userId }),
  enrolImage: z.strictObject({ token, source: source.optional() }),
  verifyImage: z.strictObject({ token }),
};

async function jsonBody<S extends z.ZodType>(ctx: Context, schema: S, maxBytes: number): Promise<z.infer<S>> {
  return parseMetadata(schema, decodeJsonText(await readJsonBody(ctx, maxBytes), 'request body'), 'request body');
}

/** The image file and the text fields of a claim image post; the fields are ASCII (token, source). */
function imageAndFields<S extends z.ZodType>(ctx: Context, schema: S): { image: Uint8Array; fields: z.infer<S> } {
  const { files, fields } = multipartParts(ctx);
  const images = files.get('image') ?? [];
  for (const name of files.keys()) if (name !== 'image') throw new ApiError('bad_request', `unexpected file part "${name}": send "image" as the only file`);
  if (images.length !== 1) throw new ApiError(images.length === 0 ? 'missing_image' : 'bad_request', 'send exactly one "image" file part');
  if (images[0].length === 0) throw new ApiError('image_decode_failed', 'the "image" part is empty');
  const values: Record<string, string> = {};
  for (const [name, parts] of fields) {
    if (parts.length > 1) throw new ApiError('invalid_metadata', `send at most one "${name}" part`);
    values[name] = parts[0].toString('latin1');
  }
  return { image: images[0], fields: parseFields(schema, values, 'multipart fields') };
}

/** A verification outcome as the validate answer gives it; score and source are null when no face was compared. */
function validationBody(outcome: ClaimOutcome & { tokenId: string; userId: string }) {
  return {
    passed: outcome.passed,
    score: outcome.score ?? null,
    threshold: outcome.threshold ?? null,
    ...(outcome.failureReason ? { failure_reason: outcome.failureReason } : {}),
    source: outcome.source ?? null,
    mad: outcome.mad ?? 'not_configured',
    user_id: outcome.userId,
    token_id: outcome.tokenId,
  };
}

/** POST /api/v1/claim/...: JSON in and out; the scope of each route is set in app.ts. */
function tokenBody(issued: IssuedToken) {
  return { token: issued.token, token_id: issued.tokenId, expires_at: new Date(issued.expiresAt).toISOString(), user_id: issued.userId };
}

export function claimsRouter(service: ClaimsService<StoreMode>, limits: BodyLimits): Router {
  const router = new Router();
  const json = requireContentType('application/json', 'a JSON object');
  const multipart = [requireContentType('multipart/form-data', 'a "token" field and an "image" file part'), refuseWhenBusy(service), multipartParser(limits)];

  router.post(CLAIM_PATHS.enrolToken, json, async (ctx) => {
    const request = await jsonBody(ctx, schemas.enrolToken, limits.maxJsonBytes);
    const issued = await service.issueEnrolToken(request, ctx.state.operation!);
    ctx.state.operation!.record({ decision: 'token_issued' });
    ctx.body = tokenBody(issued);
  });

  router.post(CLAIM_PATHS.enrolImage, ...multipart, async (ctx) => {
    const { image, fields } = imageAndFields(ctx, schemas.enrolImage);
    const enrolled = await service.enrolImage(fields.token, image, fields.source, ctx.state.operation!);
    ctx.state.operation!.record({ decision: 'enrolled', quality: enrolled.qualityScore });
    ctx.body = { success: true, user_id: enrolled.userId, source: enrolled.source, quality_score: enrolled.qualityScore, issues: enrolled.issues, token_id: enrolled.tokenId };
  });

  router.post(CLAIM_PATHS.verifyToken, json, async (ctx) => {
    const request = await jsonBody(ctx, schemas.verifyToken, limits.maxJsonBytes);
    const issued = await service.issueVerifyToken(request, ctx.state.operation!);
    ctx.state.operation!.record({ decision: 'token_issued' });
    ctx.body = tokenBody(issued);
  });

  router.post(CLAIM_PATHS.verifyImage, ...multipart, async (ctx) => {
    const { image, fields } = imageAndFields(ctx, schemas.verifyImage);
    const received = await service.verifyImage(fields.token, image, ctx.state.operation!);
    // the outcome is stored against the token, and given only to validate
    ctx.state.operation!.record({ decision: 'capture_recorded' });
    ctx.body = { received: true, token_id: received.tokenId, tries_left: received.triesLeft };
  });

  router.post(CLAIM_PATHS.validate, json, async (ctx) => {
    const request = await jsonBody(ctx, schemas.validate, limits.maxJsonBytes);
    const outcome = await service.validate(request.token, request.user_id, ctx.state.operation!);
    ctx.state.operation!.record({ decision: outcome.passed ? 'passed' : 'failed', score: outcome.score, threshold: outcome.threshold, quality: outcome.quality });
    ctx.body = validationBody(outcome);
  });

  return router;
}
