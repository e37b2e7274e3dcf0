import Router from '@koa/router';
import type { Config } from '../config/config.ts';
import { ERROR_STATUS, type ErrorCode } from '../errors.ts';
import { PARTITION_NAME_PATTERN } from '../gallery/gallery.ts';
import { METRICS_PATH } from '../metrics/metrics.ts';
import { OPERATIONS } from '../security/auth.service.ts';
import { MAX_SUBJECT_ID_LENGTH } from './metadata.ts';
import { PHOTO_CHECK_PATH } from '../compliance/compliance.controller.ts';
import { photoOpenApi } from '../photo/openapi.ts';
import { MAD_PATH } from './mad.controller.ts';
import { DEFAULT_PROFILE, ISSUE_CODES, SENSITIVITIES, type ComplianceProfiles } from '../compliance/profiles.ts';
import { CLAIM_PATHS, USER_ID_PATTERN } from '../claims/claims.controller.ts';
import { CLAIM_SOURCES, TEMPLATE_SOURCES } from '../gallery/gallery.ts';
import { MAX_PAGE_SIZE } from './subjects.controller.ts';
import { AUDIT_PATH, MAX_AUDIT_ROWS } from './audit.controller.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const HEALTH_COMPONENTS = ['faiss_index', 'template_key', 'onnx_detection', 'onnx_recognition', 'onnx_quality', 'onnx_pad'];
const faceCount = { type: 'integer', minimum: 1, description: 'faces found in the image; the largest is the subject' };

/** Which error codes each kind of endpoint can answer, grouped by status for the document. */
const MULTIPART_ERRORS: ErrorCode[] = [
  'bad_request', 'invalid_metadata', 'missing_image', 'image_decode_failed', 'unsupported_image_format', 'no_face_detected',
  'unauthorized', 'forbidden', 'unknown_subject', 'unknown_partition', 'upload_timeout', 'duplicate_identity', 'partition_limit_reached',
  'payload_too_large', 'unsupported_media_type', 'quality_too_low', 'multiple_faces', 'presentation_attack_detected', 'morphing_attack_detected',
  'service_unavailable', 'request_timeout', 'internal_error',
];
/** the reference image goes through the probe pipeline, so its refusals (quality, PAD) can come back */
const MAD_ERRORS: ErrorCode[] = [
  'bad_request', 'missing_image', 'image_decode_failed', 'unsupported_image_format', 'no_face_detected', 'unauthorized', 'forbidden',
  'upload_timeout', 'payload_too_large', 'unsupported_media_type', 'quality_too_low', 'presentation_attack_detected', 'service_unavailable', 'request_timeout', 'internal_error',
];
const DELETE_ERRORS: ErrorCode[] = ['bad_request', 'invalid_metadata', 'unauthorized', 'forbidden', 'unknown_subject', 'unknown_partition', 'upload_timeout', 'payload_too_large', 'unsupported_media_type', 'service_unavailable', 'request_timeout', 'internal_error'];
const PHOTO_CHECK_ERRORS: ErrorCode[] = [
  'bad_request', 'invalid_metadata', 'missing_image', 'image_decode_failed', 'unsupported_image_format', 'unauthorized', 'forbidden',
  'upload_timeout', 'payload_too_large', 'unsupported_media_type', 'service_unavailable', 'request_timeout', 'internal_error',
];
const CROPPER_ERRORS: ErrorCode[] = [
  'bad_request', 'invalid_metadata', 'unauthorized', 'forbidden', 'upload_timeout', 'payload_too_large', 'unsupported_media_type',
  'document_not_found', 'document_cut', 'document_too_small', 'document_blurred', 'document_glare', 'service_unavailable', 'request_timeout', 'internal_error',
];
const UTILITY_ERRORS: ErrorCode[] = ['unauthorized', 'forbidden', 'service_unavailable', 'request_timeout', 'internal_error'];
const SUBJECT_ERRORS: ErrorCode[] = [...UTILITY_ERRORS, 'invalid_metadata', 'unknown_partition', 'unknown_subject'];
const CLAIM_JSON_ERRORS: ErrorCode[] = ['bad_request', 'invalid_metadata', 'unauthorized', 'forbidden', 'upload_timeout', 'payload_too_large', 'unsupported_media_type', 'service_unavailable', 'request_timeout', 'internal_error'];
const CLAIM_TOKEN_ERRORS: ErrorCode[] = ['token_unknown', 'token_wrong_key', 'token_wrong_purpose', 'token_used', 'token_expired'];
const CLAIM_IMAGE_ERRORS: ErrorCode[] = [...CLAIM_JSON_ERRORS, ...CLAIM_TOKEN_ERRORS, 'missing_image', 'token_tries_exhausted'];
/** what each claim endpoint can answer besides the common refusals */
const CLAIM_ERRORS: Record<keyof typeof CLAIM_PATHS, ErrorCode[]> = {
  enrolToken: CLAIM_JSON_ERRORS,
  verifyToken: [...CLAIM_JSON_ERRORS, 'unknown_subject', 'unknown_partition'],
  enrolImage: [
    ...CLAIM_IMAGE_ERRORS, 'source_mismatch', 'image_too_large', 'unsupported_image_format', 'image_decode_failed', 'no_face_detected', 'multiple_faces',
    'eyes_too_close', 'photo_not_compliant', 'quality_too_low', 'presentation_attack_detected', 'duplicate_identity', 'partition_limit_reached',
  ],
  verifyImage: [...CLAIM_IMAGE_ERRORS, 'unknown_subject'],
  validate: [...CLAIM_JSON_ERRORS, ...CLAIM_TOKEN_ERRORS, 'token_wrong_user', 'outcome_pending'],
};
const ANY_ROUTE_ERRORS: ErrorCode[] = ['not_found', 'method_not_allowed'];

