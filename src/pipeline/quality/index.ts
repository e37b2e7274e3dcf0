import type { QualityConfig } from '../config.ts';
import type { OnnxRole } from '../model-manifest.ts';
import type { EyeStateModel } from '../models/roles.ts';
import type { QualityReport, StageState } from '../types.ts';
import type { QualityComponent, QualityInput } from './component.ts';
import { detectionComponent } from './detection.ts';
import { exposureComponent } from './exposure.ts';
import { eyesComponent } from './eyes.ts';
import { faceSizeComponent } from './face-size.ts';
import { poseComponent } from './pose.ts';
import { rollComponent } from './roll.ts';
import { sharpnessComponent } from './sharpness.ts';

export type { QualityInput } from './component.ts';

export interface QualitySources {
  /** whether the face geometry comes with a head pose (from the mesh, or a pose model) */
  givesPose: boolean;
  eyes?: EyeStateModel;
}

/** Models the enabled components may need, so disabled ones cost no session; a bundle need not have them. */
export function qualityModelRoles(config: QualityConfig): OnnxRole[] {
  const { pose, eyes } = config.components;
  return [...(pose.enabled ? (['pose'] as const) : []), ...(eyes.enabled ? (['eyes'] as const) : [])];
}

interface Weighted {
  weight: number;
  run: QualityComponent;
}

/**
 * Runs the configured components and combines them into one 0–1 score: a weighted geometric mean, so a
 * component at 0 (a measure that alone makes the face unusable) sinks the whole score, while modest
 * shortfalls in several components cost proportionally.
 */
export class QualityAssessor {
  /** each component's state, by report name */
  readonly states: Record<string, StageState> = {};
  private readonly components = new Map<string, Weighted>();

  constructor(config: QualityConfig, sources: QualitySources) {
    const c = config.components;
    const add = (name: string, settings: { enabled: boolean; weight: number }, build: () => QualityComponent | undefined) => {
      const run = settings.enabled ? build() : undefined;
      this.states[name] = !settings.enabled ? 'disabled' : run ? 'enabled' : 'not_configured';
      if (run && settings.weight > 0) this.components.set(name, { weight: settings.weight, run });
    };
    add('face_size', c.faceSize, () => faceSizeComponent(c.faceSize));
    add('sharpness', c.sharpness, () => sharpnessComponent(c.sharpness));
    add('exposure', c.exposure, () => exposureComponent(c.exposure));
    add('pose', c.pose, () => (sources.givesPose ? poseComponent(c.pose) : undefined));
    add('roll', c.roll, () => rollComponent(c.roll));
    add('eyes_open', c.eyes, () => sources.eyes && eyesComponent(c.eyes, sources.eyes));
    add('detection', c.detection, () => detectionComponent(c.detection));
  }

  async assess(input: QualityInput): Promise<QualityReport> {
    const components: Record<string, number> = {};
    const measurements: Record<string, number> = {};
    let logSum = 0;
    let weights = 0;
    for (const [name, { weight, run }] of this.components) {
      const result = await run(input);
      components[name] = result.score;
      Object.assign(measurements, result.measurements);
      logSum += weight * Math.log(result.score);
      weights += weight;
    }
    // with no component configured nothing argues against the face
    const score = weights === 0 ? 1 : Math.exp(logSum / weights);
    return { score, components, measurements };
  }
}
