import type { CheckRequest, ComplianceVerdict } from '../compliance/compliance.service.ts';
import { ISSUE_CODES, type IssueCode } from '../compliance/profiles.ts';
import { ApiError } from '../errors.ts';
import type { ClaimSource } from '../gallery/gallery.ts';
import { imageFormat } from '../pipeline/decode.ts';
import type { ClaimsConfig } from './config.ts';

/** The compliance profile each kind of trusted photo must conform to. */
export const PROFILE_OF_SOURCE: Readonly<Record<ClaimSource, string>> = { eid: 'icao', oid: 'icao', selfie: 'enrolment' };

/** The media types of the reference's image requirements: PNG, JPEG and JPEG 2000 (JP2 file or raw codestream). */
const ENROLMENT_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'jp2']);

/**
 * What an image must be to enrol a person from a trusted photo. The file checks cost nothing and run
 * before any model; the face checks read the compliance measurement, which runs before the recognition
 * pipeline. Failed checks of minor severity (heuristic shadows, say) do not refuse the photo: they are
 * reported with the enrolment.
 */
export class EnrolmentImageRequirements {
  constructor(private readonly config: Pick<ClaimsConfig, 'maxImageBytes' | 'minInterEyePx' | 'complianceSensitivity'>) {}

  checkFile(image: Uint8Array): void {
    if (image.length > this.config.maxImageBytes) {
      throw new ApiError('image_too_large', `the image has ${image.length} bytes; an enrolment image may have at most ${this.config.maxImageBytes}`, {
        bytes: image.length,
        max_bytes: this.config.maxImageBytes,
      });
    }
    const format = imageFormat(image);
    if (!format || !ENROLMENT_FORMATS.has(format)) {
      throw new ApiError('unsupported_image_format', 'an enrolment image must be PNG, JPEG or JPEG 2000 (a .jp2 file or a raw codestream)');
    }
  }

  /** The photo check an image of `source` must pass: its profile, every issue at the configured sensitivity. */
  complianceRequest(source: ClaimSource): CheckRequest {
    const sensitivity = this.config.complianceSensitivity;
    return { profile: PROFILE_OF_SOURCE[source], issueSensitivityOverride: Object.fromEntries(ISSUE_CODES.map((code) => [code, sensitivity])) };
  }

  /** Throws the first unmet face requirement; returns the minor issues the photo is accepted with. */
  checkFace(verdict: ComplianceVerdict): IssueCode[] {
    if (!verdict.face) throw new ApiError('no_face_detected', 'no face was found in the image', { face_count: 0 });
    const faceCount = verdict.measurements.face_count?.value ?? 1;
    if (faceCount > 1) {
      throw new ApiError('multiple_faces', `the image holds ${faceCount} faces: a trusted photo shows exactly one person`, { face_count: faceCount });
    }
    const interEye = verdict.measurements.inter_eye_px.value;
    if (interEye < this.config.minInterEyePx) {
      throw new ApiError('eyes_too_close', `the eyes are ${interEye.toFixed(0)} px apart; an enrolment image needs at least ${this.config.minInterEyePx} px between the eye centres`, {
        inter_eye_px: Number(interEye.toFixed(1)),
        min_inter_eye_px: this.config.minInterEyePx,
      });
    }
    const failed = verdict.checks.filter((check) => !check.passed);
    const blocking = failed.filter((check) => check.severity !== 'minor');
    if (blocking.length > 0) {
      throw new ApiError('photo_not_compliant', `the photo does not conform to the ${verdict.profile} profile: ${blocking.map((check) => check.message).join('; ')}`, {
        profile: verdict.profile,
        issues: blocking.map((check) => check.code).join(','),
      });
    }
    return failed.map((check) => check.code);
  }
}
