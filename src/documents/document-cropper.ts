import sharp from 'sharp';
import { ApiError } from '../errors.ts';
import type { PipelineConfig } from '../pipeline/config.ts';
import { decodeImage } from '../pipeline/decode.ts';
import { loadModelManifest } from '../pipeline/model-manifest.ts';
import { loadModel } from '../pipeline/models/registry.ts';
import type { FaceDetector } from '../pipeline/models/roles.ts';
import { Picture } from '../pipeline/picture.ts';
import type { FaceBox, RgbImage } from '../pipeline/types.ts';
import { searchDocument, SEARCH_LONG_SIDE } from './document-finder.ts';
import type { DocumentsConfig } from './config.ts';
import { checkDocument, measureDocument, type DocumentMeasures } from './document-checks.ts';
import { loadOpenCv, type OpenCv } from './opencv.ts';
import { DOCUMENT_ASPECTS, documentType, orderQuad, quadSides, rotateQuad, type DocumentType, type Quad, type Vec } from './quad.ts';

export type Rotation = 0 | 90 | 180 | 270;

export interface CroppedDocument {
  /** JPEG of the upright document */
  image: Buffer;
  /** the document's corners in the photo (after its EXIF orientation), clockwise from the document's top-left */
  corners: Quad;
  confidence: number;
  documentType: DocumentType;
  /** the clockwise quarter turn, degrees, that makes the document as it lay in the photo upright */
  rotation: Rotation;
  /** JPEG of the face printed on the document, when there is one */
  portrait?: Buffer;
  /** what the blur and glare checks measured */
  measures: DocumentMeasures;
}

export type CropperOptions = Pick<DocumentsConfig, 'maxOutputSide' | 'minDocumentPixels' | 'minSharpness' | 'maxGlareShare'> & { maxImagePixels: number };

/** Orientation and portrait search run on the document shrunk to this long side: faces on it are large. */
const FACE_SEARCH_SIDE = 480;

/**
 * A document longer than this (width ÷ height) is searched for faces in overlapping pieces about this
 * shape: the detector letterboxes its input to a square, so on a long strip (a card's front and back
 * scanned side by side) the portrait would shrink to a few input pixels. ID-1 and ID-3 are one piece.
 */
const FACE_PIECE_ASPECT = 1.6;

/** A photo shaped like an ID format to within this is taken as the document itself when no outline is found. */
const WHOLE_FRAME_TOLERANCE = 0.03;

/** detector confidence a face on a document needs to count as its portrait: with BlazeFace, 0.75 returns no portrait on the card backs of the eval set, 0.7 returns one on 14 % of them */
const PORTRAIT_MIN_SCORE = 0.75;

/** a face this certain decides orientation alone, without a look at the document the other way up */
const CLEAR_FACE_SCORE = 0.97;

/** The printed portrait's crop around the detected face box: head and shoulders, as on the document. */
const PORTRAIT_MARGIN = { side: 0.35, top: 0.45, bottom: 0.35 };

/**
 * Photo of an ID document → the document alone, straightened and upright, with its corners and portrait.
 * Runs in a cropper worker thread: OpenCV's WebAssembly and the face detector block the thread they run on.
 */
export class DocumentCropper {
  private constructor(
    private readonly cv: OpenCv,
    private readonly faces: FaceDetector,
    private readonly options: CropperOptions,
  ) {}

  /** Loads OpenCV and the model bundle's face detector (whatever kind its manifest names). */
  static async create(modelsDir: string, pipeline: PipelineConfig, options: CropperOptions): Promise<DocumentCropper> {
    const manifest = loadModelManifest(modelsDir, pipeline.manifest, ['detection']);
    const detector = await loadModel('detection', manifest.roles.detection!, manifest, pipeline);
    return new DocumentCropper(await loadOpenCv(), detector, options);
  }

