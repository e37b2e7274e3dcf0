import Router from '@koa/router';
import type { MadService } from '../mad/mad.service.ts';
import { imageAndMetadata, optionalImage, REFERENCE_IMAGE, refuseWhenBusy, requireContentType } from './biometric.controller.ts';
import { multipartParser, type BodyLimits } from './body.ts';
import { ApiError } from '../errors.ts';
import { serializeDifferential, serializeMadScore } from './mad-verdict.ts';

export const MAD_PATH = '/api/v1/mad';

/** POST /api/v1/mad: multipart `image` and optional `reference_image` → `{s_mad, d_mad?}` scores, refusing nothing. */
export function madRouter(service: MadService, limits: BodyLimits): Router {
  const router = new Router();
  router.post(
    MAD_PATH,
    requireContentType('multipart/form-data', 'an "image" file part and an optional "reference_image" file part'),
    refuseWhenBusy(service),
    multipartParser(limits),
    async (ctx) => {
      const { image, metadata } = imageAndMetadata(ctx, [REFERENCE_IMAGE]);
      if (metadata !== undefined) throw new ApiError('bad_request', 'POST /api/v1/mad takes no metadata part');
      const { sMad, dMad } = await service.check(image, optionalImage(ctx, REFERENCE_IMAGE));
      const judged = dMad?.decision === 'not_applicable' ? undefined : dMad;
      const morph = judged?.decision === 'morph' || sMad.decision === 'morph';
      ctx.state.operation!.record({ decision: morph ? 'morph' : 'bona_fide', score: judged?.score ?? sMad.score, threshold: judged?.threshold ?? sMad.threshold });
      ctx.body = { s_mad: serializeMadScore(sMad), ...(dMad ? { d_mad: serializeDifferential(dMad) } : {}) };
    },
  );
  return router;
}
