import { ApiError } from '../errors.ts';
import type { MorphCheck } from '../pipeline/face-pipeline.ts';
import type { Template } from '../pipeline/types.ts';
import type { FaceProcessor } from '../services/biometric.service.ts';
import type { DifferentialMad, DifferentialVerdict } from './differential-mad.ts';
import type { MadScore } from './mad-score.ts';

/** The face pipeline as MAD uses it: whole-pipeline runs, plus S-MAD scoring that refuses nothing. */
export interface MorphScorer extends FaceProcessor {
  scoreMorph(image: Uint8Array): Promise<MorphCheck>;
}

export interface MadVerdict {
  sMad: MadScore;
  dMad?: DifferentialVerdict;
}

/**
 * Morphing-attack detection outside the enrol pipeline's own S-MAD stage: operator scores for one photo
 * (`POST /api/v1/mad`), and D-MAD of a photo against a trusted reference photo of the same person.
 */
export class MadService {
  constructor(
    private readonly faces: MorphScorer,
    /** absent when MAD is off or the bundle has no D-MAD model for its recognition model */
    private readonly differential: DifferentialMad | undefined,
  ) {}

  assertCanAcceptImage(): void {
    this.faces.assertCanAccept();
  }

  /** S-MAD scores of `image`, and D-MAD against `reference` (a trusted photo of the person) when given. */
  async check(image: Uint8Array, reference?: Uint8Array): Promise<MadVerdict> {
    const suspect = await this.faces.scoreMorph(image);
    if (!reference) return { sMad: suspect.sMad };
    return { sMad: suspect.sMad, dMad: await this.againstReference(suspect, reference) };
  }

  /**
   * D-MAD of an enrolment photo against its reference photo: throws 451 morphing_attack_detected when
   * the photo looks like a morph the reference person contributed to; otherwise the verdict, which is
   * not_applicable when the reference capture is not one D-MAD can judge.
   */
  async assertNotMorphOf(suspect: { template: Template }, reference: Uint8Array): Promise<DifferentialVerdict> {
    const verdict = await this.againstReference(suspect, reference);
    if (verdict.decision === 'morph') {
      throw new ApiError('morphing_attack_detected', 'the face looks like a morph that the person in reference_image contributed to (differential morphing-attack detection)', {
        d_mad_score: verdict.score,
        threshold: verdict.threshold,
      });
    }
    return verdict;
  }

  private async againstReference(suspect: { template: Template }, reference: Uint8Array): Promise<DifferentialVerdict> {
    const differential = this.differential;
    if (!differential) throw new ApiError('bad_request', 'reference_image needs differential morphing-attack detection, which is switched off (pipeline.mad.enabled) or not in the model bundle');
    // the reference is a live capture: it goes through the probe pipeline, PAD and quality gate included
    return differential.judge(suspect, await this.faces.process(reference, 'probe'));
  }
}