  async crop(bytes: Uint8Array): Promise<CroppedDocument> {
    const photo = await decodePhoto(bytes, this.options.maxImagePixels);
    const scale = Math.min(1, SEARCH_LONG_SIDE / Math.max(photo.width, photo.height));
    const small = scale < 1 ? await resize(photo, Math.round(photo.width * scale), Math.round(photo.height * scale)) : photo;
    const toPhoto = (quad: Quad) => quad.map(([x, y]): Vec => [((x + 0.5) * photo.width) / small.width - 0.5, ((y + 0.5) * photo.height) / small.height - 0.5]) as Quad;

    const found = searchDocument(this.cv, small);
    let quad: Quad;
    let confidence: number;
    if (found.kind === 'found') {
      quad = toPhoto(found.quad);
      confidence = found.confidence;
    } else if (documentType(photo.width / photo.height, WHOLE_FRAME_TOLERANCE) !== 'unknown') {
      // A scan or a close-up: the document is the whole photo, its edges at (or past) the frame.
      quad = [[0, 0], [photo.width - 1, 0], [photo.width - 1, photo.height - 1], [0, photo.height - 1]];
      confidence = 0.5;
    } else if (found.kind === 'cut') {
      throw new ApiError('document_cut', 'the document runs off the edge of the photo: photograph it whole, with a margin around it');
    } else {
      throw new ApiError('document_not_found', 'no document was found in the photo');
    }

    const sides = quadSides(quad);
    if (Math.max(sides.width, sides.height) < this.options.minDocumentPixels) {
      throw new ApiError('document_too_small', `the document is ${Math.round(Math.max(sides.width, sides.height))} pixels long in the photo; at least ${this.options.minDocumentPixels} are needed: move closer`);
    }
    const straight = this.warp(photo, quad);
    const { rotation: turn, faces } = await this.orientation(straight.image);
    const upright = turn === 0 ? straight.image : await rotate(straight.image, turn);
    const measures = measureDocument(this.cv, upright);
    checkDocument(measures, this.options);
    const corners = rotateQuad(straight.quad, (4 - turn / 90) % 4);
    return {
      image: await jpeg(upright),
      corners,
      confidence: round(confidence),
      documentType: straight.type,
      rotation: uprightTurn(corners),
      measures,
      ...(faces[0] ? { portrait: await jpeg(await cropPortrait(upright, faces[0])) } : {}),
    };
  }

  /** The quad mapped onto a rectangle of the document's own shape, long side horizontal. */
  private warp(photo: RgbImage, photoQuad: Quad): { image: RgbImage; quad: Quad; type: DocumentType } {
    // landscape: corner 0 is the top-left of the side that is the document's long edge
    let quad = orderQuad(photoQuad);
    let { width, height } = quadSides(quad);
    if (height > width) {
      quad = rotateQuad(quad, 1);
      [width, height] = [height, width];
    }
    const type = documentType(width / height);
    const aspect = DOCUMENT_ASPECTS.find((f) => f.type === type)?.aspect ?? width / height;
    const outWidth = Math.round(Math.min(width, this.options.maxOutputSide));
    const outHeight = Math.round(outWidth / aspect);
    const cv = this.cv;
    // Only the quad's bounding box goes into OpenCV's heap: a 12-megapixel photo is 36 MB of RGB.
    const x0 = clamp(Math.floor(Math.min(...quad.map((p) => p[0]))) - 1, 0, photo.width - 1);
    const y0 = clamp(Math.floor(Math.min(...quad.map((p) => p[1]))) - 1, 0, photo.height - 1);
    const x1 = clamp(Math.ceil(Math.max(...quad.map((p) => p[0]))) + 2, x0 + 1, photo.width);
    const y1 = clamp(Math.ceil(Math.max(...quad.map((p) => p[1]))) + 2, y0 + 1, photo.height);
    const source = new cv.Mat(y1 - y0, x1 - x0, cv.CV_8UC3);
    const from = cv.matFromArray(4, 1, cv.CV_32FC2, quad.flatMap(([x, y]) => [x - x0, y - y0]));
    const to = cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, outWidth - 1, 0, outWidth - 1, outHeight - 1, 0, outHeight - 1]);
    const transform = cv.getPerspectiveTransform(from, to);
    const out = new cv.Mat();
    try {
      const rowBytes = (x1 - x0) * 3;
      for (let y = y0; y < y1; y++) source.data.set(photo.data.subarray((y * photo.width + x0) * 3, (y * photo.width + x0) * 3 + rowBytes), (y - y0) * rowBytes);
      cv.warpPerspective(source, out, transform, new cv.Size(outWidth, outHeight), cv.INTER_AREA, cv.BORDER_REPLICATE);
      return { image: { data: new Uint8Array(out.data), width: outWidth, height: outHeight }, quad, type };
    } finally {
      for (const mat of [source, from, to, transform, out]) mat.delete();
    }
  }

  /**
   * Upright is 0 or 180 (the warp already made the long side horizontal). The face detector looks at
   * both turns; ICAO 9303 puts the portrait on the left of a data page, so each face votes, by its
   * score, for the turn that puts it on the left. With no face the text decides: the machine-readable
   * zone and most printed lines make the bottom the busier half.
   */
  private async orientation(document: RgbImage): Promise<{ rotation: Rotation; faces: FaceBox[] }> {
    const scale = Math.min(1, FACE_SEARCH_SIDE / Math.max(document.width, document.height));
    const small = scale < 1 ? await resize(document, Math.round(document.width * scale), Math.round(document.height * scale)) : document;
    const views: Array<{ rotation: 0 | 180; faces: FaceBox[] }> = [];
    for (const rotation of [0, 180] as const) {
      const view = rotation === 0 ? small : await rotate(small, rotation);
      views.push({ rotation, faces: (await this.detectAcross(view)).filter((f) => f.score >= PORTRAIT_MIN_SCORE) });
      // a clear face settles it: the other way up only matters when the face is doubtful or missing
      if ((views[0].faces[0]?.score ?? 0) >= CLEAR_FACE_SCORE) {
        views.push({ rotation: 180, faces: [] });
        break;
      }
    }
    const votes: Record<0 | 180, number> = { 0: 0, 180: 0 };
    for (const { rotation, faces } of views) {
      const face = faces[0];
      if (!face) continue;
      const onLeft = (face.x1 + face.x2) / 2 < small.width / 2;
      votes[onLeft ? rotation : ((rotation + 180) % 360) as 0 | 180] += face.score;
    }
    const rotation: Rotation = votes[0] === votes[180] ? textOrientation(small) : votes[0] > votes[180] ? 0 : 180;
    // the portrait as seen upright, else as seen the other way up and turned; back to full size
    const same = views.find((v) => v.rotation === rotation)!.faces;
    const other = views.find((v) => v.rotation !== rotation)!.faces;
    const upright = same.length > 0 ? same : other.map((f) => ({ ...f, x1: small.width - f.x2, x2: small.width - f.x1, y1: small.height - f.y2, y2: small.height - f.y1 }));
    return { rotation, faces: upright.map((f) => ({ ...f, x1: f.x1 / scale, y1: f.y1 / scale, x2: f.x2 / scale, y2: f.y2 / scale })) };
  }

  /** Faces on the (landscape) document, best first, looked for in pieces of FACE_PIECE_ASPECT when it is longer. */
  private async detectAcross(document: RgbImage): Promise<FaceBox[]> {
    const pieces = Math.ceil(document.width / document.height / FACE_PIECE_ASPECT - 0.05);
    if (pieces <= 1) return this.faces.detect(new Picture(document));
    const width = Math.round(document.height * FACE_PIECE_ASPECT);
    const faces: FaceBox[] = [];
    for (let k = 0; k < pieces; k++) {
      const left = Math.round(((document.width - width) * k) / (pieces - 1));
      const piece = await extract(document, { left, top: 0, width, height: document.height });
      for (const f of await this.faces.detect(new Picture(piece))) faces.push({ ...f, x1: f.x1 + left, x2: f.x2 + left });
    }
    return faces.sort((a, b) => b.score - a.score);
  }
}

