import type { DetectionConfig } from '../config.ts';
import { iou, pointInRect, rectToOutput, type Rect } from '../geometry.ts';
import { interleavedTensor, type Picture } from '../picture.ts';
import type { Detection, Point } from '../types.ts';
import { imageInput, runModel, type ImageInput, type InferenceSession } from './onnx.ts';
import type { DetectOptions, FaceDetector } from './roles.ts';
import { searchWindows } from './search-windows.ts';

// MediaPipe BlazeFace (square RGB input in [−1, 1], NHWC). Its heads give per anchor a score logit and
// 16 regressors: box centre offset and size, then six keypoints (subject's right eye, left eye, nose tip,
// mouth centre, right and left ear tragion), all in input pixels relative to the anchor centre. Anchors
// follow MediaPipe's SsdAnchorsCalculator for each model (fixed anchor size, one aspect ratio): layers of
// equal stride share a grid, each adding its anchors per cell.

export interface AnchorLayout {
  /** one stride per SSD layer, as MediaPipe's graph lists them */
  strides: readonly number[];
  /** anchors each layer adds per cell: 2 with the interpolated-scale anchor, else 1 */
  anchorsPerLayer: number;
}

/**
 * The back-camera model, 256×256 (face_detection_back: 4 layers with strides 16, 32, 32, 32 and the
 * interpolated-scale anchor): 2 per cell on 16×16 and 6 per cell on 8×8, 896 anchors.
 */
export const BACK_256_ANCHORS: AnchorLayout = { strides: [16, 32, 32, 32], anchorsPerLayer: 2 };

/**
 * The full-range model, 192×192 (face_detection_full_range: one layer of stride 4, no interpolated
 * scale): one anchor per cell on 48×48, 2304 anchors. MediaPipe made it for faces from close up to
 * five metres away.
 */
export const FULL_RANGE_ANCHORS: AnchorLayout = { strides: [4], anchorsPerLayer: 1 };

const REGRESSORS = 16;
const KEYPOINT_OFFSET = 4;
/** image-left and image-right eye: the subject's right eye, then left */
const EYE_KEYPOINTS = [0, 1] as const;

/** MediaPipe clips logits before the sigmoid, so an extreme output stays finite */
const LOGIT_CLIP = 100;

/** value = pixel / 127.5 − 1 */
const SCALE = 1 / 127.5;
const OFFSET = -1;
/** grey that the normalisation maps to 0, for the letterbox border */
const BORDER_GREY = 127.5;

interface Head {
  scores: string;
  regressors: string;
  /** anchor centres, normalised to the input, in the head's output order */
  anchors: Point[];
}

export class BlazeFaceDetector implements FaceDetector {
  private readonly input: ImageInput;
  private readonly heads: Head[];

  constructor(
    private readonly session: InferenceSession,
    private readonly options: DetectionConfig,
    layout: AnchorLayout,
  ) {
    this.input = imageInput(session);
    if (this.input.layout !== 'nhwc' || this.input.channels !== 3) throw new Error('BlazeFace expects an N×H×W×3 input');
    this.heads = pairHeads(session, anchorGrids(layout, this.input.width, this.input.height));
  }

  async detect(picture: Picture, options?: DetectOptions): Promise<Detection[]> {
    const candidates = await searchWindows(picture, this.input, this.options, (window) => this.detectIn(picture, window), options);
    return weightedSuppression(candidates, this.options.nmsIou);
  }

