import { boxCentre, boxHeight, distance, meanPoint, outputToSource, rollDegrees, uprightSquare } from '../geometry.ts';
import { greyTensor, toGrey, type Picture } from '../picture.ts';
import type { Detection, FivePoints, Point } from '../types.ts';
import { imageInput, runModel, type ImageInput, type InferenceSession } from './onnx.ts';
import type { EyeRegion, FaceLandmarks, LandmarkModel } from './roles.ts';

// 68-point iBUG layout (0-based). Eye centres average the four lid points, leaving out the corners,
// as faceplugin's convert68pts5pts does; mouth corners average the outer and inner lip corners.
const LEFT_EYE = { corners: [36, 39], lids: [37, 38, 40, 41] };
const RIGHT_EYE = { corners: [42, 45], lids: [43, 44, 46, 47] };
const NOSE_TIP = 30;
const MOUTH_LEFT = [48, 60];
const MOUTH_RIGHT = [54, 64];

/**
 * faceplugin's landmark network: square face crop (side = box height) → 64×64 grey / 256 → 68 (x, y)
 * relative to the crop. The crop is turned upright when the detector gives the eyes.
 */
export class Landmark68 implements LandmarkModel {
  readonly givesPose = false;
  private readonly input: ImageInput;

  constructor(private readonly session: InferenceSession) {
    this.input = imageInput(session);
  }

  async landmarks(picture: Picture, box: Detection): Promise<FaceLandmarks> {
    const { width, height } = this.input;
    const roll = box.eyes ? rollDegrees(box.eyes[0], box.eyes[1]) : 0;
    const toSource = uprightSquare(boxCentre(box), boxHeight(box), roll, width);
    // Where the crop leaves the photo the edge is repeated, keeping the face's scale and position in
    // the crop as in training instead of shifting or squashing the crop to fit.
    const face = picture.sample(toSource, width, height);
    const out = Object.values(await runModel(this.session, this.input, greyTensor(toGrey(face), 1 / 256)))[0];
    const points: Point[] = [];
    for (let i = 0; i + 1 < out.length; i += 2) points.push(outputToSource(toSource, { x: out[i] * width, y: out[i + 1] * height }));
    if (points.length !== 68) throw new Error(`landmark model gave ${points.length} points, expected 68`);
    return { points, five: fivePoints(points), eyes: [eyeRegion(points, LEFT_EYE), eyeRegion(points, RIGHT_EYE)] };
  }
}

const mean = (points: Point[], indices: number[]) => meanPoint(indices.map((i) => points[i]));

function fivePoints(points: Point[]): FivePoints {
  return [mean(points, LEFT_EYE.lids), mean(points, RIGHT_EYE.lids), points[NOSE_TIP], mean(points, MOUTH_LEFT), mean(points, MOUTH_RIGHT)];
}

function eyeRegion(points: Point[], eye: { corners: number[]; lids: number[] }): EyeRegion {
  return { centre: mean(points, eye.lids), width: distance(points[eye.corners[0]], points[eye.corners[1]]) };
}