/**
 * Print density (horizontal grey-level changes) of the bottom quarter against the top quarter: the
 * machine-readable zone and most printed lines make the bottom of an upright document the busier.
 */
function textOrientation(image: RgbImage): Rotation {
  const band = Math.max(1, Math.floor(image.height / 4));
  const energy = (fromRow: number) => {
    let sum = 0;
    for (let y = fromRow; y < fromRow + band; y++) {
      for (let x = 1, i = 3 * y * image.width; x < image.width; x++, i += 3) sum += Math.abs(image.data[i + 4] - image.data[i + 1]);
    }
    return sum;
  };
  return energy(image.height - band) >= energy(0) ? 0 : 180;
}

/**
 * How the document lay in the photo, as the clockwise quarter turn that makes it upright: read from the
 * direction of its top edge (image y points down, so a positive angle is a clockwise lie).
 */
function uprightTurn(corners: Quad): Rotation {
  const degrees = (Math.atan2(corners[1][1] - corners[0][1], corners[1][0] - corners[0][0]) * 180) / Math.PI;
  return ((((360 - Math.round(degrees / 90) * 90) % 360) + 360) % 360) as Rotation;
}

async function decodePhoto(bytes: Uint8Array, maxPixels: number): Promise<RgbImage> {
  try {
    return await decodeImage(bytes, maxPixels);
  } catch (error) {
    // For this JSON API "not an image" is the reference's 415, whatever the reason the bytes were refused.
    if (error instanceof ApiError && (error.code === 'unsupported_image_format' || error.code === 'image_decode_failed')) {
      throw new ApiError('unsupported_media_type', `img is not a supported image: ${error.message}`);
    }
    throw error;
  }
}

async function resize(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function rotate(image: RgbImage, degrees: Rotation): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .rotate(degrees)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

async function cropPortrait(image: RgbImage, face: FaceBox): Promise<RgbImage> {
  const w = face.x2 - face.x1;
  const h = face.y2 - face.y1;
  const left = clamp(Math.round(face.x1 - w * PORTRAIT_MARGIN.side), 0, image.width - 1);
  const top = clamp(Math.round(face.y1 - h * PORTRAIT_MARGIN.top), 0, image.height - 1);
  const right = clamp(Math.round(face.x2 + w * PORTRAIT_MARGIN.side), left + 1, image.width);
  const bottom = clamp(Math.round(face.y2 + h * PORTRAIT_MARGIN.bottom), top + 1, image.height);
  return extract(image, { left, top, width: right - left, height: bottom - top });
}

async function extract(image: RgbImage, region: { left: number; top: number; width: number; height: number }): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract(region)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

function jpeg(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
