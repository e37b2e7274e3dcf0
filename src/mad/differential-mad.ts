import type { Embedding } from '../pipeline/models/roles.ts';
import type { LogisticModel } from './logistic.ts';
import { madScore, type MadScore } from './mad-score.ts';
import { templatePairFeatures } from './template-pair.ts';

/**
 * Differential MAD: is the suspected photo (a document portrait, an enrolment photo) a morph that the
 * person in a trusted live capture is one contributor of? Judged from the two templates alone, so it
 * runs wherever both templates are at hand (enrol with `reference_image`, a document claim's verify step).
 */
export class DifferentialMad {
  constructor(
    private readonly model: LogisticModel,
    readonly threshold: number,
  ) {}

  /** the order does not matter: the pair features are symmetric */
  scorePair(trusted: Pick<Embedding, 'template'>, live: Pick<Embedding, 'template'>): MadScore {
    return madScore(this.model.probability(templatePairFeatures(trusted.template, live.template)), this.threshold);
  }
}
