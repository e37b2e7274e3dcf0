import type { SubjectMatch } from '../gallery.ts';
import type { IvfSettings } from '../ivf-index.ts';

// Messages between SearchWorkers and its worker threads. Each worker owns one shard of every partition
// and handles its messages one at a time in the order sent, so a search sent after an add sees that add.

/** Templates packed for postMessage: the numeric buffers are transferred, not copied. */
export interface PackedTemplates {
  templateIds: Float64Array;
  subjectIds: string[];
  sources: string[];
  /** templateIds.length × dimension */
  vectors: Float32Array;
}

/** Where a worker saves or loads its shard of a partition, and the AES-GCM context it is sealed under. */
export interface ShardFile {
  path: string;
  context: string;
}

export type SearchRequest =
  /** replaces the shard: exact without settings, else trained into inverted lists */
  | { id: number; type: 'build'; partition: string; templates: PackedTemplates; settings?: IvfSettings }
  /** trains inverted lists over what the shard holds now (the partition outgrew exact search) */
  | { id: number; type: 'retrain'; partition: string; settings: IvfSettings }
  | { id: number; type: 'add'; partition: string; templates: PackedTemplates }
  | { id: number; type: 'remove'; partition: string; templateIds: number[] }
  /** `probeFraction`: share of the shard's lists to scan (the server's setting, not the one the index was built with) */
  | { id: number; type: 'search'; partition: string; probe: Float32Array; topK: number; probeFraction: number; sources?: string[] }
  | { id: number; type: 'save'; partition: string; file: ShardFile }
  | { id: number; type: 'load'; partition: string; file: ShardFile }
  | { id: number; type: 'drop'; partition: string };

export interface ShardStats {
  size: number;
  lists: number;
  exact: boolean;
}

export type SearchReply =
  | { id: number; type: 'done'; stats: ShardStats }
  | { id: number; type: 'matches'; matches: SubjectMatch[] }
  /** after a load: the template ids the shard holds, for the caller to check against SQLite */
  | { id: number; type: 'loaded'; stats: ShardStats; templateIds: Float64Array }
  | { id: number; type: 'saved'; stats: ShardStats; bytes: number }
  | { id: number; type: 'error'; message: string };

export interface SearchWorkerData {
  dimension: number;
  /** the template key, base64: each worker seals and opens its own shard files */
  templateKey: string;
}
