import { ApiError } from '../errors.ts';
import type { PipelineConfig } from '../pipeline/config.ts';
import { Picture } from '../pipeline/picture.ts';
import { decodeImage, imageFormat } from '../pipeline/decode.ts';
import { loadModelManifest } from '../pipeline/model-manifest.ts';
import { loadModel } from '../pipeline/models/registry.ts';
import type { FaceDetector } from '../pipeline/models/roles.ts';
import type { Detection, FaceBox, RgbImage } from '../pipeline/types.ts';
import { searchDocument, SEARCH_LONG_SIDE } from './document-finder.ts';
import type { DocumentsConfig } from './config.ts';
import { checkDocument, measureDocument, type DocumentMeasures } from './document-checks.ts';
import { cropPortrait, detectAcross, detectInPortraitZone, FACE_SEARCH_SIDE } from './document-faces.ts';
import { loadOpenCv, type OpenCv } from './opencv.ts';
import { formatOfZone, mrzLines, mrzTop, uprightByMrz, type MrzLine } from './mrz-lines.ts';
import { clamp, jpeg, rotate, shrinkToFit, type QuarterTurn } from './raster.ts';
import { textBoxes, type TextBox } from './text-boxes.ts';
import type { TextDetector } from './text-detector.ts';
import { documentFromText } from './text-extent.ts';
import { documentType, FORMAT_ASPECTS, orderQuad, quadSides, rescaleQuad, rotateQuad, sameShape, type DocumentType, type Quad } from './quad.ts';

export type Rotation = QuarterTurn;

export interface CroppedDocument {
  /** JPEG of the upright document */
  image: Buffer;
  /** the document's corners in the photo (after its EXIF orientation), clockwise from the document's top-left */
  corners: Quad;
  confidence: number;
  /** what placed the document: its outline, the whole photo (a scan), or its print (no outline found) */
  placedBy: 'outline' | 'whole_photo' | 'text';
  documentType: DocumentType;
  /** the clockwise quarter turn, degrees, that makes the document as it lay in the photo upright */
  rotation: Rotation;
  /** JPEG of the face printed on the document, when there is one */
  portrait?: Buffer;
  /** the face detector's confidence in the portrait */
  portraitScore?: number;
  /** what the blur and glare checks measured */
  measures: DocumentMeasures;
}

export type CropperOptions = Pick<DocumentsConfig, 'maxOutputSide' | 'minDocumentPixels' | 'minSharpness' | 'maxGlareShare'> & { maxImagePixels: number };

/** A photo shaped like an ID format to within this is taken as the document itself when no outline is found. */
const WHOLE_FRAME_TOLERANCE = 0.03;

/**
 * The photo's long side where text is looked for. At the outline search's 720 pixels the print of a
 * document spanning half the photo is 5–8 pixels high, too small for the detector; at 960 (PaddleOCR's
 * own default) it finds the machine-readable zone.
 */
const TEXT_SEARCH_SIDE = 960;

/** confidence reported for a document placed from its text alone: no edge of it was seen */
const TEXT_EXTENT_CONFIDENCE = 0.3;

/** detector confidence a face on a document needs to count as its portrait: with BlazeFace, 0.75 returns no portrait on the card backs of the eval set, 0.7 returns one on 14 % of them */
export const PORTRAIT_MIN_SCORE = 0.75;

/**
 * the zone detector's confidence for a portrait in the portrait's zone: MediaPipe's own default for its
 * face detectors (minDetectionConfidence), not tuned here. On the 22 card-back photos of the eval set
 * that it looks at (no TD1 zone read) the full-range model's best imagined face scores 0.484, either
 * way up: a thin margin (benchmarks/results/cropper-portraits.json).
 */
export const ZONE_PORTRAIT_MIN_SCORE = 0.5;

/** a detector looking in the portrait's zone, and the confidence a face it finds there needs */
interface ZoneLook {
  detector: FaceDetector;
  minScore: number;
}

/** a face this certain decides orientation alone, without a look at the document the other way up */
const CLEAR_FACE_SCORE = 0.97;

/**
 * Photo of an ID document → the document alone, straightened and upright, with its corners and portrait.
 * Runs in a cropper worker thread: OpenCV's WebAssembly and the face detector block the thread they run on.
 */
