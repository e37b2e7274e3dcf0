import { rectToOutput, squareAround, type Rect } from '../geometry.ts';
import { planarTensor, type Picture } from '../picture.ts';
import type { FaceBox } from '../types.ts';
import { imageInput, runModel, softmax, type ImageInput, type InferenceSession } from './onnx.ts';
import type { PadModel } from './roles.ts';

/** MiniVision Silent-Face-Anti-Spoofing's context crop: the face box scaled 2.7× around its centre. */
const CONTEXT_SCALE = 2.7;

export interface MiniFasNetOptions {
  /** channel order the network was trained on (OpenCV BGR in the MiniVision code) */
  order: 'rgb' | 'bgr';
  /** softmax output that means "bona fide" */
  bonaFideClass: number;
}

/**
 * Established on the labelled fixtures by `npm run pad-eval` (benchmarks/results/pad.json): with BGR
 * input and output 0 as bona fide, spoofs outscore NUAA real faces with AUC 0.95 (RGB: 0.53, chance).
 * Unlike MiniVision's MiniFASNet, where class 1 is real, this export puts bona fide first, as the
 * faceplugin package's use of output[0] as its liveness score implies; output 1 carries the print attacks.
 */
export const MINIFASNET_DEFAULTS: MiniFasNetOptions = { order: 'bgr', bonaFideClass: 0 };

/** faceplugin's MiniFASNet-style PAD: 128×128 context crop, raw 0–255 values, 3-way softmax. */
export class MiniFasNetPad implements PadModel {
  private readonly input: ImageInput;

  constructor(
    private readonly session: InferenceSession,
    private readonly options: MiniFasNetOptions = MINIFASNET_DEFAULTS,
  ) {
    this.input = imageInput(session);
  }

  async spoofScore(picture: Picture, box: FaceBox): Promise<number> {
    return 1 - (await this.classProbabilities(picture, box))[this.options.bonaFideClass];
  }

  /** all output classes' probabilities, for studying what the outputs mean */
  async classProbabilities(picture: Picture, box: FaceBox): Promise<number[]> {
    const { width, height } = this.input;
    const crop = picture.sample(rectToOutput(contextCrop(box, picture.width, picture.height), width, height), width, height);
    const tensor = planarTensor(crop, { order: this.options.order, mean: [0, 0, 0], scale: [1, 1, 1] });
    return softmax(Object.values(await runModel(this.session, this.input, tensor))[0]);
  }
}

/**
 * The training-time crop (MiniVision CropImage._get_new_box): scale the square face box up to 2.7×,
 * less if the photo is too small, then shift it to lie inside the photo.
 */
function contextCrop(box: FaceBox, imageWidth: number, imageHeight: number): Rect {
  const face = squareAround(box);
  const scale = Math.min((imageHeight - 1) / face.height, (imageWidth - 1) / face.width, CONTEXT_SCALE);
  const width = face.width * scale;
  const height = face.height * scale;
  const x = Math.min(Math.max(face.x + face.width / 2 - width / 2, 0), imageWidth - 1 - width);
  const y = Math.min(Math.max(face.y + face.height / 2 - height / 2, 0), imageHeight - 1 - height);
  return { x, y, width, height };
}
