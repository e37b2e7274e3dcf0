import { z } from 'zod';

// The ID-document cropper's settings. Thresholds were measured on the synthetic document photos of
// `npm run eval:cropper` (benchmarks/results/cropper.json): each refuses what it names and passes the rest.
export const documentsConfigSchema = z
  .object({
    /** worker threads that crop documents; each loads OpenCV (WebAssembly) and the face detector once */
    workers: z.number().int().min(1).max(16).default(1),
    /** crops allowed to wait for a free worker; one more is refused with 503 at once */
    maxQueue: z.number().int().min(0).default(8),
    /** largest JSON body: a 12-megapixel photo is 5–8 MB of base64 */
    maxJsonBytes: z.number().int().min(1024).default(24 * 1024 * 1024),
    /** longest side of the returned document image, pixels */
    maxOutputSide: z.number().int().min(200).max(8000).default(1600),
    /** a document whose long side spans fewer photo pixels is refused: document_too_small */
    minDocumentPixels: z.number().int().min(1).default(300),
    /**
     * variance of the Laplacian of the document at 640 pixels wide, grey; below it: document_blurred.
     * The generated photos, Gaussian blur σ up to 3 px included, measure 15.6 and up (5th percentile 35.6).
     */
    minSharpness: z.number().min(0).default(12),
    /**
     * share of the document covered by one blob of clipped white (all channels ≥ 250); above it: document_glare.
     * The generated glare spots (a highlight over part of the text, still readable around it) cover up to 0.153.
     */
    maxGlareShare: z.number().min(0).max(1).default(0.2),
  })
  .strict();

export type DocumentsConfig = z.infer<typeof documentsConfigSchema>;
