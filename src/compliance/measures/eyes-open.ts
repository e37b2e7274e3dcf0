import { rampScore, type Measure } from './measure.ts';

/** The less open eye's lid gap over its corner-to-corner width (about 0.3 open, under 0.1 closed). */
export const eyesOpen: Measure = ({ features }) => {
  const opening = Math.min(...features.eyelidOpening);
  return { eye_opening: { value: opening, score: rampScore(opening, 0.05, 0.25) } };
};
