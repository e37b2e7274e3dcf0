import Router from '@koa/router';
import type { Context } from 'koa';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { refuseWhenBusy, requireContentType } from '../http/biometric.controller.ts';
import { multipartParser, multipartParts, type BodyLimits } from '../http/body.ts';
import { parseJsonRequest } from '../http/json-request.ts';
import { DOCUMENT_TYPES, MAX_DPI, MIN_DPI } from './specs/spec-table.ts';
import { DOWNLOAD_PREFIX, type PassportPhotoService } from './passport-photo.service.ts';
import { PAPER_SIZES } from './print-sheet.ts';
import type { ProgressHub } from './progress.ts';

// The two-phase passport-photo API (reference 000): analyze → generate, downloads, SSE progress.

export const PASSPORT_PHOTO_PATHS = {
  base: '/api/v1/tools/passport-photo',
  analyze: '/api/v1/tools/passport-photo/analyze',
  generate: '/api/v1/tools/passport-photo/generate',
  download: `${DOWNLOAD_PREFIX}/:jobId/:file`,
  progress: '/api/v1/jobs/:clientJobId/progress',
} as const;

const CLIENT_JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
const NO_FACE_DETAILS = 'Could not detect a face in the uploaded image. Please upload a clear, front-facing photo with good lighting.';

const unit = z.number().min(0).max(1);
const point = z.strictObject({ x: unit, y: unit });

export const generateRequestSchema = z.strictObject({
  jobId: z.string({ error: 'jobId is required' }).min(1),
  filename: z.string({ error: 'filename is required' }).min(1).max(255),
  countryCode: z.string({ error: 'countryCode is required' }).regex(/^[A-Za-z]{2}$/, 'countryCode is two letters, e.g. US, GB'),
  documentType: z.enum(DOCUMENT_TYPES, { error: `documentType is one of ${DOCUMENT_TYPES.join(', ')}` }).default('passport'),
  bgColor: z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'bgColor is #RRGGBB').optional(),
  keepBackground: z.boolean().default(false),
  printLayout: z.enum(['none', ...PAPER_SIZES], { error: `printLayout is one of none, ${PAPER_SIZES.join(', ')}` }).default('none'),
  maxFileSizeKb: z.number().min(0, 'maxFileSizeKb is 0 (no limit) or more').default(0),
  dpi: z.int({ error: 'dpi must be a whole number' }).min(MIN_DPI, `dpi must be ${MIN_DPI}-${MAX_DPI}`).max(MAX_DPI, `dpi must be ${MIN_DPI}-${MAX_DPI}`).default(300),
  customWidthMm: z.number().min(10).max(300).optional(),
  customHeightMm: z.number().min(10).max(300).optional(),
  zoom: z.number().min(0.5, 'zoom must be 0.5-3').max(3, 'zoom must be 0.5-3').default(1),
  adjustX: z.number().min(-20).max(20).default(0),
  adjustY: z.number().min(-20).max(20).default(0),
  landmarks: z.object({ leftEye: point, rightEye: point, eyeCenter: point, chin: point, forehead: point, crown: point, nose: point, faceCenterX: unit }, { error: 'landmarks (from analyze) are required' }),
  imageWidth: z.int().positive(),
  imageHeight: z.int().positive(),
});

/** the caller's key id: jobs, files and progress are per key */
const ownerOf = (ctx: Context) => ctx.state.operation?.principal?.keyId ?? null;

