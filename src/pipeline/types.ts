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

/**
 * A face as a detector reports it. Detectors that also locate the eyes (BlazeFace) give them, so the
 * landmark crop can be turned upright before the landmark model sees it.
 */
export interface Detection extends FaceBox {
  /** image-left and image-right eye centre */
  eyes?: [Point, Point];
}

/** Left eye centre, right eye centre, nose tip, left mouth corner, right mouth corner (image left/right). */
export type FivePoints = [Point, Point, Point, Point, Point];

export type Template = Float32Array; // L2-normalised embedding

export interface QualityReport {
  /** overall 0–1 */
  score: number;
  /** each enabled component's 0–1 score, by name */
  components: Record<string, number>;
  /** raw values behind the component scores (inter-eye pixels, degrees, …), by name */
  measurements?: Record<string, number>;
}

export interface PadReport {
  /** probability that the face is a presentation attack, 0–1; 0 when the check did not run (see `status`) */
  spoofScore: number;
  /** whether the check ran; optional so results built elsewhere, e.g. test fakes, stay valid */
  status?: StageState;
}

/** whether an optional stage runs: switched on, switched off in config, or no model for it in the bundle */
export type StageState = 'enabled' | 'disabled' | 'not_configured';

export type PipelinePurpose = 'enrol' | 'probe';

export interface PipelineResult {
  template: Template;
  quality: QualityReport;
  pad: PadReport;
  /** faces in the image: the detections that were not rejected as non-faces */
  faceCount: number;
  /** the subject's face, clipped to the image */
  face: FaceBox;
  /** every face counted in faceCount, the subject first, then by size; image coordinates */
  faces: FaceBox[];
  /** recognition model that produced the template */
  modelId: string;
  /** milliseconds per stage, for metrics and benchmarks */
  timings: Record<string, number>;
  /** morphing-attack detection slot (optional so results built elsewhere, e.g. test fakes, stay valid) */
  mad?: MadReport;
}

/** Head pose in degrees (Hopenet convention: yaw left/right, pitch up/down, roll in-plane). */
export interface PoseAngles {
  yaw: number;
  pitch: number;
  roll: number;
}

/**
 * Morphing-attack detection on enrolment (single-image MAD); probes are not checked for morphs. The
 * score is the S-MAD model's morph probability when the check ran (an enrolment it refuses never
 * gets here: it is a 451).
 */
export interface MadReport {
  status: StageState | 'not_applicable';
  score?: number;
  threshold?: number;
}
