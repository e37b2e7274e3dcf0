/** One MAD method's verdict, as `POST /api/v1/mad` reports it. */
export interface MadScore {
  /** the model's probability that the face is a morph, 0–1 */
  score: number;
  /** score at or above which the face is taken for a morph (configured) */
  threshold: number;
  decision: 'bona_fide' | 'morph';
}

export function madScore(score: number, threshold: number): MadScore {
  return { score, threshold, decision: score >= threshold ? 'morph' : 'bona_fide' };
}