function analyzeUpload(ctx: Context): { bytes: Buffer; filename: string; clientJobId?: string } {
  const { files, fields } = multipartParts(ctx);
  for (const name of [...files.keys(), ...fields.keys()]) {
    if (name !== 'file' && name !== 'clientJobId') throw new ApiError('bad_request', `unexpected multipart part "${name}": send "file" and optionally "clientJobId"`);
  }
  const uploads = files.get('file') ?? [];
  if (uploads.length !== 1) throw new ApiError('missing_image', 'send exactly one "file" part (curl -F file=@photo.jpg)');
  if (uploads[0].length === 0) throw new ApiError('image_decode_failed', 'the "file" part is empty');
  const clientJobId = fields.get('clientJobId')?.[0]?.toString('latin1');
  if (clientJobId !== undefined && !CLIENT_JOB_ID.test(clientJobId)) throw new ApiError('bad_request', 'clientJobId is 1-128 characters of A-Z, a-z, 0-9, _ or -');
  const file = (ctx.request.files?.file as { originalFilename?: string } | undefined)?.originalFilename;
  return { bytes: uploads[0], filename: (file ?? 'photo.jpg').slice(0, 255), clientJobId };
}

export function passportPhotoRouter(service: PassportPhotoService, progress: ProgressHub, limits: BodyLimits, maxJsonBytes: number, progressTimeoutMs: number): Router {
  const router = new Router();
  router.post(PASSPORT_PHOTO_PATHS.base, (ctx) => {
    ctx.status = 400;
    ctx.body = { error: `Use ${PASSPORT_PHOTO_PATHS.analyze} or /generate` };
  });

  router.post(PASSPORT_PHOTO_PATHS.analyze, requireContentType('multipart/form-data', 'a "file" part and an optional "clientJobId"'), refuseWhenBusy(service), multipartParser(limits), async (ctx) => {
    const upload = analyzeUpload(ctx);
    try {
      const { job, preview, previewWidth, previewHeight, landmarks } = await service.analyze(upload, ownerOf(ctx), upload.clientJobId);
      ctx.state.operation!.record({ subjectId: job.jobId, decision: 'analyzed' });
      ctx.body = { jobId: job.jobId, filename: job.meta.filename, preview: Buffer.from(preview).toString('base64'), previewWidth, previewHeight, landmarks, imageWidth: job.meta.width, imageHeight: job.meta.height };
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'no_face_detected') throw error;
      ctx.status = 422;
      ctx.body = { error: 'No face detected', details: NO_FACE_DETAILS };
    }
  });

  router.post(PASSPORT_PHOTO_PATHS.generate, requireContentType('application/json', 'the JSON body documented for generate'), refuseWhenBusy(service), async (ctx) => {
    const request = await parseJsonRequest(ctx, generateRequestSchema, maxJsonBytes);
    const generated = await service.generate(request, ownerOf(ctx));
    ctx.state.operation!.record({ subjectId: generated.jobId, decision: 'generated' });
    ctx.body = generated;
  });

  router.get(PASSPORT_PHOTO_PATHS.download, async (ctx) => {
    const { jobId, file } = ctx.params as { jobId: string; file: string };
    ctx.body = await service.download(jobId, file, ownerOf(ctx));
    ctx.type = file.endsWith('.jpg') ? 'image/jpeg' : 'application/octet-stream';
    ctx.set('Content-Disposition', `attachment; filename="${file}"`);
    ctx.set('Cache-Control', 'private, no-store');
    ctx.state.operation!.record({ subjectId: jobId, decision: 'downloaded' });
  });

  router.get(PASSPORT_PHOTO_PATHS.progress, (ctx) => {
    const { clientJobId } = ctx.params as { clientJobId: string };
    if (!CLIENT_JOB_ID.test(clientJobId)) throw new ApiError('bad_request', 'clientJobId is 1-128 characters of A-Z, a-z, 0-9, _ or -');
    const stream = new PassThrough();
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = stream;
    // the stream ends with the job, or after the time limit for a job that never comes
    const close = () => {
      clearTimeout(timer);
      unsubscribe();
      stream.end();
    };
    const timer = setTimeout(close, progressTimeoutMs);
    const unsubscribe = progress.subscribe(ownerOf(ctx), clientJobId, (event) => {
      stream.write(`event: progress\ndata: ${JSON.stringify(event)}\n\n`);
      if (event.stage === 'done' || event.stage === 'failed') setImmediate(close);
    });
    ctx.req.on('close', close);
  });
  return router;
}
