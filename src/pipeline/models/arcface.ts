import { ARCFACE_REFERENCE_112 } from '../align.ts';
import { planarTensor } from '../picture.ts';
import type { FivePoints, RgbImage } from '../types.ts';
import { imageInput, runModel, type ImageInput, type InferenceSession } from './onnx.ts';
import type { Embedding, RecognitionModel } from './roles.ts';

const TRANSFORM = { order: 'rgb', mean: [127, 127, 127], scale: [1 / 128, 1 / 128, 1 / 128] } as const;

/** ArcFace-style embedder: aligned RGB face, (x − 127) / 128 → embedding, returned L2-normalised with its raw norm. */
export class ArcFaceEmbedder implements RecognitionModel {
  readonly alignment: RecognitionModel['alignment'];
  private readonly input: ImageInput;

  constructor(private readonly session: InferenceSession) {
    this.input = imageInput(session);
    const { width, height } = this.input;
    // The reference points are defined for 112×112; other input sizes scale them.
    const reference = ARCFACE_REFERENCE_112.map((p) => ({ x: (p.x * width) / 112, y: (p.y * height) / 112 })) as FivePoints;
    this.alignment = { width, height, reference };
  }

  async embed(aligned: RgbImage): Promise<Embedding> {
    if (aligned.width !== this.input.width || aligned.height !== this.input.height) {
      throw new Error(`embed expects a ${this.input.width}×${this.input.height} aligned face, got ${aligned.width}×${aligned.height}`);
    }
    const out = Object.values(await runModel(this.session, this.input, planarTensor(aligned, TRANSFORM)))[0];
    const norm = Math.hypot(...out);
    if (!(norm > 0)) throw new Error('recognition model returned a zero embedding');
    return { template: Float32Array.from(out, (v) => v / norm), norm };
  }
}
