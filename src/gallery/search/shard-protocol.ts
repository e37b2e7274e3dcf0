import type { SubjectMatch } from '../gallery.ts';
import type { IvfSettings } from '../ivf-index.ts';

// Messages between ShardedIndex and the worker threads that each own one shard. A worker handles its
// messages one at a time in the order sent, so a search sent after an add sees that add.

/** Templates packed for postMessage: the vectors' buffer is transferred, not copied. */
export interface PackedTemplates {
  templateIds: Float64Array;
  subjectIds: string[];
  /** templateIds.length × dimension */
  vectors: Float32Array;
}

export type ShardRequest =
  | { id: number; type: 'build'; templates: PackedTemplates; settings: IvfSettings }
  | { id: number; type: 'add'; templates: PackedTemplates }
  | { id: number; type: 'remove'; templateIds: number[] }
  | { id: number; type: 'search'; probe: Float32Array; topK: number; probes?: number };

export interface ShardStats {
  size: number;
  lists: number;
}

export type ShardReply =
  | { id: number; type: 'done'; stats: ShardStats }
  | { id: number; type: 'matches'; matches: SubjectMatch[] }
  | { id: number; type: 'error'; message: string };

export interface ShardWorkerData {
  dimension: number;
}