function errorResponses(codes: ErrorCode[], mediaType: 'application/xml' | 'application/json') {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, ...ANY_ROUTE_ERRORS]) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const schema = ref(mediaType === 'application/xml' ? 'ErrorResponse' : 'ErrorJson');
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => [String(status), { description: `error: ${statusCodes.map((code) => `\`${code}\``).join(', ')}`, content: { [mediaType]: { schema } } }]),
  );
}

const imagePart = { type: 'string', contentMediaType: 'application/octet-stream', description: 'exactly one file part: JPEG, PNG, WebP or JPEG 2000' };
const imageEncoding = { contentType: 'image/jpeg, image/png, image/webp, image/jp2, application/octet-stream' };
const referenceImagePart = {
  ...imagePart,
  description: 'optional, at most one file part: a trusted live photo of the same person; the image is then also checked by differential morphing-attack detection against it',
};

function multipartRequest(metadataSchema: string, metadataRequired: boolean, referenceImage = false) {
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: metadataRequired ? ['image', 'metadata'] : ['image'],
          additionalProperties: false,
          properties: {
            image: imagePart,
            metadata: { ...ref(metadataSchema), description: 'a JSON object as a text (or file) part; at most one' },
            ...(referenceImage ? { reference_image: referenceImagePart } : {}),
          },
        },
        encoding: { image: imageEncoding, metadata: { contentType: 'application/json, text/plain' }, ...(referenceImage ? { reference_image: imageEncoding } : {}) },
      },
    },
  };
}

function biometricOperation(operation: string, summary: string, request: object, responseSchema: string, errors: ErrorCode[]) {
  return {
    post: {
      operationId: operation,
      summary,
      description: `Needs an API key with the \`${operation}\` scope and the request's partition, unless the server runs without keys.`,
      tags: ['biometric'],
      requestBody: request,
      responses: { '200': { description: 'done', content: { 'application/xml': { schema: ref(responseSchema) } } }, ...errorResponses(errors, 'application/xml') },
    },
  };
}

function utilityOperation(operationId: string, summary: string, responseSchema: string, extra: Record<string, object> = {}, security?: object[]) {
  return {
    get: {
      operationId,
      summary,
      tags: ['utility'],
      ...(security ? { security } : {}),
      responses: { '200': { description: 'ok', content: { 'application/json': { schema: ref(responseSchema) } } }, ...extra, ...errorResponses(UTILITY_ERRORS, 'application/json') },
    },
  };
}

function idCropperOperation(operationId: string, summary: string) {
  return {
    post: {
      operationId,
      summary,
      description:
        'Finds the ID document in a photo, straightens it and returns it cropped, upright, with its corners and the portrait printed on it. ' +
        'Needs an API key with the `documents` scope, unless the server runs without keys. 422 answers say which check failed in `error_code`; ' +
        'their `message` is in `lang` where a translation exists (en, ar, fr, es), English otherwise.',
      tags: ['documents'],
      requestBody: { required: true, content: { 'application/json': { schema: ref('IdCropperRequest') } } },
      responses: { '200': { description: 'the document', content: { 'application/json': { schema: ref('IdCropperResponse') } } }, ...errorResponses(CROPPER_ERRORS, 'application/json') },
    },
  };
}

const score = (description: string) => ({ type: 'number', minimum: 0, maximum: 1, description });

function claimOperation(path: keyof typeof CLAIM_PATHS, scope: string, summary: string, request: object, responseSchema: string) {
  return {
    post: {
      operationId: `claim${path[0].toUpperCase()}${path.slice(1)}`,
      summary,
      description: `Needs an API key with the \`${scope}\` scope and the partition, unless the server runs without keys. A token works only for the key that asked for it.`,
      tags: ['claims'],
      requestBody: request,
      responses: { '200': { description: 'done', content: { 'application/json': { schema: ref(responseSchema) } } }, ...errorResponses(CLAIM_ERRORS[path], 'application/json') },
    },
  };
}

