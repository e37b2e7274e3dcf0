import { judge, type CheckRequest } from '../compliance/compliance.service.ts';
import type { PhotoMeasurements } from '../compliance/measures/index.ts';
import { DEFAULT_PROFILE, type ComplianceProfiles } from '../compliance/profiles.ts';
import { ApiError } from '../errors.ts';
import type { QuarterTurns } from '../pipeline/orientation.ts';
import type { Point } from '../pipeline/types.ts';
import type { FrameRules, FrameSide, HeadLandmarks } from './frame.ts';
import type { HeadMeasurement } from './head.ts';
import type { CrownSource, FaceColumns } from './id-photo-maker.ts';
import type { FileSizeBand } from './jpeg-output.ts';
import type { PhotoJobStore, StoredJob } from './photo-job-store.ts';
import type { PhotoPool } from './photo-pool.ts';
import { paperPx, type PaperSize } from './print-sheet.ts';
import type { ProgressHub } from './progress.ts';
import { parseHexColour } from './render.ts';
import type { PhotoSpec, SpecTable } from './specs/spec-table.ts';
import type { GenerateResult, SheetRequest } from './worker/protocol.ts';

export const DOWNLOAD_PREFIX = '/api/v1/download';

/** What a job keeps besides its files: the analysis, so generate needs no second pass of the models. */
export interface PhotoJobMeta {
  /** the uploaded file's name as given (sanitised), for the output names */
  filename: string;
  turns: QuarterTurns;
  width: number;
  height: number;
  head: HeadLandmarks;
  crownFrom: CrownSource;
  face: FaceColumns;
  hasMask: boolean;
  measurements: PhotoMeasurements;
  /** /v2/ jobs: the clean photo's file, the issues found, and whether the caller has been given it yet */
  idPhoto?: { file: string; issues: string[]; watermarked: boolean; released: boolean };
}

/** 0–1 points of the analyze answer, as the reference's frontends read them */
export interface NormalisedLandmarks {
  leftEye: Point;
  rightEye: Point;
  eyeCenter: Point;
  chin: Point;
  forehead: Point;
  crown: Point;
  nose: Point;
  faceCenterX: number;
}

export interface Upload {
  bytes: Uint8Array;
  filename: string;
}

export interface GenerateRequest {
  jobId: string;
  countryCode: string;
  documentType: PhotoSpec['documentType'];
  /** undefined (or keepBackground) keeps the photo's own background */
  bgColor?: string;
  keepBackground: boolean;
  printLayout: 'none' | PaperSize;
  maxFileSizeKb: number;
  dpi: number;
  customWidthMm?: number;
  customHeightMm?: number;
  zoom: number;
  adjustX: number;
  adjustY: number;
  landmarks: NormalisedLandmarks;
  imageWidth: number;
  imageHeight: number;
}

export interface GeneratedPhoto {
  jobId: string;
  downloadUrl: string;
  dimensions: { widthMm: number; heightMm: number; widthPx: number; heightPx: number; dpi: number };
  spec: { country: string; countryCode: string; documentType: string; documentLabel: string };
  printDownloadUrl?: string;
  /** the output re-measured: head height and eye line against the spec's bands */
  measured?: HeadMeasurement;
  /** ISSUE_<SIDE>_INCOMPLETE where the crop ran off the photo and was padded */
  issues: string[];
}

export interface IdPhotoRequest {
  specCode: string;
  issueSensitivityOverride: CheckRequest['issueSensitivityOverride'];
  sheetSizes: string[];
  /** present: the watermark mode, with this text on the preview */
  watermarkText?: string;
}

export interface IdPhotoOutcome {
  photoUuid: string;
  /** path of the delivered photo: the clean one, or the watermarked preview */
  photoPath: string;
  photo: Buffer;
  originalPath: string;
  issues: string[];
  sheets: Record<string, string>;
  measured?: HeadMeasurement;
}

/** the crop ran off the photo on this side and was padded with the background colour */
export const paddingIssue = (side: FrameSide) => `ISSUE_${side}_INCOMPLETE`;

const UPLOAD_FILE = 'upload';
const MASK_FILE = 'mask.png';

/**
 * Passport / ID photos for both APIs: analyze → generate (the two-phase API) and make / make with
 * watermark / release (the /v2/ API). The photo worker does the pixel work; this decides what to make,
 * keeps jobs per key and reports progress.
 */
