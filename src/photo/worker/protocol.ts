import type { PhotoMeasurements } from '../../compliance/measures/index.ts';
import type { PipelineConfig } from '../../pipeline/config.ts';
import type { QuarterTurns } from '../../pipeline/orientation.ts';
import type { Point } from '../../pipeline/types.ts';
import type { PoolMessage, PoolRequest } from '../../workers/worker-pool.ts';
import type { FrameRules, FrameSide } from '../frame.ts';
import type { HeadMeasurement } from '../head.ts';
import type { CrownSource, FaceColumns } from '../id-photo-maker.ts';
import type { FileSizeBand } from '../jpeg-output.ts';
import type { Rgb } from '../render.ts';
import type { HeadLandmarks } from '../frame.ts';

// Messages between PhotoPool and its worker threads. Every job carries the uploaded photo as its image:
// the worker decodes it again rather than holding pixels between jobs.

export interface PhotoWorkerData {
  modelsDir: string;
  pipeline: PipelineConfig;
}

/** Face found: the head (mesh crown), the points the analyze API reports, a preview, the compliance measures. */
export interface ExamineResult {
  turns: QuarterTurns;
  /** the upright photo's size */
  width: number;
  height: number;
  head: HeadLandmarks;
  face: FaceColumns;
  nose: Point;
  forehead: Point;
  measurements: PhotoMeasurements;
  /** PNG, the upright photo at most PREVIEW_WIDTH wide */
  preview: Uint8Array;
  previewWidth: number;
  previewHeight: number;
}

export interface SegmentResult {
  /** 8-bit grey PNG of the person mask at the upright photo's size */
  mask: Uint8Array;
  head: HeadLandmarks;
  crownFrom: CrownSource;
}

export interface SheetRequest {
  name: string;
  widthPx: number;
  heightPx: number;
}

export interface GenerateFields {
  kind: 'generate';
  turns: QuarterTurns;
  head: HeadLandmarks;
  crownFrom: CrownSource;
  /** the mask PNG from `segment`: needed for a new background, and to re-measure the crown from the hair */
  mask?: Uint8Array;
  rules: FrameRules;
  dpi: number;
  zoom: number;
  shiftMm: Point;
  padding: Rgb;
  /** undefined: keep the photo's background */
  background?: Rgb;
  fileSize: FileSizeBand;
  minHeightPx: number;
  sheets: SheetRequest[];
  /** also make a watermarked preview with this text */
  watermarkText?: string;
}

export interface GeneratedSheet {
  name: string;
  jpeg: Uint8Array;
  count: number;
  rotated: boolean;
}

export interface GenerateResult {
  photo: Uint8Array;
  width: number;
  height: number;
  quality: number;
  incomplete: FrameSide[];
  /** undefined when the face is not found again in the output */
  measured?: HeadMeasurement;
  sheets: GeneratedSheet[];
  preview?: Uint8Array;
}

export type PhotoJobFields = { kind: 'examine' } | { kind: 'segment'; turns: QuarterTurns; head: HeadLandmarks; face: FaceColumns } | GenerateFields;
export type PhotoJobResult = ExamineResult | SegmentResult | GenerateResult;

export interface PhotoReady {
  /** whether the bundle has a segmentation model: without one only keep-background photos are made */
  segments: boolean;
  /** why the segmentation model did not load, when it did not */
  segmentationError?: string;
}

export type PhotoJobRequest = PoolRequest<PhotoJobFields>;
export type PhotoWorkerMessage = PoolMessage<PhotoReady, PhotoJobResult>;
