import { z } from 'zod';

// Passport / ID photos (/api/v1/tools/passport-photo/*, /v2/*).
export const photoConfigSchema = z
  .object({
    /**
     * worker threads making photos; each loads the face models and the segmentation network once. One by
     * default, apart from the pipeline's, so a burst of 12-megapixel passport jobs never delays a face search.
     */
    workers: z.number().int().min(1).max(16).default(1),
    /** jobs allowed to wait for the photo worker; one more is refused with 503 at once */
    maxQueue: z.number().int().min(0).default(8),
    /** seconds a job's files (upload, mask, photos, sheets) are kept (in <dataDir>/photo-jobs, or PostgreSQL with DATABASE_URL) before deletion */
    jobTtlSeconds: z.number().int().min(1).default(3600),
    /** largest JSON body of /v2/ (base64 image): a 12-megapixel photo is 5–8 MB of base64 */
    maxJsonBytes: z.number().int().min(1024).default(24 * 1024 * 1024),
    /**
     * generate and make* re-measure their output, and analyze runs the segmentation network (about 10 s
     * on 2 busy cores), so photo requests get their own, longer time limit
     */
    requestTimeoutMs: z.number().int().min(1000).default(120_000),
  })
  .strict();

export type PhotoConfig = z.infer<typeof photoConfigSchema>;
