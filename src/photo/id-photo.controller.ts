import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { AuditStore } from '../audit/audit-log.ts';
import { ISSUE_CODES, SENSITIVITIES, type IssueCode, type Sensitivity } from '../compliance/profiles.ts';
import { requireContentType } from '../http/biometric.controller.ts';
import { base64Image, parseJsonRequest } from '../http/json-request.ts';
import { OperationScope } from '../security/auth.middleware.ts';
import type { StoreMode } from '../store-mode.ts';
import type { AuthService } from '../security/auth.service.ts';
import type { PassportPhotoService } from './passport-photo.service.ts';
import { BACKGROUND_COLOURS, type PhotoSpec } from './specs/spec-table.ts';
import { WATERMARK_TEXTS } from './watermark.ts';

// The /v2/ ID-photo API (reference 001). Its clients send the key in the body: apiKey is the key's
// public id (fsk_…), apiSecret the rest, so `${apiKey}_${apiSecret}` is one of this server's API keys.

export const ID_PHOTO_PATHS = ['health', 'queryAccountStatus', 'makeIdPhoto', 'makeIdPhotoWatermark', 'getIdPhotoNoWatermark', 'listIdPhotoSpecCode', 'getIdPhotoSpec'].map((name) => `/v2/${name}`);

const credentials = { apiKey: z.string().max(64).optional(), apiSecret: z.string().max(128).optional() };
const sensitivities = z
  .record(
    z.string().refine((code) => (ISSUE_CODES as readonly string[]).includes(code), { message: 'unknown issue code in issueSensitivityOverride' }),
    z.enum(SENSITIVITIES, { error: `a sensitivity is one of ${SENSITIVITIES.join(', ')}` }),
  )
  .default({})
  .transform((overrides) => overrides as Partial<Record<IssueCode, Sensitivity>>);
const image = z.string({ error: 'imageBase64 is required' }).min(1, 'imageBase64 must not be empty');
const specCode = z.string({ error: 'specCode is required' }).min(1).max(64);

export const idPhotoRequestSchemas = {
  plain: z.strictObject(credentials),
  spec: z.strictObject({ ...credentials, specCode }),
  make: z.strictObject({
    ...credentials,
    imageBase64: image,
    specCode,
    outputFormat: z.enum(['S3_URL', 'IMAGE_BASE64'], { error: 'outputFormat is S3_URL (a download URL on this server) or IMAGE_BASE64' }).default('S3_URL'),
    issueSensitivityOverride: sensitivities,
    photoSheet: z.strictObject({ sheetSizes: z.array(z.string()).max(4, 'at most 4 sheet sizes') }).optional(),
  }),
  watermark: z.strictObject({
    ...credentials,
    imageBase64: image,
    specCode,
    watermarkText: z
      .string()
      .refine((text) => WATERMARK_TEXTS.some((allowed) => allowed.toLowerCase() === text.toLowerCase()), { message: `watermarkText is one of ${WATERMARK_TEXTS.join(', ')}` })
      .default('Preview'),
    issueSensitivityOverride: sensitivities,
  }),
  release: z.strictObject({ ...credentials, photoUuid: z.string({ error: 'photoUuid is required' }).min(1).max(64) }),
};

/**
 * The key from the body, checked as the header key is on other routes; puts the caller on record for
 * the audit trail before anything can fail.
 */
async function authenticate(ctx: Context, auth: AuthService<StoreMode>, body: { apiKey?: string; apiSecret?: string }): Promise<string | null> {
  const scope = new OperationScope('photo', auth);
  ctx.state.operation = scope;
  const presented = body.apiKey !== undefined || body.apiSecret !== undefined ? `${body.apiKey ?? ''}_${body.apiSecret ?? ''}` : undefined;
  scope.presentedKeyId = auth.publicIdOf(presented);
  scope.principal = await auth.authenticate(presented);
  auth.requireOperation(scope.principal, 'photo');
  return scope.principal.keyId;
}

/** "2 x 2 in" for the inch-based specs, "35 x 45 mm" for the rest */
function specDetails(spec: PhotoSpec) {
  const inches = spec.countryCode === 'US';
  const length = (mm: number) => (inches ? `${Math.round((mm / 25.4) * 1000) / 1000}` : `${mm}`);
  const band = (b?: { min: number; max: number }) => (b ? `${length(b.min)} - ${length(b.max)}` : '');
  const px = (mm: number) => Math.round((mm / 25.4) * spec.dpi);
  return {
    specCode: spec.code,
    specCodeName: spec.documentLabel,
    photoSizeUnit: inches ? 'in' : 'mm',
    photoSize: `${length(spec.widthMm)} x ${length(spec.heightMm)} ${inches ? 'in' : 'mm'}`,
    photoPixel: `${px(spec.widthMm)} x ${px(spec.heightMm)} px`,
    photoDpi: `${spec.dpi} DPI`,
    headHeight: band(spec.headHeightMm),
    eyeToBottom: band(spec.eyeLineFromBottomMm),
    backgroundColor: spec.background.default,
    backgroundColorName: BACKGROUND_COLOURS[spec.background.default],
    backgroundEditingAllowed: spec.background.editingAllowed,
    expression: spec.rules.expression === 'neutral' ? 'NEUTRAL' : 'NEUTRAL_OR_NATURAL_SMILE',
    color: 'IN_COLOR',
    glasses: spec.rules.glasses === 'forbidden' ? 'NOT_ALLOWED' : spec.rules.glasses === 'allowed' ? 'ALLOWED' : 'ALLOWED_NO_GLARE',
    headCovering: spec.rules.headCovering.toUpperCase().replace(/-/g, '_'),
    source: spec.source,
  };
}

