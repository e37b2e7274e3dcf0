// Shapes that flow between pipeline stages. Images are tightly packed 8-bit RGB, row-major.
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface FaceBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** detector confidence, 0–1 */
  score: number;
}

/** Left eye centre, right eye centre, nose tip, left mouth corner, right mouth corner (image left/right). */
export type FivePoints = [Point, Point, Point, Point, Point];

export type Template = Float32Array; // L2-normalised embedding

export interface QualityReport {
  /** overall 0–1 */
  score: number;
  /** each enabled component's 0–1 score, by name */
  components: Record<string, number>;
}

export interface PadReport {
  /** probability that the face is a presentation attack, 0–1 */
  spoofScore: number;
}

export type PipelinePurpose = 'enrol' | 'probe';

export interface PipelineResult {
  template: Template;
  quality: QualityReport;
  pad: PadReport;
  faceCount: number;
  face: FaceBox;
  /** recognition model that produced the template */
  modelId: string;
  /** milliseconds per stage, for metrics and benchmarks */
  timings: Record<string, number>;
}
