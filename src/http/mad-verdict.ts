import type { DifferentialVerdict } from '../mad/differential-mad.ts';
import type { MadScore } from '../mad/mad-score.ts';
import { formatScore } from './xml.ts';

/** A MAD method's verdict as the answers give it (JSON on /api/v1/mad, XML on enrol). */
export const serializeMadScore = ({ score, threshold, decision }: MadScore) => ({ score: formatScore(score), threshold, decision });

/** D-MAD's verdict: a score, or why the pair was not judged. */
export const serializeDifferential = (verdict: DifferentialVerdict) =>
  verdict.decision === 'not_applicable' ? { decision: verdict.decision, reason: verdict.reason, threshold: verdict.threshold } : serializeMadScore(verdict);