export function idPhotoRouter(service: PassportPhotoService, auth: AuthService<StoreMode>, audit: AuditStore, maxJsonBytes: number): Router {
  const router = new Router({ prefix: '/v2' });
  const json = requireContentType('application/json', 'a JSON object with apiKey and apiSecret');
  const refuseWhenBusy: Middleware = async (_ctx, next) => {
    service.assertCanAcceptImage();
    await next();
  };
  // absolute URLs on this server, as the reference's clients expect (it answers with S3 URLs)
  const url = (ctx: Context, path: string) => `${ctx.protocol}://${ctx.host}${path}`;

  router.get('/health', (ctx) => {
    ctx.body = { status: 'GOOD' };
  });

  router.post('/queryAccountStatus', json, async (ctx) => {
    const owner = await authenticate(ctx, auth, await parseJsonRequest(ctx, idPhotoRequestSchemas.plain, maxJsonBytes));
    const used = await audit.decisionCounts(owner, 'photo');
    // a self-hosted server has no subscription or quota: the account is always active and unmetered
    ctx.body = { accountStatus: 'SUBSCRIBED', subscription: { subscriptionStatus: 'SUBSCRIPTION_COMPLETE' }, usage: { makeIdPhoto: used.made ?? 0, makeIdPhotoWatermark: used.watermarked ?? 0, getIdPhotoNoWatermark: used.released ?? 0 } };
  });

  router.post('/listIdPhotoSpecCode', json, async (ctx) => {
    await authenticate(ctx, auth, await parseJsonRequest(ctx, idPhotoRequestSchemas.plain, maxJsonBytes));
    const results = service.listSpecs().map((spec) => ({ specCode: spec.code, specCodeName: spec.documentLabel }));
    ctx.body = { results, total: results.length };
  });

  router.post('/getIdPhotoSpec', json, async (ctx) => {
    const request = await parseJsonRequest(ctx, idPhotoRequestSchemas.spec, maxJsonBytes);
    await authenticate(ctx, auth, request);
    ctx.body = specDetails(service.spec(request.specCode));
  });

  router.post('/makeIdPhoto', json, refuseWhenBusy, async (ctx) => {
    const request = await parseJsonRequest(ctx, idPhotoRequestSchemas.make, maxJsonBytes);
    const owner = await authenticate(ctx, auth, request);
    const made = await service.makeIdPhoto(base64Image(request.imageBase64, 'imageBase64'), { specCode: request.specCode, issueSensitivityOverride: request.issueSensitivityOverride, sheetSizes: request.photoSheet?.sheetSizes ?? [] }, owner);
    ctx.state.operation!.record({ subjectId: made.photoUuid, decision: 'made' });
    ctx.body = {
      photoUuid: made.photoUuid,
      ...(request.outputFormat === 'IMAGE_BASE64' ? { idphotoImageBase64: made.photo.toString('base64') } : { idPhotoUrl: url(ctx, made.photoPath) }),
      originalPhotoUrl: url(ctx, made.originalPath),
      issues: made.issues,
      ...(Object.keys(made.sheets).length > 0 ? { photoSheet: Object.fromEntries(Object.entries(made.sheets).map(([size, path]) => [size, url(ctx, path)])) } : {}),
      measured: made.measured,
    };
  });

  router.post('/makeIdPhotoWatermark', json, refuseWhenBusy, async (ctx) => {
    const request = await parseJsonRequest(ctx, idPhotoRequestSchemas.watermark, maxJsonBytes);
    const owner = await authenticate(ctx, auth, request);
    const made = await service.makeIdPhoto(base64Image(request.imageBase64, 'imageBase64'), { specCode: request.specCode, issueSensitivityOverride: request.issueSensitivityOverride, sheetSizes: [], watermarkText: request.watermarkText }, owner);
    ctx.state.operation!.record({ subjectId: made.photoUuid, decision: 'watermarked' });
    ctx.body = { photoUuid: made.photoUuid, idPhotoUrl: url(ctx, made.photoPath), issues: made.issues, waterMark: true, measured: made.measured };
  });

  router.post('/getIdPhotoNoWatermark', json, async (ctx) => {
    const request = await parseJsonRequest(ctx, idPhotoRequestSchemas.release, maxJsonBytes);
    const owner = await authenticate(ctx, auth, request);
    const released = await service.release(request.photoUuid, owner);
    ctx.state.operation!.record({ subjectId: request.photoUuid, decision: 'released' });
    ctx.body = { photoUuid: request.photoUuid, idPhotoUrl: url(ctx, released.photoPath), issues: released.issues, waterMark: false };
  });
  return router;
}
