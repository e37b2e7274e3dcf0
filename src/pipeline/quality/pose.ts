import type { QualityComponentsConfig } from '../config.ts';
import type { PoseModel } from '../models/roles.ts';
import { rampScore, type QualityComponent } from './component.ts';

/** Yaw and pitch from the pose model: the further from frontal, the less of the face the template sees. */
export function poseComponent(config: QualityComponentsConfig['pose'], model: PoseModel): QualityComponent {
  return async ({ picture, face }) => {
    const { yaw, pitch, roll } = await model.pose(picture, face);
    const degrees = Math.max(Math.abs(yaw), Math.abs(pitch));
    return { score: rampScore(degrees, config.degrees), measurements: { yaw, pitch, roll } };
  };
}
