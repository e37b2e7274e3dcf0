import Router from '@koa/router';
import type { MadScore } from '../mad/mad-score.ts';
import type { MadService } from '../mad/mad.service.ts';
import { imageAndMetadata, optionalImage, REFERENCE_IMAGE, refuseWhenBusy, requireContentType } from './biometric.controller.ts';
import { multipartParser, type BodyLimits } from './body.ts';
import { ApiError } from '../errors.ts';

export const MAD_PATH = '/api/v1/mad';

const serializeScore = ({ score, threshold, decision }: MadScore) => ({ score: Number(score.toFixed(4)), threshold, decision });

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
      const verdict = await service.check(image, optionalImage(ctx, REFERENCE_IMAGE));
      const morph = verdict.dMad?.decision === 'morph' || verdict.sMad.decision === 'morph';
      ctx.state.operation!.record({ decision: morph ? 'morph' : 'bona_fide', score: verdict.dMad?.score ?? verdict.sMad.score, threshold: verdict.dMad?.threshold ?? verdict.sMad.threshold });
      ctx.body = { s_mad: serializeScore(verdict.sMad), ...(verdict.dMad ? { d_mad: serializeScore(verdict.dMad) } : {}) };
    },
  );
  return router;
}