export class DocumentCropper {
  private constructor(
    private readonly cv: OpenCv,
    private readonly faces: FaceDetector,
    /** the bundle's portrait detector, when it has one: a second look where `faces` finds no portrait */
    private readonly portraits: FaceDetector | undefined,
    /** the bundle's text detector, when it has one: where no outline is found, the print places the document */
    private readonly text: TextDetector | undefined,
    /** the last looks at a document that shows no face, in turn: the face detector, then the bundle's zone detector when it has one */
    private readonly zoneLooks: readonly ZoneLook[],
    private readonly options: CropperOptions,
  ) {}

  /** Loads OpenCV and the model bundle's face, portrait, zone and text detectors (whatever kinds its manifest names). */
  static async create(modelsDir: string, pipeline: PipelineConfig, options: CropperOptions): Promise<DocumentCropper> {
    const manifest = loadModelManifest(modelsDir, pipeline.manifest, ['detection', 'portrait', 'portrait_zone', 'text']);
    const detector = await loadModel('detection', manifest.roles.detection!, manifest, pipeline);
    const portraits = manifest.roles.portrait ? await loadModel('portrait', manifest.roles.portrait, manifest, pipeline) : undefined;
    const text = manifest.roles.text ? await loadModel('text', manifest.roles.text, manifest, pipeline) : undefined;
    const zoneLooks: ZoneLook[] = [{ detector, minScore: PORTRAIT_MIN_SCORE }];
    if (manifest.roles.portrait_zone) {
      // the detector drops faces below the pipeline's confidence itself, so it is given the zone's own
      const zoneConfig = { ...pipeline, detection: { ...pipeline.detection, confidence: ZONE_PORTRAIT_MIN_SCORE } };
      zoneLooks.push({ detector: await loadModel('portrait_zone', manifest.roles.portrait_zone, manifest, zoneConfig), minScore: ZONE_PORTRAIT_MIN_SCORE });
    }
    return new DocumentCropper(await loadOpenCv(), detector, portraits, text, zoneLooks, options);
  }

  async crop(bytes: Uint8Array): Promise<CroppedDocument> {
    const { small, photo: decoding } = await decodeForSearch(bytes, this.options.maxImagePixels);
    const found = searchDocument(this.cv, small);
    const photo = await decoding;
    let quad: Quad;
    let confidence: number;
    let placedBy: CroppedDocument['placedBy'];
    if (found.kind === 'found') {
      quad = rescaleQuad(found.quad, small, photo);
      confidence = found.confidence;
      placedBy = 'outline';
    } else if (documentType(photo.width / photo.height, WHOLE_FRAME_TOLERANCE) !== 'unknown') {
      // A scan or a close-up: the document is the whole photo, its edges at (or past) the frame.
      quad = [[0, 0], [photo.width - 1, 0], [photo.width - 1, photo.height - 1], [0, photo.height - 1]];
      confidence = 0.5;
      placedBy = 'whole_photo';
    } else if (found.kind === 'cut') {
      throw new ApiError('document_cut', 'the document runs off the edge of the photo: photograph it whole, with a margin around it');
    } else {
      const fromText = await this.documentFromText(photo);
      if (!fromText) throw new ApiError('document_not_found', 'no document was found in the photo');
      quad = fromText;
      confidence = TEXT_EXTENT_CONFIDENCE;
      placedBy = 'text';
    }

    const sides = quadSides(quad);
    if (Math.max(sides.width, sides.height) < this.options.minDocumentPixels) {
      throw new ApiError('document_too_small', `the document is ${Math.round(Math.max(sides.width, sides.height))} pixels long in the photo; at least ${this.options.minDocumentPixels} are needed: move closer`);
    }
    const shaped = this.warp(photo, quad);
    // The machine-readable zone is read once, either way up alike. It says which format the document is
    // where the outline cannot (ID-2 and ID-3 share a shape, and under perspective an outline can pass an
    // ID-3 page for an ID-1 card, or look like no format at all), and turns a document without a face upright.
    const zone = mrzLines(this.cv, shaped.image);
    const zoneFormat = formatOfZone(zone);
    const type = zoneFormat ?? shaped.type;
    // warped again only to another shape; the zone's lines, measured as shares of the page, hold on it
    const straight = sameShape(type, shaped.type) ? shaped : this.warp(photo, quad, type);
    const { rotation: turn, faces: seen } = await this.orientation(straight.image, zone);
    const upright = turn === 0 ? straight.image : await rotate(straight.image, turn);
    // checked before the last looks for a portrait: a document refused for blur or glare needs none
    const measures = measureDocument(this.cv, upright);
    checkDocument(measures, this.options);
    // ICAO 9303 prints a TD1 card's zone on its back and its portrait on the front: a TD1 side has none to look for
    const faces = seen.length > 0 || zoneFormat === 'ID-1' ? seen : await this.zoneFaces(upright, mrzTop(zone, turn));
    // Every ID document carries print: an outline with no face, no monospaced line and no text line is
    // something else shaped like one (a house front among the nonfaces photos was taken for a document)
    if (faces.length === 0 && zone.length === 0 && !(await this.hasPrint(upright))) throw new ApiError('document_not_found', 'no document was found in the photo');
    const corners = rotateQuad(straight.quad, (4 - turn / 90) % 4);
    return {
      image: await jpeg(upright),
      corners,
      confidence: round(confidence),
      placedBy,
      documentType: type,
      rotation: uprightTurn(corners),
      measures,
      ...(faces[0] ? { portrait: await jpeg(await cropPortrait(upright, faces[0])), portraitScore: round(faces[0].score) } : {}),
    };
  }

