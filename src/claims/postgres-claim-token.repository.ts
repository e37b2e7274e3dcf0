import type pg from 'pg';
import { createSchemaOnce, queryOrUnavailable } from '../postgres/pool.ts';
import { toToken, type ClaimOutcome, type ClaimToken, type ClaimTokenRow, type ClaimTokenStore, type NewClaimToken } from './claim-token.repository.ts';

// The columns of claims.sqlite: times in milliseconds since the epoch (bigint), passed a boolean.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS claim_tokens (
    id bigserial PRIMARY KEY,
    token_id text NOT NULL UNIQUE,
    secret_sha256 bytea NOT NULL UNIQUE,
    purpose text NOT NULL CHECK (purpose IN ('enrol', 'verify')),
    user_id text NOT NULL,
    partition text NOT NULL,
    source text,
    key_id text,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    tries_used integer NOT NULL DEFAULT 0,
    max_tries integer NOT NULL,
    outcome_at bigint,
    passed boolean,
    score double precision,
    threshold double precision,
    failure_reason text,
    outcome_source text,
    quality double precision,
    issues text,
    mad text,
    validated_at bigint
  );
  CREATE INDEX IF NOT EXISTS claim_tokens_by_user ON claim_tokens (partition, user_id);
`;

// bigint arrives as a string from pg; milliseconds since the epoch are exact in a double
const COLUMNS = `token_id, purpose, user_id, partition, source, key_id, created_at::float8 AS created_at, expires_at::float8 AS expires_at, tries_used, max_tries,
  outcome_at::float8 AS outcome_at, passed::int AS passed, score, threshold, failure_reason, outcome_source, quality, issues, mad, validated_at::float8 AS validated_at`;

/**
 * Claim tokens in PostgreSQL, shared by every API node (DATABASE_URL): a token issued on one node is used
 * and validated on any. Each change is a single UPDATE whose WHERE holds the rule (a try left, not yet
 * validated, an outcome present): under READ COMMITTED a concurrent UPDATE of the same row waits for
 * the other to commit and re-checks its WHERE on the new row, so two nodes cannot both take the last
 * try or both validate. Each statement commits before it resolves, as claims.sqlite's do.
 */
export class PostgresClaimTokenRepository implements ClaimTokenStore<'async'> {
  private constructor(private readonly pool: pg.Pool) {}

  /** Creates the table when it is missing; several nodes may start at once. The pool stays the caller's. */
  static async open(pool: pg.Pool): Promise<PostgresClaimTokenRepository> {
    await createSchemaOnce(pool, 'faceserver-claim-tokens-schema', SCHEMA);
    return new PostgresClaimTokenRepository(pool);
  }

  async insert(token: NewClaimToken): Promise<void> {
    await this.query(
      `INSERT INTO claim_tokens (token_id, secret_sha256, purpose, user_id, partition, source, key_id, created_at, expires_at, max_tries)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [token.tokenId, token.secretSha256, token.purpose, token.userId, token.partition, token.source, token.keyId, token.createdAt, token.expiresAt, token.maxTries],
    );
  }

  async findBySecretHash(secretSha256: Buffer): Promise<ClaimToken | undefined> {
    const row = (await this.query<ClaimTokenRow>(`SELECT ${COLUMNS} FROM claim_tokens WHERE secret_sha256 = $1`, [secretSha256])).rows[0];
    return row && toToken(row);
  }

  async find(tokenId: string): Promise<ClaimToken | undefined> {
    const row = (await this.query<ClaimTokenRow>(`SELECT ${COLUMNS} FROM claim_tokens WHERE token_id = $1`, [tokenId])).rows[0];
    return row && toToken(row);
  }

  async forUser(partition: string, userId: string): Promise<ClaimToken[]> {
    return (await this.query<ClaimTokenRow>(`SELECT ${COLUMNS} FROM claim_tokens WHERE partition = $1 AND user_id = $2 ORDER BY id`, [partition, userId])).rows.map(toToken);
  }

  async useTry(tokenId: string): Promise<boolean> {
    const { rowCount } = await this.query(
      `UPDATE claim_tokens SET tries_used = tries_used + 1
       WHERE token_id = $1 AND tries_used < max_tries AND validated_at IS NULL AND passed IS NOT TRUE`,
      [tokenId],
    );
    return rowCount === 1;
  }

  async returnTry(tokenId: string): Promise<void> {
    await this.query('UPDATE claim_tokens SET tries_used = tries_used - 1 WHERE token_id = $1 AND tries_used > 0', [tokenId]);
  }

  async recordOutcome(tokenId: string, outcome: ClaimOutcome, at: number): Promise<boolean> {
    const { rowCount } = await this.query(
      `UPDATE claim_tokens SET outcome_at = $2, passed = $3, score = $4, threshold = $5, failure_reason = $6, outcome_source = $7, quality = $8, issues = $9, mad = $10
       WHERE token_id = $1 AND validated_at IS NULL`,
      [tokenId, at, outcome.passed, outcome.score ?? null, outcome.threshold ?? null, outcome.failureReason ?? null, outcome.source ?? null, outcome.quality ?? null, outcome.issues ?? null, outcome.mad ?? null],
    );
    return rowCount === 1;
  }

  async markValidated(tokenId: string, at: number): Promise<boolean> {
    const { rowCount } = await this.query('UPDATE claim_tokens SET validated_at = $2 WHERE token_id = $1 AND validated_at IS NULL AND outcome_at IS NOT NULL', [tokenId, at]);
    return rowCount === 1;
  }

  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return queryOrUnavailable<R>(this.pool, text, params);
  }
}
