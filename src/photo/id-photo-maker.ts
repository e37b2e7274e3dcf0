import { measurePhoto, type PhotoMeasurements } from '../compliance/measures/index.ts';
import { ApiError } from '../errors.ts';
import { decodeImage } from '../pipeline/decode.ts';
import type { FacePipeline } from '../pipeline/face-pipeline.ts';
import type { FaceGeometry } from '../pipeline/face-geometry.ts';
import type { Rect } from '../pipeline/geometry.ts';
import { turnImage, type QuarterTurns } from '../pipeline/orientation.ts';
import { Picture } from '../pipeline/picture.ts';
import type { Point, RgbImage } from '../pipeline/types.ts';
import { planFrame, type Frame, type FrameRequest, type FrameRules, type HeadLandmarks } from './frame.ts';
import { headLandmarks, measureHead, type HeadMeasurement } from './head.ts';
import { encodeJpeg } from './jpeg-output.ts';
import { frameMask, renderFrame, type Rgb } from './render.ts';
import { hairTop, replaceBackground, type PersonMask, type PersonSegmenter } from './segmentation/index.ts';

export type CrownSource = 'mask' | 'mesh';

/** One source photo as analysed: the upright picture, its subject's head, and what the compliance checks measure. */
export interface PhotoAnalysis {
  picture: Picture;
  turns: QuarterTurns;
  geometry: FaceGeometry;
  head: HeadLandmarks;
  /** where `head.crown` came from */
  crownFrom: CrownSource;
  /** the person mask, when a segmenter is loaded */
  mask?: PersonMask;
  /** the compliance measures of the source photo, for the `issues` of /v2/ */
  measurements: PhotoMeasurements;
}

/** The source as generate needs it: the upright picture, the head found in it, and its mask if any. */
export type FramingSource = Pick<PhotoAnalysis, 'picture' | 'head' | 'crownFrom' | 'mask'>;

export interface ComposeOptions extends FrameRequest {
  /** colour of any band where the crop runs off the photo */
  padding: Rgb;
  /** the new background colour; undefined keeps the photo's own background, pixels untouched */
  background?: Rgb;
}

export interface ComposedPhoto {
  image: RgbImage;
  frame: Frame;
}

/**
 * The person mask is computed round the head, not over the whole photo: the network's 1024² input then
 * shows hair at a usable resolution in a 12-megapixel photo. The region spans this many head heights
 * (mesh estimate) across and down, enough for any spec's frame (at most about 2.3 head heights tall).
 */
const MASK_REGION_HEADS = { left: 1.6, right: 1.6, above: 1.2, below: 2.4 };

/**
 * The heavy half of passport photos, in the calling thread: find the head once (FacePipeline.examine)
 * and the person's outline (segmenter), cut the spec's frame from the photo, and re-measure what was
 * made. The server runs it in the photo worker; the done-when test and the benchmark use it directly.
 */
export class IdPhotoMaker {
  constructor(
    private readonly pipeline: FacePipeline,
    private readonly maxImagePixels: number,
    /** without one, only keep-background photos can be made and the crown is the mesh's estimate */
    private readonly segmenter?: PersonSegmenter,
  ) {}

  get segments(): boolean {
    return this.segmenter !== undefined;
  }

  /** no_face_detected when the photo shows no face; `segment: false` skips the mask (keep-background only) */
  async analyze(bytes: Uint8Array, { segment = true }: { segment?: boolean } = {}): Promise<PhotoAnalysis> {
    const examined = await this.pipeline.examine(bytes);
    const subject = examined.subject;
    if (!subject) throw new ApiError('no_face_detected', 'no face was found in the image', { face_count: 0 });
    const measurements = measurePhoto(examined);
    const mesh = headLandmarks(subject.geometry);
    const base = { picture: examined.picture, turns: examined.turns, geometry: subject.geometry, measurements };
    if (!segment || !this.segmenter) return { ...base, head: mesh, crownFrom: 'mesh' };
    const { mask, head, crownFrom } = await this.segmentHead(examined.picture, mesh, faceColumns(subject.geometry));
    return { ...base, mask, head, crownFrom };
  }

  /** the person mask round the head, and the head with its crown at the hair's top where the mask shows it */
  async segmentHead(picture: Picture, mesh: HeadLandmarks, face: FaceColumns): Promise<{ mask: PersonMask; head: HeadLandmarks; crownFrom: CrownSource }> {
    if (!this.segmenter) throw new ApiError('internal_error', 'no segmentation model is loaded');
    const mask = await this.segmenter.segment(picture.image, maskRegion(mesh));
    const crown = crownFromMask(mask, mesh, face);
    return { mask, head: crown ? { ...mesh, crown } : mesh, crownFrom: crown ? 'mask' : 'mesh' };
  }

