import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { CroppedDocument } from '../documents/document-cropper.ts';
import { localizedMessage } from '../documents/messages.ts';
import { ApiError } from '../errors.ts';
import { requireContentType } from './biometric.controller.ts';
import { base64Image, parseJsonRequest } from './json-request.ts';

/** What the controller needs of the cropper pool. */
export interface DocumentCropping {
  assertCanAccept(): void;
  crop(image: Uint8Array): Promise<CroppedDocument>;
}

/** The reference's path, and the spelling its own example uses. */
export const ID_CROPPER_PATHS = ['/api/v1/id_cropper/register', '/api/v1/id_cropper_register'] as const;

const cropRequest = z.strictObject({
  img: z.string({ error: 'img must be a string: the photo as base64' }).min(1, 'img must not be empty'),
  lang: z
    .string({ error: 'lang must be a string' })
    .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'lang must be a language tag such as "en" or "ar"')
    .optional(),
  /** the reference's per-client key; this server authenticates with its own API keys and ignores it */
  bundle_key: z.string({ error: 'bundle_key must be a string' }).max(512).optional(),
});

/** Refusals say which check failed in `error_code`, and speak the client's language where they can. */
async function localized(lang: string | undefined, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500) throw error;
    throw new ApiError(error.code, localizedMessage(error.code, lang, error.message), { ...error.details, error_code: error.code });
  }
}

function refuseWhenBusy(cropper: DocumentCropping): Middleware {
  return async (_ctx, next) => {
    cropper.assertCanAccept();
    await next();
  };
}

function responseBody(ctx: Context, document: CroppedDocument) {
  return {
    data: {
      img: document.image.toString('base64'),
      corners: document.corners.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]),
      confidence: document.confidence,
      document_type: document.documentType,
      rotation: document.rotation,
      ...(document.portrait ? { portrait: document.portrait.toString('base64') } : {}),
    },
    transaction_id: ctx.state.requestId,
  };
}

export function idCropperRouter(cropper: DocumentCropping, maxJsonBytes: number): Router {
  const router = new Router();
  const handler: Middleware = async (ctx) => {
    const request = await parseJsonRequest(ctx, cropRequest, maxJsonBytes);
    await localized(request.lang, async () => {
      const document = await cropper.crop(base64Image(request.img, 'img'));
      ctx.state.operation!.record({ decision: 'cropped', score: document.confidence });
      ctx.body = responseBody(ctx, document);
    });
  };
  for (const path of ID_CROPPER_PATHS) {
    router.post(path, requireContentType('application/json', 'a JSON object with img (base64) and optional lang'), refuseWhenBusy(cropper), handler);
  }
  return router;
}
