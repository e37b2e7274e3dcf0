import { z } from 'zod';
import { PARTITION_NAME_PATTERN } from '../gallery.ts';
import type { IvfSettings } from '../ivf-index.ts';

export const searchConfigSchema = z
  .object({
    /** search worker threads; each holds one shard of every partition, so one per core scans a partition on all cores */
    workers: z.number().int().min(1).max(64).default(2),
    /** a partition of at least this many templates is searched approximately (inverted lists); a smaller one exactly */
    approximateAbove: z.number().int().min(1).default(1_000_000),
    /** partitions searched exactly whatever their size */
    exactPartitions: z.array(z.string().regex(PARTITION_NAME_PATTERN)).default([]),
    /** inverted lists per shard; unset: the square root of the shard's templates */
    listsPerShard: z.number().int().min(2).optional(),
    /** share of a shard's lists an approximate search scans (bench:search-mate measures mate recall against it) */
    probeFraction: z.number().gt(0).max(1).default(0.5),
  })
  .strict();

export type SearchConfig = z.infer<typeof searchConfigSchema>;

/** How a partition of `templates` is indexed under `config`: exact (undefined) or the inverted lists per shard. */
export function indexSettings(config: SearchConfig, partition: string, templates: number): IvfSettings | undefined {
  if (templates < config.approximateAbove || config.exactPartitions.includes(partition)) return undefined;
  const lists = config.listsPerShard ?? Math.max(2, Math.round(Math.sqrt(templates / config.workers)));
  return { lists, probes: probesFor(lists, config.probeFraction) };
}

/** Lists scanned per search in a shard of `lists` lists. */
export function probesFor(lists: number, probeFraction: number): number {
  return Math.max(1, Math.ceil(lists * probeFraction));
}