  /** the upright picture again from the uploaded bytes, as analyze turned it */
  async reopen(bytes: Uint8Array, turns: QuarterTurns): Promise<Picture> {
    return new Picture(turnImage(await decodeImage(bytes, this.maxImagePixels), turns));
  }

  compose(source: FramingSource, rules: FrameRules, options: ComposeOptions): ComposedPhoto {
    const frame = planFrame(source.head, rules, options, source.picture);
    if (!options.background) return { image: renderFrame(source.picture, frame, options.padding), frame };
    if (!source.mask) throw new ApiError('internal_error', 'a new background needs the person mask from the analysis');
    const replaced = new Picture(replaceBackground(source.picture.image, source.mask, [...options.background]));
    return { image: renderFrame(replaced, frame, options.padding), frame };
  }

  /**
   * The finished photo measured as a new upload: face, eyes and chin found again from scratch in the
   * JPEG, the bands a checker would measure rather than the ones the plan aimed at. The hair's top is
   * read again from the source mask carried through the frame (running the network a second time
   * costs as much as the whole analysis). `undefined` when the face is no longer found.
   */
  async remeasure(jpeg: Uint8Array, rules: FrameRules, frame: Frame, mask?: PersonMask): Promise<HeadMeasurement | undefined> {
    const examined = await this.pipeline.examine(jpeg);
    if (!examined.subject) return undefined;
    const mesh = headLandmarks(examined.subject.geometry);
    const crown = mask && crownFromMask(frameMask(mask, frame), mesh, faceColumns(examined.subject.geometry));
    return measureHead(crown ? { ...mesh, crown } : mesh, rules, frame.heightPx, frame.pxPerMm, crown ? 'mask' : 'mesh');
  }

  /** compose, encode at the frame's dpi, re-measure: what the done-when test and the benchmark run */
  async make(source: FramingSource, rules: FrameRules, options: ComposeOptions): Promise<{ image: RgbImage; jpeg: Buffer; frame: Frame; measured?: HeadMeasurement }> {
    const { image, frame } = this.compose(source, rules, options);
    const jpeg = await encodeJpeg(image, options.dpi);
    return { image, jpeg, frame, measured: await this.remeasure(jpeg, rules, frame, source.crownFrom === 'mask' ? source.mask : undefined) };
  }
}

/** the face's columns, where the hair's top is looked for, and the mesh's forehead row, below which it cannot be */
export interface FaceColumns {
  from: number;
  to: number;
  foreheadY: number;
}

export function faceColumns(geometry: FaceGeometry): FaceColumns {
  return { from: geometry.box.x1, to: geometry.box.x2, foreheadY: geometry.features?.forehead.y ?? geometry.box.y1 };
}

function maskRegion(head: HeadLandmarks): Rect {
  const eye: Point = { x: (head.leftEye.x + head.rightEye.x) / 2, y: (head.leftEye.y + head.rightEye.y) / 2 };
  const size = Math.hypot(head.chin.x - head.crown.x, head.chin.y - head.crown.y);
  const x = eye.x - MASK_REGION_HEADS.left * size;
  const y = eye.y - MASK_REGION_HEADS.above * size;
  return { x, y, width: (MASK_REGION_HEADS.left + MASK_REGION_HEADS.right) * size, height: (MASK_REGION_HEADS.above + MASK_REGION_HEADS.below) * size };
}

/**
 * The hair's top above the face, as a point on the face's vertical axis through the eye midpoint.
 * Undefined (the mesh estimate stands) when the mask shows none, or puts it below the mesh's forehead
 * point, which only a failed mask would.
 */
function crownFromMask(mask: PersonMask, mesh: HeadLandmarks, face: FaceColumns): Point | undefined {
  const row = hairTop(mask, face);
  if (row === undefined || row > face.foreheadY) return undefined;
  const eye: Point = { x: (mesh.leftEye.x + mesh.rightEye.x) / 2, y: (mesh.leftEye.y + mesh.rightEye.y) / 2 };
  // along the line from the chin through the eye midpoint, to the hair's row
  const dx = eye.x - mesh.chin.x;
  const dy = eye.y - mesh.chin.y;
  const t = (row - mesh.chin.y) / dy;
  return { x: mesh.chin.x + t * dx, y: row };
}
