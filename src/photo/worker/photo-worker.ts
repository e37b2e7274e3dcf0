import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { ApiError } from '../../errors.ts';
import { FacePipeline } from '../../pipeline/face-pipeline.ts';
import type { SerializedError } from '../../workers/worker-pool.ts';
import { resizedFrame } from '../frame.ts';
import { faceColumns, IdPhotoMaker } from '../id-photo-maker.ts';
import { encodeWithinBand } from '../jpeg-output.ts';
import { maskFromPng, maskToPng } from '../mask-file.ts';
import { renderSheet } from '../print-sheet.ts';
import { loadPersonSegmenter } from '../segmentation/index.ts';
import { watermark } from '../watermark.ts';
import type { ExamineResult, GenerateFields, GenerateResult, PhotoJobRequest, PhotoJobResult, PhotoWorkerData, PhotoWorkerMessage, SegmentResult } from './protocol.ts';

const port = parentPort!;
const post = (message: PhotoWorkerMessage) => port.postMessage(message);
const { modelsDir, pipeline: config } = workerData as PhotoWorkerData;

/** The analyze API's preview: at most this wide, as the reference's frontends expect. */
const PREVIEW_WIDTH = 800;

function serialize(error: unknown): SerializedError {
  if (error instanceof ApiError) return { code: error.code, message: error.message, details: error.details };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error), details: {} };
}

async function examine(maker: IdPhotoMaker, image: Uint8Array): Promise<ExamineResult> {
  const analysis = await maker.analyze(image, { segment: false });
  const { picture, geometry } = analysis;
  const previewWidth = Math.min(PREVIEW_WIDTH, picture.width);
  const previewHeight = Math.round((picture.height * previewWidth) / picture.width);
  const preview = await sharp(picture.image.data, { raw: { width: picture.width, height: picture.height, channels: 3 } })
    .resize(previewWidth, previewHeight)
    .png()
    .toBuffer();
  return {
    turns: analysis.turns,
    width: picture.width,
    height: picture.height,
    head: analysis.head,
    face: faceColumns(geometry),
    nose: geometry.five[2],
    forehead: geometry.features!.forehead,
    measurements: analysis.measurements,
    preview,
    previewWidth,
    previewHeight,
  };
}

async function generate(maker: IdPhotoMaker, image: Uint8Array, job: GenerateFields): Promise<GenerateResult> {
  const picture = await maker.reopen(image, job.turns);
  const mask = job.mask ? await maskFromPng(job.mask) : undefined;
  const { image: composed, frame } = maker.compose({ picture, head: job.head, crownFrom: job.crownFrom, mask }, job.rules, job);
  const encoded = await encodeWithinBand(composed, job.dpi, job.fileSize, job.minHeightPx);
  const delivered = encoded.width === frame.widthPx ? frame : resizedFrame(frame, encoded.width, encoded.height);
  const measured = await maker.remeasure(encoded.jpeg, job.rules, delivered, job.crownFrom === 'mask' ? mask : undefined);
  const sheets = [];
  for (const sheet of job.sheets) {
    const { jpeg, layout } = await renderSheet(composed, sheet.widthPx, sheet.heightPx, job.dpi);
    sheets.push({ name: sheet.name, jpeg, count: layout.count, rotated: layout.rotated });
  }
  const preview = job.watermarkText === undefined ? undefined : await watermark(encoded.jpeg, job.watermarkText);
  return { photo: encoded.jpeg, width: encoded.width, height: encoded.height, quality: encoded.quality, incomplete: frame.incomplete, measured, sheets, preview };
}

async function run(maker: IdPhotoMaker, request: PhotoJobRequest): Promise<PhotoJobResult> {
  switch (request.kind) {
    case 'examine':
      return examine(maker, request.image);
    case 'segment': {
      const picture = await maker.reopen(request.image, request.turns);
      const { mask, head, crownFrom } = await maker.segmentHead(picture, request.head, request.face);
      return { mask: await maskToPng(mask), head, crownFrom } satisfies SegmentResult;
    }
    case 'generate':
      return generate(maker, request.image, request);
  }
}

try {
  // PAD and the quality gate are the biometric pipeline's concern; a passport photo needs geometry and the photo measures
  const pipeline = await FacePipeline.create(modelsDir, { ...config, pad: { ...config.pad, enabled: false } });
  let segmentationError: string | undefined;
  const segmenter = await loadPersonSegmenter(modelsDir, config).catch((error: unknown) => {
    segmentationError = error instanceof Error ? error.message : String(error);
    return undefined;
  });
  const maker = new IdPhotoMaker(pipeline, config.maxImagePixels, segmenter);
  port.on('message', async (request: PhotoJobRequest) => {
    try {
      post({ type: 'result', id: request.id, result: await run(maker, request) });
    } catch (error) {
      post({ type: 'error', id: request.id, error: serialize(error) });
    }
  });
  post({ type: 'ready', segments: maker.segments, ...(segmentationError ? { segmentationError } : {}) });
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
