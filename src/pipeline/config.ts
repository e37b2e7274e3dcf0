import { z } from 'zod';

// Everything that tunes the biometric pipeline, validated once at start.
export const pipelineConfigSchema = z
  .object({
    /** worker threads that run inference; each holds its own ONNX sessions */
    workers: z.number().int().min(1).max(64).default(2),
    /** ONNX Runtime intra-op threads per worker */
    intraOpThreads: z.number().int().min(1).max(64).default(1),
    maxImagePixels: z.number().int().min(1).default(40_000_000),
    detection: z
      .object({
        confidence: z.number().min(0).max(1).default(0.7),
        nmsIou: z.number().min(0).max(1).default(0.4),
      })
      .strict()
      .default({ confidence: 0.7, nmsIou: 0.4 }),
    pad: z
      .object({
        enabled: z.boolean().default(true),
        /** spoof probability at or above which a request is refused with 451 */
        threshold: z.number().min(0).max(1).default(0.9),
      })
      .strict()
      .default({ enabled: true, threshold: 0.9 }),
    quality: z
      .object({
        /** overall quality below which enrol is refused with 422 */
        enrolMinimum: z.number().min(0).max(1).default(0.3),
        /** overall quality below which search / verify probes are refused with 422 */
        probeMinimum: z.number().min(0).max(1).default(0.2),
      })
      .strict()
      .default({ enrolMinimum: 0.3, probeMinimum: 0.2 }),
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
