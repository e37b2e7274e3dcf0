import { z } from 'zod';
import { PARTITION_NAME_PATTERN } from '../gallery/gallery.ts';

// What an operator decides per partition: how low a caller may set the match threshold, what an
// enrolment photo with several faces means, and whether one person may hold two identities.
// `policy.defaults` applies everywhere; `policy.partitions.<name>` overrides single fields.

const duplicatesSchema = z
  .object({
    /** off: no check; refuse: 409 duplicate_identity; report: enrol and name the existing subject */
    mode: z.enum(['off', 'refuse', 'report']).default('off'),
    /** score at or above which another subject counts as the same person (0.55 ≈ FMR 1e-4 on the fixtures) */
    threshold: z.number().min(0).max(1).default(0.55),
  })
  .strict();

const policyFields = {
  /**
   * the lowest `threshold` a search or verify may use: a lower requested one is raised to it. The default
   * 0.45 is the calibrated FMR 1e-3 point (the score map puts it there for every model bundle).
   */
  minThreshold: z.number().min(0).max(1),
  /** refuse: 422 multiple_faces when a second face is large; largest: enrol the largest face */
  multipleFaces: z.enum(['refuse', 'largest']),
  /** a second face whose size (square root of its box area) is at least this fraction of the subject's is "large" */
  secondFaceRatio: z.number().gt(0).max(1),
  duplicates: duplicatesSchema,
};

const defaultsSchema = z
  .object({
    minThreshold: policyFields.minThreshold.default(0.45),
    multipleFaces: policyFields.multipleFaces.default('refuse'),
    secondFaceRatio: policyFields.secondFaceRatio.default(0.5),
    duplicates: duplicatesSchema.prefault({}),
  })
  .strict();

const overrideSchema = z
  .object({
    minThreshold: policyFields.minThreshold.optional(),
    multipleFaces: policyFields.multipleFaces.optional(),
    secondFaceRatio: policyFields.secondFaceRatio.optional(),
    duplicates: duplicatesSchema.partial().optional(),
  })
  .strict();

export const policyConfigSchema = z
  .object({
    defaults: defaultsSchema.prefault({}),
    partitions: z
      .record(z.string().regex(PARTITION_NAME_PATTERN, 'policy.partitions keys must be partition names'), overrideSchema)
      .default({}),
  })
  .strict();

export type PolicyConfig = z.infer<typeof policyConfigSchema>;
export type PartitionPolicy = z.infer<typeof defaultsSchema>;

/** Resolves each partition's policy once; partitions without overrides share the defaults. */
export class PartitionPolicies {
  private readonly resolved = new Map<string, PartitionPolicy>();

  constructor(private readonly config: PolicyConfig) {
    // parsed JSON holds no undefined values: a field an override leaves out is absent, so spreads merge
    for (const [partition, override] of Object.entries(config.partitions)) {
      this.resolved.set(partition, { ...config.defaults, ...override, duplicates: { ...config.defaults.duplicates, ...override.duplicates } });
    }
  }

  for(partition: string): PartitionPolicy {
    return this.resolved.get(partition) ?? this.config.defaults;
  }

  /** the threshold a request runs with: the requested one, raised to the partition's minimum */
  effectiveThreshold(partition: string, requested: number): number {
    return Math.max(requested, this.for(partition).minThreshold);
  }
}
