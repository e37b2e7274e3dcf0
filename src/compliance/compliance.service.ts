import type { FaceSummary, Measurement, PhotoMeasurements } from './measures/index.ts';
import { DEFAULT_SENSITIVITY, passes, type ComplianceProfiles, type IssueCode, type Sensitivity, type Threshold } from './profiles.ts';

/** Measures photos; the server's PipelinePool, in its workers. */
export interface PhotoMeasurer {
  /** throws service_unavailable when measurePhoto() would refuse a job now */
  assertCanAccept(): void;
  measurePhoto(image: Uint8Array): Promise<PhotoMeasurements>;
}

export interface CheckRequest {
  profile: string;
  /** per issue code; codes not named are judged at MEDIUM */
  issueSensitivityOverride: Partial<Record<IssueCode, Sensitivity>>;
}

export interface CheckResult {
  code: IssueCode;
  passed: boolean;
  /** the measured value, in the measure's unit */
  value: number;
  /** at the sensitivity applied: the least (min), most (max) or [least, most] (range) a passing value may be */
  threshold: Threshold;
  sensitivity: Sensitivity;
  /** 0–100, how good the measured value is regardless of threshold */
  score: number;
  severity: 'critical' | 'major' | 'minor';
  message: string;
  /** a rule of thumb on pixels rather than a trained model: treat a failure as a prompt to look */
  heuristic: boolean;
  /** the measure the check reads */
  measure: string;
}

export interface ComplianceVerdict {
  compliant: boolean;
  profile: string;
  issues: IssueCode[];
  checks: CheckResult[];
  face: FaceSummary | null;
  image: { width: number; height: number; quarterTurns: number };
  /** every measure's raw value and 0–100 score, whether or not the profile checks it */
  measurements: Record<string, Measurement>;
}

/** Judges a photo against a profile: the workers measure, this applies the profile's thresholds. */
export class ComplianceService {
  constructor(
    private readonly measurer: PhotoMeasurer,
    private readonly profiles: ComplianceProfiles,
    /** told of every verdict (metrics) */
    private readonly observe: (verdict: ComplianceVerdict) => void = () => {},
  ) {}

  assertCanAcceptImage(): void {
    this.measurer.assertCanAccept();
  }

  async check(image: Uint8Array, request: CheckRequest): Promise<ComplianceVerdict> {
    const verdict = judge(await this.measurer.measurePhoto(image), request, this.profiles);
    this.observe(verdict);
    return verdict;
  }
}

/** The verdict on measured values; pure, so calibration and tests apply profiles the way the API does. */
export function judge(measured: PhotoMeasurements, request: CheckRequest, profiles: ComplianceProfiles): ComplianceVerdict {
  const profile = profiles[request.profile];
  if (!measured.face) {
    const notFound: CheckResult = {
      code: 'ISSUE_FACE_NOT_FOUND',
      passed: false,
      value: 0,
      threshold: 1,
      sensitivity: request.issueSensitivityOverride.ISSUE_FACE_NOT_FOUND ?? DEFAULT_SENSITIVITY,
      score: 0,
      severity: 'critical',
      message: 'no face was found in the photo',
      heuristic: false,
      measure: 'face_count',
    };
    return { compliant: false, profile: request.profile, issues: ['ISSUE_FACE_NOT_FOUND'], checks: [notFound], face: null, image: measured.image, measurements: {} };
  }
  // a measure whose model is not loaded (the eye-state model switched off) is left out, not guessed
  const checks = profile.checks.filter((check) => check.measure in measured.measurements).map((check): CheckResult => {
    const sensitivity = request.issueSensitivityOverride[check.code] ?? DEFAULT_SENSITIVITY;
    const { value, score } = measured.measurements[check.measure];
    return {
      code: check.code,
      passed: passes(check, sensitivity, value),
      value,
      threshold: check.thresholds[sensitivity],
      sensitivity,
      score,
      severity: check.severity,
      message: check.message,
      heuristic: check.heuristic,
      measure: check.measure,
    };
  });
  const issues = checks.filter((c) => !c.passed).map((c) => c.code);
  return { compliant: issues.length === 0, profile: request.profile, issues, checks, face: measured.face, image: measured.image, measurements: measured.measurements };
}
