import { z } from 'zod';

// Everything that tunes the biometric pipeline, validated once at start.
// Nested objects use `prefault({})` so their defaults live in one place: the field defaults.
// The numeric defaults were measured on the shared fixtures with `npm run calibrate` and
// `npm run pad-eval` (benchmarks/results/*.json); see the comments for what each one refuses.

/** Every quality component: `enabled` switches it (and any model only it needs) off, `weight` is its exponent in the overall score. */
const toggles = { enabled: z.boolean().default(true), weight: z.number().min(0).default(1) };

/** Linear ramp from `zeroAt` (component score 0) to `oneAt` (component score 1). */
const ramp = (zeroAt: number, oneAt: number) =>
  z
    .object({ zeroAt: z.number().default(zeroAt), oneAt: z.number().default(oneAt) })
    .strict()
    .refine((r) => r.zeroAt !== r.oneAt, 'zeroAt and oneAt must differ')
    .prefault({});

export type Ramp = z.infer<ReturnType<typeof ramp>>;

const qualitySchema = z
  .object({
    /** overall quality below which enrol is refused with 422 */
    enrolMinimum: z.number().min(0).max(1).default(0.3),
    /** overall quality below which search / verify probes are refused with 422 */
    probeMinimum: z.number().min(0).max(1).default(0.2),
    components: z
      .object({
        /** inter-eye distance in pixels of the original image (ISO/IEC 19794-5 asks 60+ for enrolment) */
        faceSize: z.object({ ...toggles, interEyePx: ramp(12, 40) }).strict().prefault({}),
        /** variance of the Laplacian of the aligned 112×112 grey face; blur drives it towards 0 */
        sharpness: z.object({ ...toggles, laplacianVariance: ramp(15, 120) }).strict().prefault({}),
        /** mean and standard deviation of the aligned face's grey levels */
        exposure: z.object({ ...toggles, darkMean: ramp(25, 70), brightMean: ramp(235, 190), contrast: ramp(8, 30) }).strict().prefault({}),
        /** the larger of |yaw| and |pitch| in degrees, from the face mesh (or the pose model of bundles without one) */
        pose: z.object({ ...toggles, degrees: ramp(60, 25) }).strict().prefault({}),
        /**
         * |roll| of the eye line in degrees, after any quarter turn the pipeline made to find the face: up to
         * 45° is undone by alignment; beyond, the face was not turned upright and its template is unreliable
         */
        roll: z.object({ ...toggles, degrees: ramp(60, 45) }).strict().prefault({}),
        /** the mean of the two eyes' open probabilities, from the eye-state model */
        eyes: z.object({ ...toggles, openProbability: ramp(0.02, 0.3) }).strict().prefault({}),
        /** detector confidence */
        detection: z.object({ ...toggles, confidence: ramp(0.5, 0.9) }).strict().prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const pipelineConfigSchema = z
  .object({
    /**
     * the model bundle: a manifest file in the models directory. `manifest.json` is BlazeFace + the
     * MediaPipe mesh; `manifest-faceplugin-68.json` is the earlier RFB-320 + 68-point bundle, kept for
     * side-by-side evaluation. Each has its own score calibration; templates of one do not match the other's.
     */
    manifest: z.string().regex(/^[^/\\]+\.json$/, 'a .json file name inside the models directory').default('manifest.json'),
    /** worker threads that run inference; each holds its own ONNX sessions */
    workers: z.number().int().min(1).max(64).default(2),
    /** ONNX Runtime intra-op threads per worker */
    intraOpThreads: z.number().int().min(1).max(64).default(1),
    /** jobs allowed to wait for a free worker; one more is refused with 503 at once instead of timing out later */
    maxQueue: z.number().int().min(0).default(32),
    /** images with more pixels are refused from their header, before any decoding (decompression bombs) */
    maxImagePixels: z.number().int().min(1).default(40_000_000),
    detection: z
      .object({
        confidence: z.number().min(0).max(1).default(0.7),
        nmsIou: z.number().min(0).max(1).default(0.4),
        /**
         * border added on every side, as a fraction of the image's longer side, before the whole-image
         * pass: a face that fills the frame (tight crops, document portraits) is only found with context
         */
        margin: z.number().min(0).max(2).default(0.25),
        /**
         * when the whole-image pass finds nothing in a large image, it is searched again in tiles×tiles
         * overlapping windows at higher resolution, so small faces in big photos are found; 1 disables
         */
        tiles: z.number().int().min(1).max(6).default(3),
      })
      .strict()
      .prefault({}),
    pad: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * spoof probability at or above which a request is refused with 451; 0.81 refuses 5% of the bona fide
         * fixture faces (2% of faces/, 19% of the NUAA pad/real frames) and accepts 11% of the print attacks
         * (benchmarks/results/pad.json, crops from the BlazeFace + mesh geometry)
         */
        threshold: z.number().min(0).max(1).default(0.81),
      })
      .strict()
      .prefault({}),
    mad: z
      .object({
        /** morphing-attack detection on enrolment (S-MAD) and, with a reference_image, D-MAD; needs the bundle's `mad` model */
        enabled: z.boolean().default(true),
        /**
         * S-MAD morph probability at or above which enrol is refused with 451 morphing_attack_detected.
         * 0.8446 (from `npm run train:mad`) refuses 1.3 % of the 150 fixture faces as they are and 3.1 % of
         * all bona fide fixture photos incl. their digital and print-scan copies, and lets through 28 % of the
         * held-out digital morphs, 41 % of the print-scan ones (benchmarks/results/mad.json, `serving`)
         */
        singleImageThreshold: z.number().min(0).max(1).default(0.8446),
        /**
         * D-MAD morph probability at or above which a photo is taken for a morph of the reference person
         * (about: template cosine below 0.80). 0.3466 (from `npm run train:mad`, on the training identities'
         * studio pairs alone) refuses 4.9 % of those, none of the 32 held-out ones and 2.9 % of all 240 studio
         * pairs; lets through 3.8 % / 2.5 % / 3.8 % of held-out digital / print-scan / whole-image morph pairs
         * (benchmarks/results/mad.json, `serving`). Only judges captures that meet `differentialCapture`
         */
        differentialThreshold: z.number().min(0).max(1).default(0.3466),
        /**
         * The live capture D-MAD judges against (enrol's reference_image, a claim's live capture) must be
         * like the captures its threshold was set on; a pair whose capture is not is reported not_applicable,
         * not judged. Measured by the quality gate (its face_size and pose components must be on).
         */
        differentialCapture: z
          .object({
            /**
             * pixels between the eye centres of the live capture: 85, what a claim's trusted photo must have
             * (claims.minInterEyePx). At 60, two of the 150-pixel grey bbt fixture crops (60–62 px) were judged
             * and all 24 of their genuine pairs refused; the studio captures D-MAD was set on have 172–253 px
             */
            minInterEyePx: z.number().min(0).default(85),
            /** the larger of |yaw| and |pitch| of the live capture, degrees */
            maxPoseDegrees: z.number().min(0).max(90).default(20),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    quality: qualitySchema,
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type QualityConfig = PipelineConfig['quality'];
export type QualityComponentsConfig = QualityConfig['components'];
export type DetectionConfig = PipelineConfig['detection'];
