import { ApiError } from '../errors.ts';
import type { FaceGeometry } from '../pipeline/face-geometry.ts';
import type { Point } from '../pipeline/types.ts';
import type { FrameRules, HeadLandmarks, MmBand } from './frame.ts';

/** The head's landmarks from one examined face; `hairTop`, from the person mask, replaces the mesh's crown estimate. */
export function headLandmarks(geometry: FaceGeometry, hairTop?: Point): HeadLandmarks {
  const features = geometry.features;
  if (!features) throw new ApiError('internal_error', 'passport photos need the face-mesh landmark model (chin and crown)');
  return { leftEye: geometry.eyes[0].centre, rightEye: geometry.eyes[1].centre, chin: features.chin, crown: hairTop ?? features.crown };
}

export interface BandCheck extends MmBand {
  /** what the output photo measures */
  measured: number;
  inside: boolean;
}

/** The spec's bands as measured on a generated photo. */
export interface HeadMeasurement {
  headHeightMm: BandCheck;
  eyeLineFromBottomMm?: BandCheck;
  /** degrees the eye line is still off level */
  rollDegrees: number;
  /** distance between the eye centres, output pixels */
  eyeDistancePx: number;
  /** where the crown was read: the person mask's hair top, or the mesh's estimate */
  crownFrom: 'mask' | 'mesh';
}

const round2 = (value: number) => Math.round(value * 100) / 100;
const check = (band: MmBand, measured: number): BandCheck => ({ min: band.min, max: band.max, measured: round2(measured), inside: measured >= band.min && measured <= band.max });

/**
 * Chin-to-crown height and eye line above the bottom edge, in mm, of a head found in an output photo
 * `heightPx` high at `pxPerMm`, against the spec's bands.
 */
export function measureHead(head: HeadLandmarks, rules: FrameRules, heightPx: number, pxPerMm: number, crownFrom: 'mask' | 'mesh'): HeadMeasurement {
  const eye: Point = { x: (head.leftEye.x + head.rightEye.x) / 2, y: (head.leftEye.y + head.rightEye.y) / 2 };
  const dx = head.rightEye.x - head.leftEye.x;
  const dy = head.rightEye.y - head.leftEye.y;
  return {
    headHeightMm: check(rules.headHeightMm, (head.chin.y - head.crown.y) / pxPerMm),
    ...(rules.eyeLineFromBottomMm ? { eyeLineFromBottomMm: check(rules.eyeLineFromBottomMm, (heightPx - eye.y) / pxPerMm) } : {}),
    rollDegrees: round2((Math.atan2(dy, dx) * 180) / Math.PI),
    eyeDistancePx: round2(Math.hypot(dx, dy)),
    crownFrom,
  };
}