function claimImageRequest(withSource: boolean) {
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['token', 'image'],
          additionalProperties: false,
          properties: {
            token: { type: 'string', description: 'the token from the matching /token call' },
            image: { type: 'string', contentMediaType: 'application/octet-stream', description: withSource ? 'the trusted photo: PNG, JPEG or JPEG 2000 (.jp2 or raw codestream), at most 2 MB' : 'the live capture' },
            ...(withSource ? { source: { enum: [...CLAIM_SOURCES], description: 'optional; must be the token\'s source' } } : {}),
          },
        },
      },
    },
  };
}

const jsonRequest = (schema: string) => ({ required: true, content: { 'application/json': { schema: ref(schema) } } });

/**
 * The API as served, OpenAPI 3.1. Defaults and limits come from the running configuration so the
 * document never disagrees with the server that hands it out.
 */
export function openApiDocument(config: Pick<Config, 'matching' | 'auth'>, profiles: ComplianceProfiles) {
  const partition = { type: 'string', pattern: PARTITION_NAME_PATTERN.source, default: 'default', description: 'gallery partition' };
  const subjectId = { type: 'string', minLength: 1, maxLength: MAX_SUBJECT_ID_LENGTH, description: 'subject id; no control characters' };
  const threshold = { type: 'number', minimum: 0, maximum: 1, default: config.matching.defaultThreshold, description: 'minimum calibrated score (0–1) for a match' };
  const healthSecurity = config.auth.publicHealth ? [{}] : undefined;
  const photo = photoOpenApi();
  const sources = { type: 'array', minItems: 1, items: { enum: [...TEMPLATE_SOURCES] }, description: 'only templates from these sources count (enrol: the plain endpoint; eid, oid, selfie: claims); absent: all' };
  const userId = { type: 'string', pattern: USER_ID_PATTERN.source, description: 'the user\'s id, also the subject id of their templates' };
  const timestamp = { type: 'string', format: 'date-time' };
  // type lists rather than oneOf: a validator that coerces types takes null for a number or string
  const nullable = (schema: { type?: string; enum?: readonly unknown[] }) =>
    schema.enum ? { ...schema, enum: [...schema.enum, null] } : { ...schema, type: [schema.type, 'null'] };
  const claimToken = {
    type: 'object',
    additionalProperties: false,
    required: ['token', 'token_id', 'expires_at', 'user_id'],
    properties: {
      token: { type: 'string', description: '256 random bits, base64url; the server keeps only its SHA-256' },
      token_id: { type: 'string', description: 'public reference of the token, as the user\'s record lists it' },
      expires_at: timestamp,
      user_id: userId,
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'faceserver',
      version: '1',
      description:
        'Face enrolment, 1:N search and 1:1 verification. Biometric endpoints answer XML, the others JSON. ' +
        'Every response carries an X-Request-Id header. API key scopes: ' + OPERATIONS.join(', ') + '.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }],
    tags: [{ name: 'biometric' }, { name: 'claims' }, { name: 'compliance' }, { name: 'documents' }, { name: 'passport-photo' }, { name: 'id-photo-v2' }, { name: 'utility' }],
    paths: {
      '/api/v1/enrol': biometricOperation('enrol', 'Enrol a face (adds a template when the subject exists)', multipartRequest('EnrolMetadata', true, true), 'EnrolResponse', MULTIPART_ERRORS),
      '/api/v1/search': biometricOperation('search', '1:N search of a partition', multipartRequest('SearchMetadata', false), 'SearchResponse', MULTIPART_ERRORS),
      '/api/v1/verify': biometricOperation('verify', '1:1 verification against an enrolled subject', multipartRequest('VerifyMetadata', true), 'VerifyResponse', MULTIPART_ERRORS),
      '/api/v1/delete': biometricOperation('delete', 'Delete a subject and all its templates', { required: true, content: { 'application/json': { schema: ref('DeleteRequest') } } }, 'DeleteResponse', DELETE_ERRORS),
      [PHOTO_CHECK_PATH]: {
        post: {
          operationId: 'photoCheck',
          summary: 'Judge a photo against a compliance profile (ICAO 9303 / ISO/IEC 19794-5, enrolment)',
          description:
            'Needs an API key with the `check` scope (no partition). A photo without a face is a verdict (200, ISSUE_FACE_NOT_FOUND), not an error. ' +
            'Checks marked `heuristic` are rules of thumb on pixels: a failure is a prompt to look, not proof.',
          tags: ['compliance'],
          requestBody: multipartRequest('PhotoCheckMetadata', false),
          responses: { '200': { description: 'the verdict', content: { 'application/json': { schema: ref('PhotoCheckResponse') } } }, ...errorResponses(PHOTO_CHECK_ERRORS, 'application/json') },
        },
      },
      [MAD_PATH]: {
        post: {
          operationId: 'mad',
          summary: 'Morphing-attack detection scores of a photo: single-image (S-MAD), and differential (D-MAD) against a reference photo',
          description:
            'Needs an API key with the `check` scope (no partition). Refuses nothing for being a morph: it reports each method\'s score, threshold and decision. ' +
            'Error rates of both methods on generated morphs are in the README (MAD section).',
          tags: ['compliance'],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: { type: 'object', required: ['image'], additionalProperties: false, properties: { image: imagePart, reference_image: referenceImagePart } },
                encoding: { image: imageEncoding, reference_image: imageEncoding },
              },
            },
          },
          responses: { '200': { description: 'the scores', content: { 'application/json': { schema: ref('MadResponse') } } }, ...errorResponses(MAD_ERRORS, 'application/json') },
        },
      },
      '/api/v1/id_cropper/register': idCropperOperation('idCropperRegister', 'Crop an ID document out of a photo'),
      '/api/v1/id_cropper_register': idCropperOperation('idCropperRegisterAlias', 'Crop an ID document out of a photo (the same endpoint, the reference\'s other spelling)'),
      ...photo.paths,
      [CLAIM_PATHS.enrolToken]: claimOperation('enrolToken', 'claim_enrol', 'A token to enrol one trusted photo of a user', jsonRequest('ClaimEnrolTokenRequest'), 'ClaimToken'),
      [CLAIM_PATHS.enrolImage]: claimOperation('enrolImage', 'claim_enrol', 'Enrol the trusted photo (e-passport chip image, document portrait, trusted selfie)', claimImageRequest(true), 'ClaimEnrolResponse'),
      [CLAIM_PATHS.verifyToken]: claimOperation('verifyToken', 'claim_verify', 'A token to verify a user enrolled from a trusted photo', jsonRequest('ClaimVerifyTokenRequest'), 'ClaimToken'),
      [CLAIM_PATHS.verifyImage]: claimOperation('verifyImage', 'claim_verify', 'The live capture: compared 1:1 with the trusted photo; the outcome is stored against the token, not answered', claimImageRequest(false), 'ClaimReceived'),
      [CLAIM_PATHS.validate]: claimOperation('validate', 'claim_verify', 'The verification outcome, given once', jsonRequest('ClaimValidateRequest'), 'ClaimValidation'),
      '/api/v1/subjects/{partition}': {
        get: {
          operationId: 'subjects',
          summary: 'A page of the partition\'s subjects with their template sources (admin scope)',
          tags: ['utility'],
          parameters: [
            { name: 'partition', in: 'path', required: true, schema: partition },
            { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } },
            { name: 'page_size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 } },
          ],
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: ref('SubjectPage') } } }, ...errorResponses(SUBJECT_ERRORS, 'application/json') },
        },
      },
      '/api/v1/subjects/{partition}/{subject_id}': {
        get: {
          operationId: 'subject',
          summary: 'What a subject\'s record holds: templates (source, time, quality; never vectors) and claim tokens with their outcomes (admin scope)',
          tags: ['utility'],
          parameters: [
            { name: 'partition', in: 'path', required: true, schema: partition },
            { name: 'subject_id', in: 'path', required: true, schema: subjectId },
          ],
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: ref('SubjectRecord') } } }, ...errorResponses(SUBJECT_ERRORS, 'application/json') },
        },
      },
      '/api/v1/health': utilityOperation('health', 'Component health', 'HealthResponse', { '503': { description: 'a component is down', content: { 'application/json': { schema: ref('HealthResponse') } } } }, healthSecurity),
      '/api/v1/partitions': utilityOperation('partitions', 'Partition names (admin scope)', 'PartitionsResponse'),
      '/api/v1/stats': utilityOperation('stats', 'Subjects per partition (admin scope)', 'StatsResponse'),
      [AUDIT_PATH]: {
        get: {
          operationId: 'audit',
          summary: 'The latest audit rows, newest first, of the partitions the key may use (admin scope); the whole log: npm run audit -- export',
          tags: ['utility'],
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_AUDIT_ROWS, default: 50 } }],
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: ref('AuditRows') } } }, ...errorResponses(UTILITY_ERRORS, 'application/json') },
        },
      },
      [OPENAPI_PATH]: utilityOperation('openapi', 'This document', 'OpenApiDocument', {}, [{}]),
      [METRICS_PATH]: {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics, text exposition format (admin scope)',
          tags: ['utility'],
          responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses(UTILITY_ERRORS, 'application/json') },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer fsk_<id>_<secret>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: {
        EnrolMetadata: { type: 'object', additionalProperties: false, required: ['subject_id'], properties: { subject_id: subjectId, partition } },
        SearchMetadata: {
          type: 'object',
          additionalProperties: false,
          properties: {
            partition,
            top_k: { type: 'integer', minimum: 1, maximum: config.matching.maxTopK, default: config.matching.defaultTopK, description: 'most candidates returned' },
            threshold,
            sources,
          },
        },
        VerifyMetadata: { type: 'object', additionalProperties: false, required: ['subject_id'], properties: { subject_id: subjectId, partition, threshold, sources } },
        DeleteRequest: { type: 'object', additionalProperties: false, required: ['subject_id'], properties: { subject_id: subjectId, partition } },
        EnrolResponse: {
          type: 'object',
          xml: { name: 'EnrolResponse' },
          additionalProperties: false,
          required: ['status', 'subject_id', 'quality_score', 'model_id', 'face_count'],
          properties: {
            status: { const: 'OK' },
            subject_id: subjectId,
            quality_score: score('face quality of the image, 0–1'),
            model_id: { type: 'string' },
            face_count: faceCount,
            duplicate_of: {
              type: 'object',
              additionalProperties: false,
              required: ['subject_id', 'score'],
              properties: { subject_id: subjectId, score: score('calibrated similarity to the existing subject') },
              description: 'duplicate-identity check in report mode: the face was enrolled, and matches this other subject',
            },
            differential_mad: {
              ...ref('DifferentialMadVerdict'),
              description: 'present when a reference_image was sent: differential MAD found no morph (bona_fide), or did not judge the pair (not_applicable, with the reason); a morph is refused with 451',
            },
          },
        },
        Candidate: {
          type: 'object',
          xml: { name: 'candidate' },
          additionalProperties: false,
          required: ['subject_id', 'score', 'rank'],
          properties: { subject_id: subjectId, score: score('calibrated similarity of the subject\'s best template'), rank: { type: 'integer', minimum: 1 } },
        },
        SearchResponse: {
          type: 'object',
          xml: { name: 'SearchResponse' },
          additionalProperties: false,
          required: ['status', 'candidates', 'quality_score', 'model_id', 'face_count'],
          properties: {
            status: { const: 'OK' },
            candidates: { type: 'array', xml: { wrapped: true }, items: { ...ref('Candidate') }, description: 'best first, all with score ≥ threshold; an empty element when none' },
            quality_score: score('face quality of the probe, 0–1'),
            model_id: { type: 'string' },
            face_count: faceCount,
          },
        },
        VerifyResponse: {
          type: 'object',
          xml: { name: 'VerifyResponse' },
          additionalProperties: false,
          required: ['status', 'match', 'score', 'subject_id', 'quality_score', 'model_id', 'face_count'],
          properties: {
            status: { const: 'OK' },
            match: { type: 'boolean', description: 'score ≥ threshold' },
            score: score('calibrated similarity of the subject\'s best template'),
            subject_id: subjectId,
            quality_score: score('face quality of the probe, 0–1'),
            model_id: { type: 'string' },
            face_count: faceCount,
          },
        },
        DeleteResponse: {
          type: 'object',
          xml: { name: 'DeleteResponse' },
          additionalProperties: false,
          required: ['status', 'subject_id'],
          properties: { status: { const: 'OK' }, subject_id: subjectId },
        },
        PhotoCheckMetadata: {
          type: 'object',
          additionalProperties: false,
          properties: {
            profile: { enum: Object.keys(profiles), default: DEFAULT_PROFILE, description: 'the rule set to judge by' },
            issueSensitivityOverride: {
              type: 'object',
              propertyNames: { enum: [...ISSUE_CODES] },
              additionalProperties: { enum: [...SENSITIVITIES] },
              description: 'per issue code: VERY_LOW … VERY_HIGH, higher is stricter; MEDIUM when not named',
            },
          },
        },
        PhotoCheckResponse: photoCheckResponse(),
        MadScore: {
          type: 'object',
          additionalProperties: false,
          required: ['score', 'threshold', 'decision'],
          properties: {
            score: score('the method\'s probability that the face is a morph'),
            threshold: score('configured score at or above which the face is taken for a morph (pipeline.mad.*Threshold)'),
            decision: { enum: ['bona_fide', 'morph'] },
          },
        },
        DifferentialMadVerdict: {
          type: 'object',
          additionalProperties: false,
          required: ['threshold', 'decision'],
          properties: {
            score: score('D-MAD\'s probability that the photo is a morph the reference person contributed to; absent when not judged'),
            threshold: score('configured score at or above which the photo is taken for a morph (pipeline.mad.differentialThreshold)'),
            decision: { enum: ['bona_fide', 'morph', 'not_applicable'] },
            reason: {
              enum: ['capture_face_too_small', 'capture_not_frontal', 'capture_not_measured'],
              description: 'why the pair was not judged: the reference capture is smaller or more turned away than pipeline.mad.differentialCapture allows (or was not measured)',
            },
          },
        },
        MadResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['s_mad'],
          properties: {
            s_mad: { ...ref('MadScore'), description: 'single-image MAD of `image` (texture, frequency, noise and outline-edge features)' },
            d_mad: {
              ...ref('DifferentialMadVerdict'),
              description: 'differential MAD of `image` against `reference_image`, from the two face templates; present when a reference was sent; not_applicable when the reference capture is not one D-MAD can judge',
            },
          },
        },
        ClaimEnrolTokenRequest: { type: 'object', additionalProperties: false, required: ['user_id', 'source'], properties: { user_id: userId, partition, source: { enum: [...CLAIM_SOURCES] } } },
        ClaimVerifyTokenRequest: { type: 'object', additionalProperties: false, required: ['user_id'], properties: { user_id: userId, partition } },
        ClaimValidateRequest: { type: 'object', additionalProperties: false, required: ['token', 'user_id'], properties: { token: { type: 'string' }, user_id: userId } },
        ClaimToken: claimToken,
        ClaimEnrolResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['success', 'user_id', 'source', 'quality_score', 'issues', 'token_id'],
          properties: {
            success: { const: true },
            user_id: userId,
            source: { enum: [...CLAIM_SOURCES] },
            quality_score: score('face quality of the photo, 0–1'),
            issues: { type: 'array', items: { enum: [...ISSUE_CODES] }, description: 'minor compliance issues the photo was accepted with' },
            token_id: { type: 'string' },
          },
        },
        ClaimReceived: {
          type: 'object',
          additionalProperties: false,
          required: ['received', 'token_id', 'tries_left'],
          properties: { received: { const: true }, token_id: { type: 'string' }, tries_left: { type: 'integer', minimum: 0 } },
        },
        ClaimValidation: {
          type: 'object',
          additionalProperties: false,
          required: ['passed', 'score', 'threshold', 'source', 'mad', 'user_id', 'token_id'],
          properties: {
            passed: { type: 'boolean' },
            score: nullable(score('calibrated 1:1 score against the best trusted template')),
            threshold: score('the partition\'s threshold the decision was made with'),
            failure_reason: { type: 'string', description: 'no_match, morphing_attack_detected (differential MAD), or the error code the live capture was refused with (presentation_attack_detected, no_face_detected, quality_too_low, …)' },
            source: nullable({ enum: [...CLAIM_SOURCES] }),
            mad: {
              enum: ['not_configured', 'not_applicable', 'passed', 'failed'],
              description: 'differential morphing-attack detection between the trusted templates and the live capture: failed (then failure_reason is morphing_attack_detected), passed, not_applicable when the capture was refused before a template was made, did not match (D-MAD only judges matching pairs) or is not one D-MAD can judge (smaller or more turned away than pipeline.mad.differentialCapture allows: the claim passes on the match), not_configured when MAD is off',
            },
            user_id: userId,
            token_id: { type: 'string' },
          },
        },
        SubjectPage: {
          type: 'object',
          additionalProperties: false,
          required: ['partition', 'page', 'page_size', 'total', 'subjects'],
          properties: {
            partition: { type: 'string' },
            page: { type: 'integer', minimum: 1 },
            page_size: { type: 'integer', minimum: 1 },
            total: { type: 'integer', minimum: 0 },
            subjects: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['subject_id', 'created_at', 'template_count', 'sources'],
                properties: { subject_id: subjectId, created_at: timestamp, template_count: { type: 'integer', minimum: 1 }, sources: { type: 'array', items: { enum: [...TEMPLATE_SOURCES] } } },
              },
            },
          },
        },
        SubjectRecord: {
          type: 'object',
          additionalProperties: false,
          required: ['partition', 'subject_id', 'created_at', 'templates', 'claims'],
          properties: {
            partition: { type: 'string' },
            subject_id: subjectId,
            created_at: nullable(timestamp),
            templates: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['template_id', 'source', 'created_at', 'quality', 'model_id'],
                properties: { template_id: { type: 'integer' }, source: { enum: [...TEMPLATE_SOURCES] }, created_at: timestamp, quality: score('face quality at enrolment'), model_id: { type: 'string' } },
              },
            },
            claims: {
              type: 'array',
              description: 'claim tokens issued for the user, oldest first, with their outcomes',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['token_id', 'purpose', 'source', 'key_id', 'created_at', 'expires_at', 'tries_used', 'max_tries', 'validated_at', 'outcome'],
                properties: {
                  token_id: { type: 'string' },
                  purpose: { enum: ['enrol', 'verify'] },
                  source: nullable({ enum: [...CLAIM_SOURCES] }),
                  key_id: nullable({ type: 'string' }),
                  created_at: timestamp,
                  expires_at: timestamp,
                  tries_used: { type: 'integer', minimum: 0 },
                  max_tries: { type: 'integer', minimum: 1 },
                  validated_at: nullable(timestamp),
                  outcome: {
                    type: ['object', 'null'],
                    additionalProperties: false,
                    required: ['at', 'passed', 'score', 'threshold', 'failure_reason', 'source', 'quality', 'issues', 'mad'],
                    properties: {
                      at: timestamp,
                      passed: { type: 'boolean' },
                      score: nullable({ type: 'number' }),
                      threshold: nullable({ type: 'number' }),
                      failure_reason: nullable({ type: 'string' }),
                      source: nullable({ type: 'string' }),
                      quality: nullable({ type: 'number' }),
                      issues: { type: 'array', items: { type: 'string' } },
                      mad: nullable({ type: 'string' }),
                    },
                  },
                },
              },
            },
          },
        },
        ErrorResponse: { ...errorBody(), xml: { name: 'ErrorResponse' } },
        ErrorJson: errorBody(),
        ...photo.schemas,
        IdCropperRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['img'],
          properties: {
            img: { type: 'string', minLength: 1, contentEncoding: 'base64', description: 'the photo (JPEG, PNG or WebP), base64; a data: URL prefix and line breaks are accepted' },
            lang: { type: 'string', description: 'language of error messages: en (default), ar, fr, es' },
            bundle_key: { type: 'string', maxLength: 512, description: 'accepted for compatibility with the reference API and ignored: this server authenticates with its API keys' },
          },
        },
        IdCropperResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['data', 'transaction_id'],
          properties: {
            data: {
              type: 'object',
              additionalProperties: false,
              required: ['img', 'corners', 'confidence', 'document_type', 'rotation'],
              properties: {
                img: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/jpeg', description: 'the document alone, straightened and upright' },
                corners: {
                  type: 'array',
                  minItems: 4,
                  maxItems: 4,
                  items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number' } },
                  description: '[x, y] of the document\'s corners in the photo as displayed (after its EXIF orientation), clockwise from the document\'s top-left',
                },
                confidence: score('how completely the four sides were seen as edges; 0.5 when the document is taken to fill the whole photo; 0.3 when no outline was seen and the document was placed from its print'),
                document_type: { enum: ['ID-1', 'ID-2', 'ID-3', 'unknown'], description: 'ISO/IEC 7810 size from the shape; ID-2 and ID-3 share one shape, and the machine-readable zone decides: ID-2 when its lines clearly have 36 characters (TD2), ID-3 otherwise' },
                rotation: { enum: [0, 90, 180, 270], description: 'the clockwise quarter turn (degrees) that makes the document, as it lay in the photo, upright' },
                portrait: { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/jpeg', description: 'the face printed on the document, upright; absent when none is found on the straightened document' },
              },
            },
            transaction_id: { type: 'string', description: 'the request id (X-Request-Id)' },
          },
        },
        HealthResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['status', 'components', 'stages'],
          properties: {
            status: { enum: ['healthy', 'unhealthy'] },
            components: {
              type: 'object',
              additionalProperties: false,
              required: HEALTH_COMPONENTS,
              properties: Object.fromEntries(HEALTH_COMPONENTS.map((name) => [name, { type: 'boolean' }])),
            },
            stages: { type: 'object', additionalProperties: { enum: ['enabled', 'disabled', 'not_configured'] }, description: 'optional pipeline stages (pad, mad) and whether they run' },
          },
        },
        PartitionsResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['partitions'],
          properties: { partitions: { type: 'array', items: { type: 'string', pattern: PARTITION_NAME_PATTERN.source } } },
        },
        StatsResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['total_subjects', 'partitions'],
          properties: {
            total_subjects: { type: 'integer', minimum: 0 },
            partitions: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'subjects per partition' },
          },
        },
        AuditRows: {
          type: 'object',
          additionalProperties: false,
          required: ['events'],
          properties: {
            events: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['at', 'request_id', 'key_id', 'operation', 'partition', 'subject_id', 'status', 'code', 'score', 'quality', 'threshold', 'decision', 'matched_subject_id', 'claim_token_id'],
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  request_id: { type: 'string' },
                  key_id: { type: ['string', 'null'] },
                  operation: { type: 'string' },
                  partition: { type: ['string', 'null'] },
                  subject_id: { type: ['string', 'null'] },
                  status: { type: 'integer' },
                  code: { type: 'string', description: '"ok" or the error code' },
                  score: { type: ['number', 'null'] },
                  quality: { type: ['number', 'null'] },
                  threshold: { type: ['number', 'null'] },
                  decision: { type: ['string', 'null'] },
                  matched_subject_id: { type: ['string', 'null'] },
                  claim_token_id: { type: ['string', 'null'] },
                },
              },
            },
          },
        },
        OpenApiDocument: { type: 'object', required: ['openapi', 'paths'], properties: { openapi: { const: '3.1.0' } } },
      },
    },
  };
}

