import Database from 'better-sqlite3';

// Append-only by trigger: the server and tools can only add rows. (Anyone who can write the file
// can still drop the table; the triggers stop mistakes and code paths, not an attacker on the host.)
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    request_id TEXT NOT NULL,
    key_id TEXT,
    operation TEXT NOT NULL,
    partition TEXT,
    subject_id TEXT,
    status INTEGER NOT NULL,
    code TEXT NOT NULL,
    score REAL,
    quality REAL,
    threshold REAL,
    decision TEXT,
    matched_subject_id TEXT,
    claim_token_id TEXT
  );
  CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (at);
  CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`;

/** One biometric operation. Never the image or the template: ids, outcome and numbers only. */
export interface AuditEvent {
  /** ISO 8601, UTC */
  at: string;
  request_id: string;
  key_id: string | null;
  operation: string;
  partition: string | null;
  subject_id: string | null;
  status: number;
  /** "ok" or the error code */
  code: string;
  score: number | null;
  quality: number | null;
  /** the threshold the decision was made with, after the partition's minimum (search, verify, duplicate check) */
  threshold: number | null;
  /** enrolled, duplicate_reported, hit, no_hit, match, no_match, deleted, compliant, non_compliant, cropped; null when refused (see code) */
  decision: string | null;
  /** the existing subject an enrolment matched in the duplicate-identity check */
  matched_subject_id: string | null;
  /** claim steps: the public id of the token used (as the subject record lists it), refusals included once the token was found */
  claim_token_id: string | null;
}

/**
 * Where the audit log lives: audit.sqlite in DATA_DIR (synchronous), or PostgreSQL shared by every API
 * node (DATABASE_URL, promises). Either way an append has been made durable when it returns or resolves.
 */
export interface AuditStore {
  append(event: AuditEvent): void | Promise<void>;
  /**
   * The latest `limit` events that `visible` lets through, newest first. Reads back at most `scan` rows,
   * so a key scoped to a quiet partition cannot make one request walk the whole log.
   */
  recent(limit: number, visible: (event: AuditEvent) => boolean, scan?: number): AuditEvent[] | Promise<AuditEvent[]>;
  decisionCounts(keyId: string | null, operation: string): Record<string, number> | Promise<Record<string, number>>;
}

/** How many rows `recent` reads back at most, by default. */
export const AUDIT_RECENT_SCAN = 10_000;

/** Columns added after the first release: an older audit.sqlite gets them (NULL in its old rows) at open. */
const ADDED_COLUMNS: ReadonlyArray<[string, string]> = [
  ['threshold', 'REAL'],
  ['decision', 'TEXT'],
  ['matched_subject_id', 'TEXT'],
  ['claim_token_id', 'TEXT'],
];

/** SQLite page cache of the audit connection. */
export const AUDIT_PAGE_CACHE_KIB = 2048;

/** `<dataDir>/audit.sqlite`, apart from the gallery: exported and retained on its own schedule. */
export class AuditLog implements AuditStore {
  private readonly db: Database.Database;
  private readonly insert;
  private readonly range;
  private readonly newest;
  private readonly decisions;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // An operation that returned is on record even after a power loss.
    this.db.pragma('synchronous = FULL');
    // Appends touch only the last pages. better-sqlite3's default page cache is 16 MiB per connection,
    // which a busy server's log fills over hours with rows it never reads again (benchmarks/soak.ts).
    this.db.pragma(`cache_size = -${AUDIT_PAGE_CACHE_KIB}`);
    this.db.exec(SCHEMA);
    const present = new Set(this.db.prepare<[], { name: string }>('SELECT name FROM pragma_table_info(\'audit_events\')').all().map((c) => c.name));
    for (const [name, type] of ADDED_COLUMNS) if (!present.has(name)) this.db.exec(`ALTER TABLE audit_events ADD COLUMN ${name} ${type}`);
    this.insert = this.db.prepare<[AuditEvent]>(`
      INSERT INTO audit_events (at, request_id, key_id, operation, partition, subject_id, status, code, score, quality, threshold, decision, matched_subject_id, claim_token_id)
      VALUES (@at, @request_id, @key_id, @operation, @partition, @subject_id, @status, @code, @score, @quality, @threshold, @decision, @matched_subject_id, @claim_token_id)`);
    this.range = this.db.prepare<[string, string], AuditEvent>(`
      SELECT at, request_id, key_id, operation, partition, subject_id, status, code, score, quality, threshold, decision, matched_subject_id, claim_token_id
      FROM audit_events WHERE at >= ? AND at < ? ORDER BY seq`);
    this.newest = this.db.prepare<[], AuditEvent>(`
      SELECT at, request_id, key_id, operation, partition, subject_id, status, code, score, quality, threshold, decision, matched_subject_id, claim_token_id
      FROM audit_events ORDER BY seq DESC`);
    this.decisions = this.db.prepare<[string | null, string], { decision: string; count: number }>(`
      SELECT decision, COUNT(*) AS count FROM audit_events
      WHERE key_id IS ? AND operation = ? AND code = 'ok' AND decision IS NOT NULL GROUP BY decision`);
  }

  append(event: AuditEvent): void {
    this.insert.run(event);
  }

  /** Events with `from <= at < to` (ISO 8601 strings compare in time order), oldest first. */
  between(from: string, to: string): IterableIterator<AuditEvent> {
    return this.range.iterate(from, to);
  }

  recent(limit: number, visible: (event: AuditEvent) => boolean, scan = AUDIT_RECENT_SCAN): AuditEvent[] {
    const events: AuditEvent[] = [];
    let read = 0;
    for (const event of this.newest.iterate()) {
      if (visible(event)) events.push(event);
      if (events.length >= limit || ++read >= scan) break;
    }
    return events;
  }

  decisionCounts(keyId: string | null, operation: string): Record<string, number> {
    return Object.fromEntries(this.decisions.all(keyId, operation).map((row) => [row.decision, row.count]));
  }

  close(): void {
    this.db.close();
  }
}
