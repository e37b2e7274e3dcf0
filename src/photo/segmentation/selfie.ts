import { rectToOutput, type Rect } from '../../pipeline/geometry.ts';
import { imageInput, runModel, type ImageInput, type InferenceSession } from '../../pipeline/models/onnx.ts';
import { interleavedTensor, Picture } from '../../pipeline/picture.ts';
import type { RgbImage } from '../../pipeline/types.ts';
import type { PersonMask, PersonSegmenter } from './person-mask.ts';
import { clippedRegion, refinedMask } from './refined-mask.ts';

// MediaPipe selfie segmentation (Apache-2.0), converted from TFLite by tools/tflite-onnx: a 256×256 RGB
// input in 0–1 stretched from the region, one output, the person probability at input resolution.
export class MediaPipeSelfieSegmenter implements PersonSegmenter {
  private readonly input: ImageInput;

  constructor(private readonly session: InferenceSession) {
    this.input = imageInput(session);
    if (this.input.layout !== 'nhwc' || this.input.channels !== 3) throw new Error('the selfie segmenter expects an N×H×W×3 input');
    if (session.outputNames.length !== 1) throw new Error(`the selfie segmenter must have one output, has ${session.outputNames.join(', ')}`);
  }

  async segment(image: RgbImage, region?: Rect): Promise<PersonMask> {
    const area = clippedRegion(image, region);
    const picture = new Picture(image);
    const input = picture.sample(rectToOutput(area, this.input.width, this.input.height), this.input.width, this.input.height);
    const outputs = await runModel(this.session, this.input, interleavedTensor(input, 1 / 255, 0));
    return refinedMask(picture, area, outputs[this.session.outputNames[0]], this.input.width, this.input.height);
  }
}