function photoCheckResponse() {
  const point = { type: 'object', additionalProperties: false, required: ['x', 'y'], properties: { x: { type: 'number' }, y: { type: 'number' } } };
  const threshold = { oneOf: [{ type: 'number' }, { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 }], description: 'least (min checks), most (max checks) or [least, most] a passing value may be' };
  const check = {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'passed', 'value', 'threshold', 'sensitivity', 'score', 'severity', 'message', 'heuristic', 'measure'],
    properties: {
      code: { enum: [...ISSUE_CODES] },
      passed: { type: 'boolean' },
      value: { type: 'number', description: 'the measured value, in the measure\'s unit' },
      threshold,
      sensitivity: { enum: [...SENSITIVITIES] },
      score: { type: 'number', minimum: 0, maximum: 100, description: 'how good the value is, 0–100, whatever the threshold' },
      severity: { enum: ['critical', 'major', 'minor'] },
      message: { type: 'string' },
      heuristic: { type: 'boolean', description: 'a rule of thumb on pixels, not a trained model' },
      measure: { type: 'string' },
    },
  };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['compliant', 'profile', 'issues', 'checks', 'face', 'image', 'measurements'],
    properties: {
      compliant: { type: 'boolean' },
      profile: { type: 'string' },
      issues: { type: 'array', items: { enum: [...ISSUE_CODES] }, description: 'the codes of the failed checks' },
      checks: { type: 'array', items: check },
      face: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['box', 'eyes', 'chin', 'crown', 'yaw', 'pitch', 'roll'],
            properties: {
              box: { type: 'object', additionalProperties: false, required: ['x1', 'y1', 'x2', 'y2', 'score'], properties: { x1: { type: 'number' }, y1: { type: 'number' }, x2: { type: 'number' }, y2: { type: 'number' }, score: { type: 'number' } } },
              eyes: { type: 'array', items: point, minItems: 2, maxItems: 2, description: 'image-left, image-right eye centre' },
              chin: point,
              crown: { ...point, description: 'estimated top of the head' },
              yaw: { type: 'number' },
              pitch: { type: 'number' },
              roll: { type: 'number' },
            },
          },
        ],
        description: 'photo coordinates (pixels) of the photo as judged; null when no face was found',
      },
      image: {
        type: 'object',
        additionalProperties: false,
        required: ['width', 'height'],
        properties: {
          width: { type: 'integer', minimum: 1 },
          height: { type: 'integer', minimum: 1 },
          quarter_turns: { type: 'integer', minimum: 1, maximum: 3, description: 'present when the photo was judged turned upright by this many clockwise quarter turns' },
        },
      },
      measurements: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['value', 'score'],
          properties: { value: { type: 'number' }, score: { type: 'number', minimum: 0, maximum: 100 } },
        },
        description: 'every measure by name (OFIQ-style: raw value and 0–100 score), whether or not the profile checks it; empty when no face was found',
      },
    },
  };
}

function errorBody() {
  return {
    type: 'object',
    required: ['status', 'code', 'message', 'request_id'],
    properties: {
      status: { type: 'integer', enum: [...new Set(Object.values(ERROR_STATUS))] },
      code: { enum: Object.keys(ERROR_STATUS) },
      message: { type: 'string', minLength: 1 },
      request_id: { type: 'string', minLength: 1 },
      field: { type: 'string', description: 'invalid_metadata, bad_request: the offending field' },
      face_count: { type: 'integer', description: 'faces found in the image: no_face_detected (0), multiple_faces, quality_too_low, presentation_attack_detected' },
      matched_subject_id: { type: 'string', description: 'duplicate_identity: the subject already enrolled with this face' },
      queued: { type: 'integer', description: 'service_unavailable: requests waiting' },
      error_code: { type: 'string', description: 'ID cropper: the code again, under the reference API\'s name' },
    },
    additionalProperties: { type: ['string', 'number', 'boolean'], description: 'further details of the error, by code' },
  };
}

export function openApiRouter(document: object): Router {
  const router = new Router();
  const body = JSON.stringify(document);
  router.get(OPENAPI_PATH, (ctx) => {
    ctx.type = 'application/json';
    ctx.body = body;
  });
  return router;
}
