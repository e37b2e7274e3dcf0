import ort from 'onnxruntime-node';
import { rectToOutput, type Rect } from '../../pipeline/geometry.ts';
import { imageInput, type ImageInput, type InferenceSession } from '../../pipeline/models/onnx.ts';
import { Picture, planarTensor, type ChannelTransform } from '../../pipeline/picture.ts';
import type { RgbImage } from '../../pipeline/types.ts';
import type { PersonMask, PersonSegmenter } from './person-mask.ts';
import { clippedRegion, refinedMask } from './refined-mask.ts';

// ISNet (Qin et al., "Highly Accurate Dichotomous Image Segmentation", 2022) as IMG.LY ship it: a square
// RGB input stretched from the whole region, (pixel − 128) / 256 per channel, and among its side outputs
// one named "output": the final saliency map, already through a sigmoid, 0–1 at input resolution.
const INPUT_TRANSFORM: ChannelTransform = { order: 'rgb', mean: [128, 128, 128], scale: [1 / 256, 1 / 256, 1 / 256] };
const FINAL_OUTPUT = 'output';

export class IsNetSegmenter implements PersonSegmenter {
  private readonly input: ImageInput;

  constructor(private readonly session: InferenceSession) {
    this.input = imageInput(session);
    if (this.input.layout !== 'nchw' || this.input.channels !== 3) throw new Error('ISNet expects an N×3×H×W input');
    if (!session.outputNames.includes(FINAL_OUTPUT)) throw new Error(`ISNet must have an output named "${FINAL_OUTPUT}", has ${session.outputNames.join(', ')}`);
  }

  /**
   * The person mask of the whole photo. With `region` (edge coordinates, e.g. head and shoulders around
   * the face) the network sees only that part at its full input resolution, which gives finer hair;
   * outside it the mask is 0.
   */
  async segment(image: RgbImage, region?: Rect): Promise<PersonMask> {
    const area = clippedRegion(image, region);
    const picture = new Picture(image);
    const input = picture.sample(rectToOutput(area, this.input.width, this.input.height), this.input.width, this.input.height);
    const feeds = { [this.input.name]: new ort.Tensor('float32', planarTensor(input, INPUT_TRANSFORM), this.input.shape as number[]) };
    const outputs = await this.session.run(feeds, [FINAL_OUTPUT]);
    return refinedMask(picture, area, outputs[FINAL_OUTPUT].data as Float32Array, this.input.width, this.input.height);
  }
}

