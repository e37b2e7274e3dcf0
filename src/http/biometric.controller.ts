import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { ApiError } from '../errors.ts';
import type { BiometricService } from '../services/biometric.service.ts';
import { multipartParser, multipartParts, readJsonBody, type BodyLimits } from './body.ts';
import { decodeJsonText, parseMetadata, type MetadataSchemas } from './metadata.ts';
import { formatScore, toXml, type XmlObject } from './xml.ts';

const MULTIPART_PARTS = new Set(['image', 'metadata']);
/** enrol's optional trusted photo of the person, for differential morphing-attack detection */
export const REFERENCE_IMAGE = 'reference_image';

export function requireContentType(type: 'multipart/form-data' | 'application/json', hint: string): Middleware {
  return async (ctx, next) => {
    if (!ctx.is(type)) {
      throw new ApiError('unsupported_media_type', `Content-Type must be ${type} (${hint}); got ${ctx.get('Content-Type') || 'none'}`);
    }
    await next();
  };
}

/**
 * The one image part and the optional metadata text of a biometric (or photo-check) request.
 * `optionalImages`: further image parts the route accepts (enrol's reference_image), read with `optionalImage`.
 */
export function imageAndMetadata(ctx: Context, optionalImages: readonly string[] = []): { image: Uint8Array; metadata: string | undefined } {
  const { files, fields } = multipartParts(ctx);
  for (const name of [...files.keys(), ...fields.keys()]) {
    if (!MULTIPART_PARTS.has(name) && !optionalImages.includes(name)) {
      const parts = ['image', 'metadata', ...optionalImages].map((part) => `"${part}"`);
      throw new ApiError('bad_request', `unexpected multipart part "${name}": send ${parts.slice(0, -1).join(', ')} and ${parts.at(-1)} only`);
    }
  }
  const images = files.get('image') ?? [];
  if (images.length === 0) {
    const hint = fields.has('image') ? ' (it arrived as a text field; send it as a file, e.g. curl -F image=@photo.jpg)' : '';
    throw new ApiError('missing_image', `the multipart body has no "image" file part${hint}`);
  }
  if (images.length > 1) throw new ApiError('bad_request', 'send exactly one "image" part');
  if (images[0].length === 0) throw new ApiError('image_decode_failed', 'the "image" part is empty');

  // curl -F metadata=@file.json sends metadata as a file part; accept it as text too.
  const metadataParts = [...(fields.get('metadata') ?? []), ...(files.get('metadata') ?? [])];
  if (metadataParts.length > 1) throw new ApiError('invalid_metadata', 'send at most one "metadata" part');
  return { image: images[0], metadata: metadataParts[0] && decodeJsonText(metadataParts[0], 'metadata') };
}

/** An optional image part other than "image": at most one, not empty, sent as a file. */
export function optionalImage(ctx: Context, name: string): Uint8Array | undefined {
  const { files, fields } = multipartParts(ctx);
  if (fields.has(name)) throw new ApiError('bad_request', `"${name}" arrived as a text field; send it as a file, e.g. curl -F ${name}=@photo.jpg`);
  const parts = files.get(name) ?? [];
  if (parts.length > 1) throw new ApiError('bad_request', `send at most one "${name}" part`);
  if (parts[0]?.length === 0) throw new ApiError('image_decode_failed', `the "${name}" part is empty`);
  return parts[0];
}

/** Hands the parsed partition to the key's scope check (and the audit record) before any work starts. */
function authorized<M extends { partition: string; subject_id?: string }>(ctx: Context, metadata: M): M {
  ctx.state.operation!.target(metadata.partition, metadata.subject_id);
  return metadata;
}

function sendXml(ctx: Context, root: string, body: XmlObject): void {
  ctx.type = 'application/xml';
  ctx.body = toXml(root, body);
}

/** Sheds load before the upload is read: a refusal then costs the event loop almost nothing. */
export function refuseWhenBusy(service: { assertCanAcceptImage(): void }): Middleware {
  return async (_ctx, next) => {
    service.assertCanAcceptImage();
    await next();
  };
}

export function biometricRouter(service: BiometricService, schemas: MetadataSchemas, limits: BodyLimits): Router {
  const router = new Router({ prefix: '/api/v1' });
  const multipart = [
    requireContentType('multipart/form-data', 'an "image" file part and a "metadata" JSON part'),
    refuseWhenBusy(service),
    multipartParser(limits),
  ];

  router.post('/search', ...multipart, async (ctx) => {
    const { image, metadata } = imageAndMetadata(ctx);
    const outcome = await service.search(image, authorized(ctx, parseMetadata(schemas.search, metadata)));
    const best = outcome.candidates[0];
    ctx.state.operation!.record({ ...outcome, subjectId: best?.subjectId, score: best?.score, quality: outcome.qualityScore });
    sendXml(ctx, 'SearchResponse', {
      status: 'OK',
      candidates: { candidate: outcome.candidates.map((c) => ({ subject_id: c.subjectId, score: formatScore(c.score), rank: c.rank })) },
      quality_score: formatScore(outcome.qualityScore),
      model_id: outcome.modelId,
      face_count: outcome.faceCount,
    });
  });

  router.post('/verify', ...multipart, async (ctx) => {
    const { image, metadata } = imageAndMetadata(ctx);
    const outcome = await service.verify(image, authorized(ctx, parseMetadata(schemas.verify, metadata)));
    ctx.state.operation!.record({ ...outcome, quality: outcome.qualityScore });
    sendXml(ctx, 'VerifyResponse', {
      status: 'OK',
      match: outcome.match,
      score: formatScore(outcome.score),
      subject_id: outcome.subjectId,
      quality_score: formatScore(outcome.qualityScore),
      model_id: outcome.modelId,
      face_count: outcome.faceCount,
    });
  });

  router.post('/enrol', ...multipart, async (ctx) => {
    const { image, metadata } = imageAndMetadata(ctx, [REFERENCE_IMAGE]);
    const outcome = await service.enrol(image, authorized(ctx, parseMetadata(schemas.enrol, metadata)), optionalImage(ctx, REFERENCE_IMAGE));
    ctx.state.operation!.record({ ...outcome, score: outcome.duplicateOf?.score, quality: outcome.qualityScore });
    sendXml(ctx, 'EnrolResponse', {
      status: 'OK',
      subject_id: outcome.subjectId,
      quality_score: formatScore(outcome.qualityScore),
      model_id: outcome.modelId,
      face_count: outcome.faceCount,
      ...(outcome.duplicateOf ? { duplicate_of: { subject_id: outcome.duplicateOf.subjectId, score: formatScore(outcome.duplicateOf.score) } } : {}),
    });
  });

  router.post('/delete', requireContentType('application/json', 'a JSON object with subject_id and partition'), async (ctx) => {
    const body = decodeJsonText(await readJsonBody(ctx, limits.maxJsonBytes), 'request body');
    const outcome = await service.delete(authorized(ctx, parseMetadata(schemas.delete, body, 'request body')));
    ctx.state.operation!.record(outcome);
    sendXml(ctx, 'DeleteResponse', { status: 'OK', subject_id: outcome.subjectId });
  });

  return router;
}
