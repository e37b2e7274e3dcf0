// One error type for everything a client can be told about. `code` is stable and machine-readable;
// the HTTP status follows from it, so no layer picks a status on its own.
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_metadata: 400,
  missing_image: 400,
  image_decode_failed: 400,
  unsupported_image_format: 400,
  no_face_detected: 400,
  // claims (enrolment from trusted document photos): each refusal of a token or an image has its own code
  source_mismatch: 400,
  unauthorized: 401,
  forbidden: 403,
  token_wrong_user: 403,
  token_wrong_purpose: 403,
  token_wrong_key: 403,
  token_unknown: 404,
  token_used: 409,
  outcome_pending: 409,
  token_expired: 410,
  image_too_large: 413,
  eyes_too_close: 422,
  photo_not_compliant: 422,
  token_tries_exhausted: 429,
  unknown_subject: 404,
  unknown_partition: 404,
  not_found: 404,
  method_not_allowed: 405,
  upload_timeout: 408,
  duplicate_identity: 409,
  partition_limit_reached: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  quality_too_low: 422,
  multiple_faces: 422,
  // ID-document cropper: each reason a photo yields no usable document has its own code
  document_not_found: 422,
  document_cut: 422,
  document_too_small: 422,
  document_blurred: 422,
  document_glare: 422,
  // passport / ID photos: a file-size band the photo cannot meet within the spec's pixel limits
  file_size_unreachable: 422,
  presentation_attack_detected: 451,
  morphing_attack_detected: 451,
  service_unavailable: 503,
  request_timeout: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, string | number | boolean> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}