export class PassportPhotoService {
  constructor(
    private readonly pool: PhotoPool,
    private readonly jobs: PhotoJobStore<PhotoJobMeta>,
    private readonly specs: SpecTable,
    private readonly profiles: ComplianceProfiles,
    private readonly progress: ProgressHub,
  ) {}

  assertCanAcceptImage(): void {
    this.pool.assertCanAccept();
  }

  listSpecs(): readonly PhotoSpec[] {
    return this.specs.list();
  }

  spec(code: string): PhotoSpec {
    const spec = this.specs.get(code);
    if (!spec) throw new ApiError('bad_request', `unknown specCode "${code}" (listIdPhotoSpecCode lists them)`);
    return spec;
  }

  /** Phase 1: landmarks (0–30 %), then the person mask (30–95 %), kept as a job for generate. */
  async analyze(upload: Upload, owner: string | null, clientJobId?: string) {
    const report = (percent: number, stage: 'started' | 'landmarks' | 'background' | 'done') => {
      if (clientJobId) this.progress.report(owner, clientJobId, { percent, stage });
    };
    try {
      report(0, 'started');
      const job = await this.analyzeInto(upload, owner, (stage) => report(stage === 'landmarks' ? 30 : 95, stage));
      report(100, 'done');
      return job;
    } catch (error) {
      if (clientJobId) this.progress.report(owner, clientJobId, { percent: 100, stage: 'failed', error: error instanceof ApiError ? error.code : 'internal_error' });
      throw error;
    }
  }

  private async analyzeInto(upload: Upload, owner: string | null, step: (stage: 'landmarks' | 'background') => void) {
    const examined = await this.pool.examine(upload.bytes);
    step('landmarks');
    const segmented = this.pool.segments ? await this.pool.segment(upload.bytes, { turns: examined.turns, head: examined.head, face: examined.face }) : undefined;
    step('background');
    const head = segmented?.head ?? examined.head;
    const meta: PhotoJobMeta = {
      filename: upload.filename,
      turns: examined.turns,
      width: examined.width,
      height: examined.height,
      head,
      crownFrom: segmented?.crownFrom ?? 'mesh',
      face: examined.face,
      hasMask: segmented !== undefined,
      measurements: examined.measurements,
    };
    const job = await this.jobs.create(owner, meta, { [UPLOAD_FILE]: upload.bytes, ...(segmented ? { [MASK_FILE]: segmented.mask } : {}) });
    const normalise = (p: Point): Point => ({ x: p.x / examined.width, y: p.y / examined.height });
    const eyeCenter = { x: (head.leftEye.x + head.rightEye.x) / 2, y: (head.leftEye.y + head.rightEye.y) / 2 };
    return {
      job,
      preview: examined.preview,
      previewWidth: examined.previewWidth,
      previewHeight: examined.previewHeight,
      landmarks: {
        leftEye: normalise(head.leftEye),
        rightEye: normalise(head.rightEye),
        eyeCenter: normalise(eyeCenter),
        chin: normalise(head.chin),
        forehead: normalise(examined.forehead),
        crown: normalise(head.crown),
        nose: normalise(examined.nose),
        faceCenterX: (examined.face.from + examined.face.to) / 2 / examined.width,
      } satisfies NormalisedLandmarks,
    };
  }

