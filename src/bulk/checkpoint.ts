import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface CheckpointEntry {
  /** what was processed: a file path relative to the enrolled folder, or a record number of an import */
  item: string;
  /** "ok", or the refusal's error code */
  outcome: string;
}

/**
 * Items already processed, as JSON lines appended one per item as it finishes,
 * so an interrupted run loses at most the item in flight. A line cut short by a crash is ignored.
 */
export class Checkpoint {
  private readonly entries = new Map<string, string>();

  constructor(readonly path: string) {
    if (!existsSync(path)) return;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as CheckpointEntry;
        if (typeof entry.item === 'string' && typeof entry.outcome === 'string') this.entries.set(entry.item, entry.outcome);
      } catch {
        // the last line of a run killed mid-write: that item is simply processed again
      }
    }
  }

  has(item: string): boolean {
    return this.entries.has(item);
  }

  get size(): number {
    return this.entries.size;
  }

  record(item: string, outcome: string): void {
    this.entries.set(item, outcome);
    appendFileSync(this.path, `${JSON.stringify({ item, outcome } satisfies CheckpointEntry)}\n`);
  }

  /** Outcomes of every item recorded, this run's and earlier runs'. */
  outcomes(): Iterable<string> {
    return this.entries.values();
  }
}

/** How many items ended with each refusal code ("ok" left out), most frequent first. */
export function refusalSummary(outcomes: Iterable<string>): Array<[code: string, count: number]> {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) if (outcome !== 'ok') counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
