import { rectToOutput } from '../geometry.ts';
import { greyTensor, toGrey, type Picture } from '../picture.ts';
import { imageInput, runModel, softmax, type ImageInput, type InferenceSession } from './onnx.ts';
import type { EyeRegion, EyeStateModel, FaceLandmarks } from './roles.ts';

/** faceplugin's getEyeBBox: a square of 1.6 × the eye's corner-to-corner width around its centre. */
const EYE_CROP_SCALE = 1.6;

/**
 * Which softmax output means "open". faceplugin's code only compares the two, so it was measured: on the
 * open-eyed fixture faces output 1 is ~1.0 for the eyes and ~0 for same-sized crops of forehead and cheek.
 */
const OPEN_CLASS = 1;

/** faceplugin's eye-state classifier: 24×24 grey eye crop / 255 → softmax (open, closed). */
export class EyeStateClassifier implements EyeStateModel {
  private readonly input: ImageInput;

  constructor(private readonly session: InferenceSession) {
    this.input = imageInput(session);
  }

  async eyesOpen(picture: Picture, landmarks: FaceLandmarks): Promise<[number, number]> {
    const [left, right] = landmarks.eyes;
    return [await this.openProbability(picture, left), await this.openProbability(picture, right)];
  }

  private async openProbability(picture: Picture, eye: EyeRegion): Promise<number> {
    const { width, height } = this.input;
    const side = eye.width * EYE_CROP_SCALE;
    const rect = { x: eye.centre.x - side / 2, y: eye.centre.y - side / 2, width: side, height: side };
    const crop = picture.sample(rectToOutput(rect, width, height), width, height);
    return softmax(Object.values(await runModel(this.session, this.input, greyTensor(toGrey(crop), 1 / 255)))[0])[OPEN_CLASS];
  }
}
