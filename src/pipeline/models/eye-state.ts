import type { FaceGeometry } from '../face-geometry.ts';
import { uprightSquare } from '../geometry.ts';
import { greyTensor, toGrey, type Picture } from '../picture.ts';
import { imageInput, runModel, softmax, type ImageInput, type InferenceSession } from './onnx.ts';
import type { EyeRegion, EyeStateModel } from './roles.ts';

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

  async eyesOpen(picture: Picture, face: FaceGeometry): Promise<[number, number]> {
    const [left, right] = face.eyes;
    return [await this.openProbability(picture, left, face.roll), await this.openProbability(picture, right, face.roll)];
  }

  /** the eye crop is turned upright with the face */
  private async openProbability(picture: Picture, eye: EyeRegion, roll: number): Promise<number> {
    const { width, height } = this.input;
    const crop = picture.sample(uprightSquare(eye.centre, eye.width * EYE_CROP_SCALE, roll, width), width, height);
    return softmax(Object.values(await runModel(this.session, this.input, greyTensor(toGrey(crop), 1 / 255)))[0])[OPEN_CLASS];
  }
}
