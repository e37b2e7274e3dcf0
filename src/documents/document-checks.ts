import { ApiError } from '../errors.ts';
import type { RgbImage } from '../pipeline/types.ts';
import { withMats, type OpenCv } from './opencv.ts';

export interface DocumentChecks {
  minDocumentPixels: number;
  minSharpness: number;
  maxGlareShare: number;
}

/** Both measures are taken at one width, so they mean the same for a small scan and a 12-megapixel photo. */
const MEASURE_WIDTH = 640;

/** a channel value this high is clipped: whatever was printed there is lost */
const CLIPPED = 250;

export interface DocumentMeasures {
  /** variance of the Laplacian of the grey document */
  sharpness: number;
  /** the largest blob of clipped white, as a share of the document */
  glareShare: number;
}

/**
 * Sharpness and glare of the straightened document. A glare blob as wide as the document is not counted:
 * that is a white page margin, not a reflection.
 */
export function measureDocument(cv: OpenCv, image: RgbImage): DocumentMeasures {
  return withMats((keep) => {
    const rgb = keep(new cv.Mat(image.height, image.width, cv.CV_8UC3));
    rgb.data.set(image.data);
    const width = MEASURE_WIDTH;
    const height = Math.max(1, Math.round((image.height * MEASURE_WIDTH) / image.width));
    const small = keep(new cv.Mat());
    cv.resize(rgb, small, new cv.Size(width, height), 0, 0, cv.INTER_AREA);
    const gray = keep(new cv.Mat());
    cv.cvtColor(small, gray, cv.COLOR_RGB2GRAY);
    const laplacian = keep(new cv.Mat());
    cv.Laplacian(gray, laplacian, cv.CV_64F);
    const mean = keep(new cv.Mat());
    const deviation = keep(new cv.Mat());
    cv.meanStdDev(laplacian, mean, deviation);
    const sharpness = deviation.doubleAt(0, 0) ** 2;

    const clipped = keep(new cv.Mat(height, width, cv.CV_8UC1));
    // one view of each: every read of a Mat's `data` builds a new view through embind (most of this check's time)
    const pixels = small.data;
    const mask = clipped.data;
    for (let p = 0; p < width * height; p++) {
      mask[p] = pixels[3 * p] >= CLIPPED && pixels[3 * p + 1] >= CLIPPED && pixels[3 * p + 2] >= CLIPPED ? 255 : 0;
    }
    const labels = keep(new cv.Mat());
    const stats = keep(new cv.Mat());
    const centroids = keep(new cv.Mat());
    const count = cv.connectedComponentsWithStats(clipped, labels, stats, centroids, 8, cv.CV_32S);
    let largest = 0;
    for (let label = 1; label < count; label++) {
      const blobWidth = stats.intAt(label, cv.CC_STAT_WIDTH);
      if (blobWidth > width * 0.9) continue;
      largest = Math.max(largest, stats.intAt(label, cv.CC_STAT_AREA));
    }
    return { sharpness, glareShare: largest / (width * height) };
  });
}

/** Refuses a document too blurred or too glared to read. */
export function checkDocument(measures: DocumentMeasures, checks: DocumentChecks): void {
  if (measures.sharpness < checks.minSharpness) {
    throw new ApiError('document_blurred', 'the document is too blurred to read: hold the camera still and let it focus');
  }
  if (measures.glareShare > checks.maxGlareShare) {
    throw new ApiError('document_glare', 'light reflected off the document hides part of it: tilt it away from the light');
  }
}
