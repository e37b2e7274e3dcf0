import type pg from 'pg';
import { createSchemaOnce, isoText, queryOrUnavailable } from '../postgres/pool.ts';
import { AUDIT_RECENT_SCAN, type AuditEvent, type AuditStore } from './audit-log.ts';

// The columns of audit.sqlite (SQLite's REAL is a double). Append-only by triggers rather than by
// privileges alone: the nodes connect as the role that created the table, and an owner can always
// grant itself UPDATE or DELETE back, while a trigger refuses every role that does not drop or disable
// it first (a superuser or the owner can, deliberately: the trigger stops code paths and mistakes, not
// someone holding the database's keys). Giving the nodes a role with only INSERT and SELECT on this
// table adds the privilege barrier on top (README).
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_events (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    request_id text NOT NULL,
    key_id text,
    operation text NOT NULL,
    partition text,
    subject_id text,
    status integer NOT NULL,
    code text NOT NULL,
    score double precision,
    quality double precision,
    threshold double precision,
    decision text,
    matched_subject_id text,
    claim_token_id text
  );
  CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (at);
  CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege'; END $$;
  CREATE OR REPLACE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
  CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
`;

const COLUMNS = `${isoText('at')} AS at, request_id, key_id, operation, partition, subject_id, status, code, score, quality, threshold, decision, matched_subject_id, claim_token_id`;

/** rows read back per round trip by `between` and `recent` */
const PAGE_ROWS = 500;

/**
 * The audit log in PostgreSQL, written by every API node over one database: each node's
 * `GET /api/v1/audit` shows them all. An append is its own committed transaction (synchronous_commit
 * on, PostgreSQL's default: flushed to the primary's WAL) before the response that it records leaves.
 */
export class PostgresAuditLog implements AuditStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** Creates the table and its triggers when missing; several nodes may start at once. The pool stays the caller's. */
  static async open(pool: pg.Pool): Promise<PostgresAuditLog> {
    await createSchemaOnce(pool, 'faceserver-audit-schema', SCHEMA);
    return new PostgresAuditLog(pool);
  }

  async append(event: AuditEvent): Promise<void> {
    await queryOrUnavailable(
      this.pool,
      `INSERT INTO audit_events (at, request_id, key_id, operation, partition, subject_id, status, code, score, quality, threshold, decision, matched_subject_id, claim_token_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [event.at, event.request_id, event.key_id, event.operation, event.partition, event.subject_id, event.status, event.code, event.score, event.quality, event.threshold, event.decision, event.matched_subject_id, event.claim_token_id],
    );
  }

  /** Events with `from <= at < to` (ISO 8601 instants), oldest first, read in pages so a long log is never held at once. */
  async *between(from: string, to: string): AsyncGenerator<AuditEvent> {
    let after = '0';
    for (;;) {
      const { rows } = await queryOrUnavailable<AuditEvent & { seq: string }>(
        this.pool,
        `SELECT seq, ${COLUMNS} FROM audit_events WHERE at >= $1 AND at < $2 AND seq > $3 ORDER BY seq LIMIT ${PAGE_ROWS}`,
        [from, to, after],
      );
      for (const { seq, ...event } of rows) {
        after = seq;
        yield event;
      }
      if (rows.length < PAGE_ROWS) return;
    }
  }

  async recent(limit: number, visible: (event: AuditEvent) => boolean, scan = AUDIT_RECENT_SCAN): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let before: string | null = null;
    for (let read = 0; read < scan && events.length < limit; ) {
      const { rows }: pg.QueryResult<AuditEvent & { seq: string }> = await queryOrUnavailable(
        this.pool,
        `SELECT seq, ${COLUMNS} FROM audit_events WHERE $1::bigint IS NULL OR seq < $1 ORDER BY seq DESC LIMIT $2`,
        [before, Math.min(PAGE_ROWS, scan - read)],
      );
      for (const { seq, ...event } of rows) {
        before = seq;
        read++;
        if (visible(event)) events.push(event);
        if (events.length >= limit) break;
      }
      if (rows.length === 0) break;
    }
    return events;
  }

  async decisionCounts(keyId: string | null, operation: string): Promise<Record<string, number>> {
    const { rows } = await queryOrUnavailable<{ decision: string; count: string }>(
      this.pool,
      `SELECT decision, count(*) AS count FROM audit_events
       WHERE key_id IS NOT DISTINCT FROM $1 AND operation = $2 AND code = 'ok' AND decision IS NOT NULL GROUP BY decision`,
      [keyId, operation],
    );
    return Object.fromEntries(rows.map((row) => [row.decision, Number(row.count)]));
  }
}
