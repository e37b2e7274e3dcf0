import type { QualityComponentsConfig } from '../config.ts';
import { rampScore, type QualityComponent } from './component.ts';

/** Yaw and pitch: the further from frontal, the less of the face the template sees. */
export const poseComponent =
  (config: QualityComponentsConfig['pose']): QualityComponent =>
  async ({ geometry }) => {
    // the assessor only runs this component when the geometry gives a pose
    const { yaw, pitch } = geometry.pose!;
    return { score: rampScore(Math.max(Math.abs(yaw), Math.abs(pitch)), config.degrees), measurements: { yaw, pitch } };
  };
