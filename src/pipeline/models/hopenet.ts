import type { OrientedFace } from '../face-geometry.ts';
import { boxCentre, uprightRect } from '../geometry.ts';
import { planarTensor, type Picture } from '../picture.ts';
import type { PoseAngles } from '../types.ts';
import { imageInput, runModel, softmax, type ImageInput, type InferenceSession } from './onnx.ts';
import type { PoseModel } from './roles.ts';

// ImageNet normalisation, (x / 255 − mean) / std, written as (x − 255·mean) · 1 / (255·std).
const TRANSFORM = {
  order: 'rgb',
  mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
  scale: [1 / (0.229 * 255), 1 / (0.224 * 255), 1 / (0.225 * 255)],
} as const;

/** Hopenet's 66 bins of 3° from −99°: the angle is the softmax expectation over bin indices. */
const BIN_DEGREES = 3;
const FIRST_BIN_DEGREES = -99;

/**
 * Hopenet head pose: the face box grown by a quarter on each side, 224×224 RGB, ImageNet mean/std. The
 * crop is turned upright by the face's roll, so its roll output is what remains after that turn.
 */
export class HopenetPose implements PoseModel {
  private readonly input: ImageInput;

  constructor(private readonly session: InferenceSession) {
    this.input = imageInput(session);
    const outputs = session.outputNames;
    if (outputs.length !== 3) throw new Error(`pose model must have yaw, pitch and roll outputs, has ${outputs.join(', ')}`);
  }

  async pose(picture: Picture, { box, roll }: OrientedFace): Promise<PoseAngles> {
    const { width, height } = this.input;
    const face = picture.sample(uprightRect(boxCentre(box), 1.5 * (box.x2 - box.x1), 1.5 * (box.y2 - box.y1), roll, width, height), width, height);
    const out = await runModel(this.session, this.input, planarTensor(face, TRANSFORM));
    // outputs come in the order yaw, pitch, roll (named `output`, `617`, `618` in the faceplugin export)
    const [yaw, pitch, residualRoll] = this.session.outputNames.map((name) => angle(out[name]));
    return { yaw, pitch, roll: roll + residualRoll };
  }
}

function angle(logits: Float32Array): number {
  return softmax(logits).reduce((sum, p, bin) => sum + p * bin, 0) * BIN_DEGREES + FIRST_BIN_DEGREES;
}