  private async detectIn(picture: Picture, window: Rect): Promise<Detection[]> {
    const { width, height } = this.input;
    const crop = picture.sample(rectToOutput(window, width, height), width, height, BORDER_GREY);
    const out = await runModel(this.session, this.input, interleavedTensor(crop, SCALE, OFFSET));
    const found: Detection[] = [];
    // a logit at or above this is a sigmoid at or above the configured confidence
    const minLogit = Math.log(this.options.confidence / (1 - this.options.confidence));
    for (const head of this.heads) {
      const scores = out[head.scores];
      const raw = out[head.regressors];
      for (let i = 0; i < head.anchors.length; i++) {
        const logit = Math.min(LOGIT_CLIP, Math.max(-LOGIT_CLIP, scores[i]));
        if (logit < minLogit) continue;
        const anchor = head.anchors[i];
        const r = i * REGRESSORS;
        // regressors are input pixels; anchors have unit size, so dividing by the input size normalises them
        const at = (dx: number, dy: number) => pointInRect(window, anchor.x + dx / width, anchor.y + dy / height);
        const centre = at(raw[r], raw[r + 1]);
        const halfW = (raw[r + 2] / width) * window.width * 0.5;
        const halfH = (raw[r + 3] / height) * window.height * 0.5;
        if (!(halfW > 0 && halfH > 0)) continue;
        const keypoint = (k: number) => at(raw[r + KEYPOINT_OFFSET + 2 * k], raw[r + KEYPOINT_OFFSET + 2 * k + 1]);
        found.push({
          x1: centre.x - halfW,
          y1: centre.y - halfH,
          x2: centre.x + halfW,
          y2: centre.y + halfH,
          score: 1 / (1 + Math.exp(-logit)),
          eyes: [keypoint(EYE_KEYPOINTS[0]), keypoint(EYE_KEYPOINTS[1])],
        });
      }
    }
    return found;
  }
}

/** Anchor centres per stride, in MediaPipe's order: row, column, then the anchors of each layer sharing the stride. */
export function anchorGrids(layout: AnchorLayout, inputWidth: number, inputHeight: number): Map<number, Point[]> {
  const grids = new Map<number, Point[]>();
  for (const stride of new Set(layout.strides)) {
    const perCell = layout.strides.filter((s) => s === stride).length * layout.anchorsPerLayer;
    const columns = Math.ceil(inputWidth / stride);
    const rows = Math.ceil(inputHeight / stride);
    const anchors: Point[] = [];
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        for (let a = 0; a < perCell; a++) anchors.push({ x: (x + 0.5) / columns, y: (y + 0.5) / rows });
      }
    }
    grids.set(stride, anchors);
  }
  return grids;
}

/** Matches the model's score and regressor outputs to the anchor grids by their anchor counts. */
function pairHeads(session: InferenceSession, grids: Map<number, Point[]>): Head[] {
  const outputs = session.outputMetadata.map((meta) => {
    if (!meta.isTensor || meta.shape.length !== 3) throw new Error(`BlazeFace output ${meta.name} is not a [1, anchors, values] tensor`);
    return { name: meta.name, anchors: Number(meta.shape[1]), values: Number(meta.shape[2]) };
  });
  const heads = [...grids.values()].map((anchors) => {
    const scores = outputs.find((o) => o.anchors === anchors.length && o.values === 1);
    const regressors = outputs.find((o) => o.anchors === anchors.length && o.values === REGRESSORS);
    if (!scores || !regressors) throw new Error(`BlazeFace model has no score and regressor outputs for ${anchors.length} anchors`);
    return { scores: scores.name, regressors: regressors.name, anchors };
  });
  if (heads.length * 2 !== outputs.length) throw new Error(`BlazeFace model has ${outputs.length} outputs, expected ${heads.length * 2}`);
  return heads;
}

/**
 * MediaPipe's weighted non-maximum suppression: the best remaining detection and every one overlapping
 * it by more than `threshold` IoU are merged into their score-weighted mean (box and eyes), keeping the
 * best score. Averaging the overlapping anchors' estimates steadies the box and eyes the crops rely on.
 */
export function weightedSuppression(detections: Detection[], threshold: number): Detection[] {
  let remaining = [...detections].sort((a, b) => b.score - a.score);
  const merged: Detection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0];
    const cluster = remaining.filter((d) => iou(best, d) > threshold);
    remaining = remaining.filter((d) => iou(best, d) <= threshold && d !== best);
    const total = cluster.reduce((s, d) => s + d.score, 0);
    const mean = (value: (d: Detection) => number) => cluster.reduce((s, d) => s + value(d) * d.score, 0) / total;
    const eyes = best.eyes && cluster.every((d) => d.eyes)
      ? ([0, 1] as const).map((e) => ({ x: mean((d) => d.eyes![e].x), y: mean((d) => d.eyes![e].y) })) as [Point, Point]
      : best.eyes;
    merged.push({ x1: mean((d) => d.x1), y1: mean((d) => d.y1), x2: mean((d) => d.x2), y2: mean((d) => d.y2), score: best.score, ...(eyes ? { eyes } : {}) });
  }
  return merged;
}