  /** Phase 2: the spec's photo (and print sheet) from an analyzed job of the same key, re-measured. */
  async generate(request: GenerateRequest, owner: string | null): Promise<GeneratedPhoto> {
    const job = await this.jobs.get(request.jobId, owner);
    const spec = this.specs.find(request.countryCode.toUpperCase(), request.documentType);
    if (!spec) throw new ApiError('bad_request', `no spec for country ${request.countryCode} and document type ${request.documentType}`);
    const { meta } = job;
    if (request.imageWidth !== meta.width || request.imageHeight !== meta.height) {
      throw new ApiError('bad_request', `imageWidth × imageHeight must be the analyzed photo's, ${meta.width} × ${meta.height}`);
    }
    const rules = customRules(spec, request.customWidthMm, request.customHeightMm);
    const px = (p: Point): Point => ({ x: p.x * meta.width, y: p.y * meta.height });
    const head: HeadLandmarks = { leftEye: px(request.landmarks.leftEye), rightEye: px(request.landmarks.rightEye), chin: px(request.landmarks.chin), crown: px(request.landmarks.crown) };
    const background = request.keepBackground ? undefined : request.bgColor;
    const sheets: SheetRequest[] = request.printLayout === 'none' ? [] : [sheetOfPaper(request.printLayout, request.dpi)];
    const result = await this.make(job, spec, rules, {
      head,
      dpi: request.dpi,
      zoom: request.zoom,
      shiftMm: { x: request.adjustX, y: request.adjustY },
      background,
      fileSize: { ...specFileSize(spec), ...(request.maxFileSizeKb > 0 ? { maxKb: request.maxFileSizeKb } : {}) },
      sheets,
    });
    const base = `${stem(meta.filename)}_${spec.documentType}`;
    await this.jobs.write(job.jobId, `${base}.jpg`, result.photo);
    const printFile = result.sheets[0] && `${base}_print_${result.sheets[0].name}.jpg`;
    if (printFile) await this.jobs.write(job.jobId, printFile, result.sheets[0].jpeg);
    return {
      jobId: job.jobId,
      downloadUrl: downloadPath(job.jobId, `${base}.jpg`),
      dimensions: { widthMm: rules.widthMm, heightMm: rules.heightMm, widthPx: result.width, heightPx: result.height, dpi: request.dpi },
      spec: { country: spec.country, countryCode: spec.countryCode, documentType: spec.documentType, documentLabel: spec.documentLabel },
      ...(printFile ? { printDownloadUrl: downloadPath(job.jobId, printFile) } : {}),
      measured: result.measured,
      issues: result.incomplete.map(paddingIssue),
    };
  }

  /**
   * /v2/makeIdPhoto and makeIdPhotoWatermark: analyze and generate in one call, with the spec's own
   * background rule (replaced by its default colour where editing is allowed, kept where it is not),
   * and the compliance issues of the source photo plus any padding.
   */
  async makeIdPhoto(bytes: Uint8Array, request: IdPhotoRequest, owner: string | null): Promise<IdPhotoOutcome> {
    const spec = this.spec(request.specCode);
    const sheets = request.sheetSizes.map(parseSheetSize);
    const { job } = await this.analyzeInto({ bytes, filename: 'original' }, owner, () => {});
    const background = spec.background.editingAllowed && this.pool.segments ? spec.background.default : undefined;
    const result = await this.make(job, spec, spec, { head: job.meta.head, dpi: spec.dpi, zoom: 1, shiftMm: { x: 0, y: 0 }, background, fileSize: specFileSize(spec), sheets, watermarkText: request.watermarkText });
    const verdict = judge(job.meta.measurements, { profile: DEFAULT_PROFILE, issueSensitivityOverride: request.issueSensitivityOverride }, this.profiles);
    const issues = [...verdict.issues, ...result.incomplete.map(paddingIssue)];
    const watermarked = request.watermarkText !== undefined;
    await this.jobs.write(job.jobId, 'photo.jpg', result.photo);
    if (result.preview) await this.jobs.write(job.jobId, 'preview.jpg', result.preview);
    const sheetPaths: Record<string, string> = {};
    for (const sheet of result.sheets) {
      await this.jobs.write(job.jobId, `sheet_${sheet.name}.jpg`, sheet.jpeg);
      sheetPaths[sheet.name.replace('x', '*')] = downloadPath(job.jobId, `sheet_${sheet.name}.jpg`);
    }
    await this.jobs.update(job, { ...job.meta, idPhoto: { file: 'photo.jpg', issues, watermarked, released: !watermarked } });
    return {
      photoUuid: job.jobId,
      photoPath: downloadPath(job.jobId, watermarked ? 'preview.jpg' : 'photo.jpg'),
      photo: Buffer.from(watermarked ? result.preview! : result.photo),
      originalPath: downloadPath(job.jobId, UPLOAD_FILE),
      issues,
      sheets: sheetPaths,
      measured: result.measured,
    };
  }

  /** The clean photo of a watermark-mode job, for the key that made it; from now on its download is open. */
  async release(photoUuid: string, owner: string | null): Promise<{ photoPath: string; issues: string[] }> {
    const job = await this.jobs.get(photoUuid, owner);
    const idPhoto = job.meta.idPhoto;
    if (!idPhoto?.watermarked) throw new ApiError('not_found', 'no watermarked photo with this photoUuid');
    if (!idPhoto.released) await this.jobs.update(job, { ...job.meta, idPhoto: { ...idPhoto, released: true } });
    return { photoPath: downloadPath(job.jobId, idPhoto.file), issues: idPhoto.issues };
  }

