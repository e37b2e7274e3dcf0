import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.ts';
import { idPhotoRequestSchemas } from './id-photo.controller.ts';
import { generateRequestSchema, PASSPORT_PHOTO_PATHS } from './passport-photo.controller.ts';

// The passport-photo routes in the OpenAPI document. Request bodies are generated from the zod schemas
// the controllers validate with, so the two cannot disagree.

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
function fromZod(schema: z.ZodType) {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return body;
}

const PHOTO_ERRORS: ErrorCode[] = [
  'bad_request', 'missing_image', 'image_decode_failed', 'unsupported_image_format', 'unauthorized', 'forbidden', 'not_found',
  'upload_timeout', 'payload_too_large', 'unsupported_media_type', 'file_size_unreachable', 'service_unavailable', 'request_timeout', 'internal_error',
];

function errors(codes: ErrorCode[] = PHOTO_ERRORS) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries([...byStatus].map(([status, list]) => [String(status), { description: `error: ${list.map((c) => `\`${c}\``).join(', ')}`, ...json(ref('ErrorJson')) }]));
}

const point = { type: 'object', required: ['x', 'y'], properties: { x: { type: 'number' }, y: { type: 'number' } } };
const band = {
  type: 'object',
  required: ['min', 'max', 'measured', 'inside'],
  properties: { min: { type: 'number' }, max: { type: 'number' }, measured: { type: 'number' }, inside: { type: 'boolean' } },
};

const tag = ['passport-photo'];
const v2 = (operationId: string, summary: string, request: z.ZodType, response: string) => ({
  post: {
    operationId,
    summary,
    description: 'The key travels in the body: `apiKey` is its public id (fsk_…), `apiSecret` the rest; it needs the `photo` scope.',
    tags: ['id-photo-v2'],
    security: [{}],
    requestBody: { required: true, ...json(fromZod(request)) },
    responses: { '200': { description: 'done', ...json(ref(response)) }, ...errors() },
  },
});

export function photoOpenApi() {
  const paths = {
    [PASSPORT_PHOTO_PATHS.base]: {
      post: { operationId: 'passportPhotoGuidance', summary: 'Guidance: use /analyze or /generate', tags: tag, responses: { '400': { description: 'guidance', ...json(ref('PassportGuidance')) } } },
    },
    [PASSPORT_PHOTO_PATHS.analyze]: {
      post: {
        operationId: 'passportPhotoAnalyze',
        summary: 'Phase 1: find the face and the person outline; keeps the photo as a job (photo scope)',
        tags: tag,
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' }, clientJobId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } } },
            },
          },
        },
        // analyze makes no file, so its only 422 is the reference's own no-face answer
        responses: { ...errors(), '200': { description: 'landmarks (0–1) and a preview', ...json(ref('PassportAnalysis')) }, '422': { description: 'no face', ...json(ref('PassportNoFace')) } },
      },
    },
    [PASSPORT_PHOTO_PATHS.generate]: {
      post: {
        operationId: 'passportPhotoGenerate',
        summary: 'Phase 2: the spec photo (and print sheet) from an analyzed job, re-measured against the spec bands (photo scope)',
        tags: tag,
        requestBody: { required: true, ...json(fromZod(generateRequestSchema)) },
        responses: { '200': { description: 'the photo', ...json(ref('PassportGenerated')) }, ...errors() },
      },
    },
    '/api/v1/download/{jobId}/{file}': {
      get: {
        operationId: 'passportPhotoDownload',
        summary: 'A file of a job made with the same key (photo scope); jobs expire after the configured TTL',
        tags: tag,
        parameters: ['jobId', 'file'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        responses: { '200': { description: 'the file', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errors() },
      },
    },
    '/api/v1/jobs/{clientJobId}/progress': {
      get: {
        operationId: 'passportPhotoProgress',
        summary: 'Server-sent events of an analyze job by its clientJobId (0–30 % landmarks, 30–95 % background), same key only',
        tags: tag,
        parameters: [{ name: 'clientJobId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: '`event: progress` lines with {percent, stage, error?}', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors() },
      },
    },
    '/v2/health': { get: { operationId: 'idPhotoHealth', summary: 'Health of the /v2/ API', tags: ['id-photo-v2'], security: [{}], responses: { '200': { description: 'ok', ...json(ref('IdPhotoHealth')) } } } },
    '/v2/queryAccountStatus': v2('idPhotoAccountStatus', 'Account status and usage of the calling key', idPhotoRequestSchemas.plain, 'IdPhotoAccount'),
    '/v2/listIdPhotoSpecCode': v2('idPhotoListSpecs', 'All spec codes', idPhotoRequestSchemas.plain, 'IdPhotoSpecList'),
    '/v2/getIdPhotoSpec': v2('idPhotoSpec', 'One spec in detail', idPhotoRequestSchemas.spec, 'IdPhotoSpecDetails'),
    '/v2/makeIdPhoto': v2('makeIdPhoto', 'Make an ID photo in one call', idPhotoRequestSchemas.make, 'IdPhotoMade'),
    '/v2/makeIdPhotoWatermark': v2('makeIdPhotoWatermark', 'Make an ID photo; only a watermarked preview is given out', idPhotoRequestSchemas.watermark, 'IdPhotoMade'),
    '/v2/getIdPhotoNoWatermark': v2('getIdPhotoNoWatermark', 'Release the clean photo of a watermark-mode job, for the key that made it', idPhotoRequestSchemas.release, 'IdPhotoMade'),
  };
  const measured = {
    type: 'object',
    required: ['headHeightMm', 'rollDegrees', 'eyeDistancePx', 'crownFrom'],
    properties: { headHeightMm: band, eyeLineFromBottomMm: band, rollDegrees: { type: 'number' }, eyeDistancePx: { type: 'number' }, crownFrom: { enum: ['mask', 'mesh'] } },
  };
  const schemas = {
    PassportGuidance: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
    PassportNoFace: { type: 'object', required: ['error', 'details'], properties: { error: { const: 'No face detected' }, details: { type: 'string' } } },
    PassportAnalysis: {
      type: 'object',
      required: ['jobId', 'filename', 'preview', 'previewWidth', 'previewHeight', 'landmarks', 'imageWidth', 'imageHeight'],
      properties: {
        jobId: { type: 'string' },
        filename: { type: 'string' },
        preview: { type: 'string', contentEncoding: 'base64', description: 'PNG, at most 800 px wide' },
        previewWidth: { type: 'integer' },
        previewHeight: { type: 'integer' },
        landmarks: {
          type: 'object',
          required: ['leftEye', 'rightEye', 'eyeCenter', 'chin', 'forehead', 'crown', 'nose', 'faceCenterX'],
          properties: { leftEye: point, rightEye: point, eyeCenter: point, chin: point, forehead: point, crown: point, nose: point, faceCenterX: { type: 'number' } },
        },
        imageWidth: { type: 'integer' },
        imageHeight: { type: 'integer' },
      },
    },
    PassportGenerated: {
      type: 'object',
      required: ['jobId', 'downloadUrl', 'dimensions', 'spec', 'issues'],
      properties: {
        jobId: { type: 'string' },
        downloadUrl: { type: 'string' },
        dimensions: { type: 'object', required: ['widthMm', 'heightMm', 'widthPx', 'heightPx', 'dpi'], properties: Object.fromEntries(['widthMm', 'heightMm', 'widthPx', 'heightPx', 'dpi'].map((k) => [k, { type: 'number' }])) },
        spec: { type: 'object', required: ['country', 'countryCode', 'documentType', 'documentLabel'], properties: Object.fromEntries(['country', 'countryCode', 'documentType', 'documentLabel'].map((k) => [k, { type: 'string' }])) },
        printDownloadUrl: { type: 'string' },
        measured: { ...measured, description: 'the output examined again: head height (chin to crown) and eye line, mm, against the spec bands; absent when the face is not found again' },
        issues: { type: 'array', items: { type: 'string' }, description: 'ISSUE_TOP/BOTTOM/LEFT/RIGHT_INCOMPLETE where the crop ran off the photo and was padded with the background colour' },
      },
    },
    IdPhotoHealth: { type: 'object', required: ['status'], properties: { status: { const: 'GOOD' } } },
    IdPhotoAccount: { type: 'object', required: ['accountStatus', 'usage'], properties: { accountStatus: { type: 'string' }, subscription: { type: 'object' }, usage: { type: 'object', additionalProperties: { type: 'integer' } } } },
    IdPhotoSpecList: {
      type: 'object',
      required: ['results', 'total'],
      properties: { results: { type: 'array', items: { type: 'object', required: ['specCode', 'specCodeName'], properties: { specCode: { type: 'string' }, specCodeName: { type: 'string' } } } }, total: { type: 'integer' } },
    },
    IdPhotoSpecDetails: { type: 'object', required: ['specCode', 'specCodeName', 'photoSize', 'photoPixel', 'photoDpi', 'headHeight'], properties: { specCode: { type: 'string' }, specCodeName: { type: 'string' } } },
    IdPhotoMade: {
      type: 'object',
      required: ['photoUuid', 'issues'],
      properties: {
        photoUuid: { type: 'string' },
        idPhotoUrl: { type: 'string' },
        idphotoImageBase64: { type: 'string', contentEncoding: 'base64' },
        originalPhotoUrl: { type: 'string' },
        issues: { type: 'array', items: { type: 'string' } },
        waterMark: { type: 'boolean' },
        photoSheet: { type: 'object', additionalProperties: { type: 'string' } },
        measured,
      },
    },
  };
  return { paths, schemas };
}
