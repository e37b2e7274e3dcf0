import { measurePhoto, type PhotoMeasurements } from '../compliance/measures/index.ts';
import { ApiError } from '../errors.ts';
import { decodeImage } from '../pipeline/decode.ts';
import type { FacePipeline } from '../pipeline/face-pipeline.ts';
import type { FaceGeometry } from '../pipeline/face-geometry.ts';
import { turnImage, type QuarterTurns } from '../pipeline/orientation.ts';
import { Picture } from '../pipeline/picture.ts';
import type { RgbImage } from '../pipeline/types.ts';
import { planFrame, type Frame, type FrameRequest, type FrameRules, type HeadLandmarks } from './frame.ts';
import { headLandmarks, measureHead, type HeadMeasurement } from './head.ts';
import { encodeJpeg } from './jpeg-output.ts';
import { renderFrame, type Rgb } from './render.ts';

/** One source photo as analysed: the upright picture, its subject's head, and what the compliance checks measure. */
export interface PhotoAnalysis {
  picture: Picture;
  turns: QuarterTurns;
  geometry: FaceGeometry;
  head: HeadLandmarks;
  /** the compliance measures of the source photo, for the `issues` of /v2/ */
  measurements: PhotoMeasurements;
}

/** The source as generate needs it again: the picture and the head found in it by analyze. */
export interface FramingSource {
  picture: Picture;
  head: HeadLandmarks;
}

export interface ComposeOptions extends FrameRequest {
  /** colour of any band where the crop runs off the photo */
  padding: Rgb;
}

export interface ComposedPhoto {
  image: RgbImage;
  frame: Frame;
}

/**
 * The heavy half of passport photos, in the calling thread: find the head once (FacePipeline.examine),
 * cut the spec's frame from the photo, and re-measure what was made. The server runs it in the photo
 * worker; the done-when test and the benchmark use it directly.
 */
export class IdPhotoMaker {
  constructor(
    private readonly pipeline: FacePipeline,
    private readonly maxImagePixels: number,
  ) {}

  /** 422-style no_face_detected when the photo shows no face */
  async analyze(bytes: Uint8Array): Promise<PhotoAnalysis> {
    const examined = await this.pipeline.examine(bytes);
    const subject = examined.subject;
    if (!subject) throw new ApiError('no_face_detected', 'no face was found in the image', { face_count: 0 });
    return { picture: examined.picture, turns: examined.turns, geometry: subject.geometry, head: headLandmarks(subject.geometry), measurements: measurePhoto(examined) };
  }

  /** the upright picture again from the uploaded bytes, as analyze turned it */
  async reopen(bytes: Uint8Array, turns: QuarterTurns): Promise<Picture> {
    return new Picture(turnImage(await decodeImage(bytes, this.maxImagePixels), turns));
  }

  compose(source: FramingSource, rules: FrameRules, options: ComposeOptions): ComposedPhoto {
    const frame = planFrame(source.head, rules, options, source.picture);
    return { image: renderFrame(source.picture, frame, options.padding), frame };
  }

  /**
   * The finished photo measured as a new upload: the bands a checker would measure, not the ones the
   * plan aimed at. `undefined` when the face is no longer found (a crop so tight it cut the face).
   */
  async remeasure(jpeg: Uint8Array, rules: FrameRules, frame: Frame): Promise<HeadMeasurement | undefined> {
    const examined = await this.pipeline.examine(jpeg);
    if (!examined.subject) return undefined;
    return measureHead(headLandmarks(examined.subject.geometry), rules, frame.heightPx, frame.pxPerMm, 'mesh');
  }

  /** compose, encode at the frame's dpi, re-measure: what the done-when test and the benchmark run */
  async make(source: FramingSource, rules: FrameRules, options: ComposeOptions): Promise<{ jpeg: Buffer; frame: Frame; measured?: HeadMeasurement }> {
    const { image, frame } = this.compose(source, rules, options);
    const jpeg = await encodeJpeg(image, options.dpi);
    return { jpeg, frame, measured: await this.remeasure(jpeg, rules, frame) };
  }
}
