import { rampScore, type Measure } from './measure.ts';

/** Inner-lip gap over mouth width: about 0 with the lips together. */
export const mouthClosed: Measure = ({ features }) => ({
  lip_opening: { value: features.lipOpening, score: rampScore(features.lipOpening, 0.25, 0.02) },
});
