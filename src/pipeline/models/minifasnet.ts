import type { OrientedFace } from '../face-geometry.ts';
import { boxHeight, composeAffine, rectToOutput, squareAround, type Affine, type Rect } from '../geometry.ts';
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

  async spoofScore(picture: Picture, face: OrientedFace): Promise<number> {
    return 1 - (await this.classProbabilities(picture, face))[this.options.bonaFideClass];
  }

  /** all output classes' probabilities, for studying what the outputs mean */
  async classProbabilities(picture: Picture, face: OrientedFace): Promise<number[]> {
    const { width, height } = this.input;
    const crop = picture.sample(uprightContextCrop(face, picture.width, picture.height, width, height), width, height);
    const tensor = planarTensor(crop, { order: this.options.order, mean: [0, 0, 0], scale: [1, 1, 1] });
    return softmax(Object.values(await runModel(this.session, this.input, tensor))[0]);
  }
}

/**
 * The context crop turned upright about the face centre by the face's roll: what the network would see
 * had the photo been taken with the head straight. At roll 0 it is exactly the training-time crop.
 */
function uprightContextCrop(face: OrientedFace, imageWidth: number, imageHeight: number, width: number, height: number): Affine {
  const rect = contextCrop(face.box, imageWidth, imageHeight);
  const toRect = rectToOutput(rect, width, height);
  if (face.roll === 0) return toRect;
  // rotate about the face centre (centre convention), after mapping the output onto the rect
  const angle = (face.roll * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = (face.box.x1 + face.box.x2) / 2 - 0.5;
  const cy = face.box.y1 + boxHeight(face.box) / 2 - 0.5;
  return composeAffine([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy], toRect);
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
