import type { DetectionConfig } from '../config.ts';
import { iou, pointInRect, rectToOutput, type Rect } from '../geometry.ts';
import { planarTensor, type Picture } from '../picture.ts';
import type { FaceBox } from '../types.ts';
import { imageInput, runModel, type ImageInput, type InferenceSession } from './onnx.ts';
import type { DetectOptions, FaceDetector } from './roles.ts';
import { searchWindows } from './search-windows.ts';

// Ultra-Light-Fast-Generic-Face-Detector (RFB-320): RGB, (x − 127) / 128; outputs `scores` [1, N, 2]
// (column 1 = face) and `boxes` [1, N, 4], already decoded to x1, y1, x2, y2 relative to the input.
const TRANSFORM = { order: 'rgb', mean: [127, 127, 127], scale: [1 / 128, 1 / 128, 1 / 128] } as const;

/** grey that the normalisation maps to 0, for the letterbox border */
const BORDER_GREY = 127;

export class UltraFaceDetector implements FaceDetector {
  private readonly input: ImageInput;

  constructor(
    private readonly session: InferenceSession,
    private readonly options: DetectionConfig,
  ) {
    this.input = imageInput(session);
  }

  async detect(picture: Picture, options?: DetectOptions): Promise<FaceBox[]> {
    const candidates = await searchWindows(picture, this.input, this.options, (window) => this.detectIn(picture, window), options);
    return nonMaximumSuppression(candidates, this.options.nmsIou);
  }

  private async detectIn(picture: Picture, window: Rect): Promise<FaceBox[]> {
    const { width, height } = this.input;
    const crop = picture.sample(rectToOutput(window, width, height), width, height, BORDER_GREY);
    const out = await runModel(this.session, this.input, planarTensor(crop, TRANSFORM));
    const scores = out.scores;
    const boxes = out.boxes;
    const found: FaceBox[] = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const score = scores[2 * i + 1];
      if (score < this.options.confidence) continue;
      const p1 = pointInRect(window, boxes[4 * i], boxes[4 * i + 1]);
      const p2 = pointInRect(window, boxes[4 * i + 2], boxes[4 * i + 3]);
      if (p2.x > p1.x && p2.y > p1.y) found.push({ x1: p1.x, y1: p1.y, x2: p2.x, y2: p2.y, score });
    }
    return found;
  }
}

/** Greedy NMS: keep the best-scoring box, drop those overlapping it by more than `threshold` IoU, repeat. */
export function nonMaximumSuppression(boxes: FaceBox[], threshold: number): FaceBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: FaceBox[] = [];
  for (const box of sorted) {
    if (kept.every((k) => iou(k, box) <= threshold)) kept.push(box);
  }
  return kept;
}