  /**
   * No face either way up: the last looks, where the standard prints the portrait. On the eval set the
   * face detector finds there a portrait whose eye glare hides it on the whole page, and the zone
   * detector one that glare hides from the face detector in the zone too.
   */
  private async zoneFaces(upright: RgbImage, mrzTop: number): Promise<Detection[]> {
    for (const { detector, minScore } of this.zoneLooks) {
      const faces = (await detectInPortraitZone(detector, upright, mrzTop)).filter((f) => f.score >= minScore);
      if (faces.length > 0) return faces;
    }
    return [];
  }

  /** Where the photo's print says the document is (text-extent.ts), in photo pixels; only when no outline was found. */
  private async documentFromText(photo: RgbImage): Promise<Quad | undefined> {
    if (!this.text) return undefined;
    const { boxes, image } = await this.printOn(photo, this.text);
    const quad = documentFromText(boxes, image.width, image.height);
    return quad && rescaleQuad(quad, image, photo);
  }

  /** Whether the text detector finds a line of print on the document; true without one (nothing to judge by). */
  private async hasPrint(document: RgbImage): Promise<boolean> {
    return !this.text || (await this.printOn(document, this.text)).boxes.length > 0;
  }

  /** The lines of print the text detector finds on the image shrunk to TEXT_SEARCH_SIDE, in that shrunk image's pixels. */
  private async printOn(image: RgbImage, text: TextDetector): Promise<{ boxes: TextBox[]; image: RgbImage }> {
    const small = await shrinkToFit(image, TEXT_SEARCH_SIDE);
    return { boxes: textBoxes(this.cv, await text.textMap(small)), image: small };
  }

