import type { FaceGeometry } from '../pipeline/face-geometry.ts';
import type { Picture } from '../pipeline/picture.ts';
import { faceTextureFeatures } from './face-texture.ts';
import type { LogisticModel } from './logistic.ts';
import { madScore, type MadScore } from './mad-score.ts';

/** Single-image MAD: is this one photo a morph? Runs in the pipeline workers, on the photo and its face mesh. */
export class SingleImageMad {
  constructor(
    private readonly model: LogisticModel,
    readonly threshold: number,
  ) {}

  score(picture: Picture, geometry: FaceGeometry): MadScore {
    return madScore(this.model.probability(faceTextureFeatures(picture, geometry)), this.threshold);
  }
}