  /** A job's file for the key that made it. A watermark-mode photo stays hidden until released. */
  async download(jobId: string, file: string, owner: string | null): Promise<Buffer> {
    const job = await this.jobs.get(jobId, owner);
    if (file === MASK_FILE || (job.meta.idPhoto && file === job.meta.idPhoto.file && !job.meta.idPhoto.released)) throw new ApiError('not_found', 'no such file');
    return this.jobs.read(jobId, owner, file);
  }

  private async make(
    job: StoredJob<PhotoJobMeta>,
    spec: PhotoSpec,
    rules: FrameRules,
    options: { head: HeadLandmarks; dpi: number; zoom: number; shiftMm: Point; background?: string; fileSize: FileSizeBand; sheets: SheetRequest[]; watermarkText?: string },
  ): Promise<GenerateResult> {
    const { meta } = job;
    if (options.background !== undefined) {
      if (!spec.background.editingAllowed) throw new ApiError('bad_request', `${spec.code} forbids editing the background: omit bgColor (or set keepBackground) to keep the photo's own`);
      if (!meta.hasMask) throw new ApiError('service_unavailable', 'background replacement needs the segmentation model, which this server has not loaded');
    }
    const background = options.background === undefined ? undefined : parseHexColour(options.background);
    const [upload, mask] = await Promise.all([this.jobs.read(job.jobId, job.owner, UPLOAD_FILE), meta.hasMask ? this.jobs.read(job.jobId, job.owner, MASK_FILE) : undefined]);
    return this.pool.generate(upload, {
      turns: meta.turns,
      head: options.head,
      crownFrom: meta.crownFrom,
      mask,
      rules,
      dpi: options.dpi,
      zoom: options.zoom,
      shiftMm: options.shiftMm,
      padding: background ?? parseHexColour(spec.background.default),
      background,
      fileSize: options.fileSize,
      minHeightPx: spec.digital?.heightPx?.min ?? 1,
      sheets: options.sheets,
      watermarkText: options.watermarkText,
    });
  }
}

export const downloadPath = (jobId: string, file: string) => `${DOWNLOAD_PREFIX}/${jobId}/${file}`;

/** the upload's name without its extension, reduced to characters safe in a file name and a URL */
function stem(filename: string): string {
  const name = filename.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64);
  return /^[A-Za-z0-9]/.test(name) ? name : `photo${name}`;
}

/** custom frame sizes scale the spec's bands with the frame height, so the head keeps its share */
function customRules(spec: PhotoSpec, widthMm?: number, heightMm?: number): FrameRules {
  if (widthMm === undefined && heightMm === undefined) return spec;
  const height = heightMm ?? spec.heightMm;
  const k = height / spec.heightMm;
  const scale = (band: { min: number; max: number }) => ({ min: band.min * k, max: band.max * k });
  return { widthMm: widthMm ?? spec.widthMm, heightMm: height, headHeightMm: scale(spec.headHeightMm), ...(spec.eyeLineFromBottomMm ? { eyeLineFromBottomMm: scale(spec.eyeLineFromBottomMm) } : {}) };
}

/** the spec's digital file-size rule, where it has one */
function specFileSize(spec: PhotoSpec): FileSizeBand {
  const band = spec.digital?.fileSizeKb;
  return { ...(band?.min !== undefined ? { minKb: band.min } : {}), ...(band?.max !== undefined ? { maxKb: band.max } : {}) };
}

function sheetOfPaper(paper: PaperSize, dpi: number): SheetRequest {
  const [widthPx, heightPx] = paperPx(paper, dpi);
  return { name: paper, widthPx, heightPx };
}

/** Largest sheet side accepted, px: a Letter page at 1200 dpi is 10200 × 13200. */
const MAX_SHEET_SIDE = 14_000;

/** "1800*1200" → a sheet 1800 px wide, 1200 px high */
export function parseSheetSize(size: string): SheetRequest {
  const match = /^(\d{2,5})\*(\d{2,5})$/.exec(size);
  const [widthPx, heightPx] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!match || widthPx > MAX_SHEET_SIDE || heightPx > MAX_SHEET_SIDE) throw new ApiError('bad_request', `a sheet size is "width*height" in pixels, each at most ${MAX_SHEET_SIDE}: got "${size}"`);
  return { name: `${widthPx}x${heightPx}`, widthPx, heightPx };
}