  /** The quad mapped onto a rectangle of the document's own shape (its `format`'s, when known), long side horizontal. */
  private warp(photo: RgbImage, photoQuad: Quad, format?: DocumentType): { image: RgbImage; quad: Quad; type: DocumentType } {
    // landscape: corner 0 is the top-left of the side that is the document's long edge
    let quad = orderQuad(photoQuad);
    let { width, height } = quadSides(quad);
    if (height > width) {
      quad = rotateQuad(quad, 1);
      [width, height] = [height, width];
    }
    const type = format ?? documentType(width / height);
    const aspect = type === 'unknown' ? width / height : FORMAT_ASPECTS[type];
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
   * Faces on the document as it lies: the face detector's, else the portrait detector's. On the eval set
   * (benchmarks/results/cropper.json) BlazeFace misses portraits that blur has softened, which UltraFace
   * finds, and UltraFace sees no face at all in the print of the 64 card backs (none above 0.2) when it
   * looks at the whole document: in tiles or pieces it does, so it gets the whole document, letterboxed.
   */
  private async portraitFaces(document: RgbImage): Promise<Detection[]> {
    const faces = (await detectAcross(this.faces, document)).filter((f) => f.score >= PORTRAIT_MIN_SCORE);
    return faces.length > 0 || !this.portraits ? faces : this.portraits.detect(new Picture(document), { tiles: false });
  }

  /**
   * Upright is 0 or 180 (the warp already made the long side horizontal). The face detector looks at
   * both turns; ICAO 9303 puts the portrait on the left of a data page, so each face votes, by its
   * score, for the turn that puts it on the left. With no face the machine-readable zone decides (it is
   * printed along the bottom), and without one the print: most printed lines make the bottom the busier half.
   */
  private async orientation(document: RgbImage, zone: readonly MrzLine[]): Promise<{ rotation: 0 | 180; faces: FaceBox[] }> {
    const small = await shrinkToFit(document, FACE_SEARCH_SIDE);
    // the document is landscape (the warp made it so): its width is the side that was fitted
    const scale = small.width / document.width;
    const views: Array<{ rotation: 0 | 180; faces: FaceBox[] }> = [];
    for (const rotation of [0, 180] as const) {
      const view = rotation === 0 ? small : await rotate(small, rotation);
      views.push({ rotation, faces: await this.portraitFaces(view) });
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
    const rotation: 0 | 180 = votes[0] === votes[180] ? (uprightByMrz(zone) ?? textOrientation(small)) : votes[0] > votes[180] ? 0 : 180;
    // the portrait as seen upright, else as seen the other way up and turned; back to full size
    const same = views.find((v) => v.rotation === rotation)!.faces;
    const other = views.find((v) => v.rotation !== rotation)!.faces;
    const upright = same.length > 0 ? same : other.map((f) => ({ ...f, x1: small.width - f.x2, x2: small.width - f.x1, y1: small.height - f.y2, y2: small.height - f.y1 }));
    return { rotation, faces: upright.map((f) => ({ ...f, x1: f.x1 / scale, y1: f.y1 / scale, x2: f.x2 / scale, y2: f.y2 / scale })) };
  }
}

/**
 * Print density (horizontal grey-level changes) of the bottom quarter against the top quarter: the
 * machine-readable zone and most printed lines make the bottom of an upright document the busier.
 */
function textOrientation(image: RgbImage): 0 | 180 {
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

/**
 * The photo shrunk to SEARCH_LONG_SIDE for the search, and at full size for the warp. Both are decoded from
 * the bytes: the small one shrunk while it is decoded (cheap for a JPEG), the full one in libvips' threads
 * while the search runs on this thread, which takes the 12-megapixel decode off the crop's critical path.
 * JPEG 2000 is decoded on this thread (OpenJPEG), so once, and shrunk.
 */
async function decodeForSearch(bytes: Uint8Array, maxPixels: number): Promise<{ small: RgbImage; photo: Promise<RgbImage> }> {
  if (imageFormat(bytes) === 'jp2') {
    const photo = await decodePhoto(bytes, maxPixels);
    return { small: await shrinkToFit(photo, SEARCH_LONG_SIDE), photo: Promise.resolve(photo) };
  }
  const photo = decodePhoto(bytes, maxPixels);
  // Nothing awaits the full decode until the search is done, so its failure is marked handled here; it is
  // still thrown where it is awaited (and a damaged file usually fails the small decode first, alike).
  photo.catch(() => undefined);
  return { small: await decodePhoto(bytes, maxPixels, SEARCH_LONG_SIDE), photo };
}

async function decodePhoto(bytes: Uint8Array, maxPixels: number, fitWithin?: number): Promise<RgbImage> {
  try {
    return await decodeImage(bytes, maxPixels, { fitWithin });
  } catch (error) {
    // For this JSON API "not an image" is the reference's 415, whatever the reason the bytes were refused.
    if (error instanceof ApiError && (error.code === 'unsupported_image_format' || error.code === 'image_decode_failed')) {
      throw new ApiError('unsupported_media_type', `img is not a supported image: ${error.message}`);
    }
    throw error;
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
