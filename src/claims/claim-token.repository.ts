import Database from 'better-sqlite3';
import type { ClaimSource } from '../gallery/gallery.ts';
import type { Answer, StoreMode } from '../store-mode.ts';

export type ClaimPurpose = 'enrol' | 'verify';

/** What an image post decided: an enrolment made, or a live capture compared with the trusted photo. */
export interface ClaimOutcome {
  passed: boolean;
  /** verify: calibrated 1:1 score against the best trusted template; absent when no face was compared */
  score?: number;
  threshold?: number;
  /** why it did not pass: no_match, or the error code of the image that was refused */
  failureReason?: string;
  /** enrol: the source enrolled; verify: the source of the best-matching trusted template */
  source?: string;
  quality?: number;
  /** enrol: compliance issues the photo was accepted with (minor ones), comma-separated codes */
  issues?: string;
  /** enrol: the photo's S-MAD status; verify: differential MAD of the trusted templates against the live capture */
  mad?: string;
}

export interface ClaimToken {
  /** public reference of the token (a prefix of its hash): what operators, logs and answers name */
  tokenId: string;
  purpose: ClaimPurpose;
  userId: string;
  partition: string;
  /** enrol tokens: the kind of trusted photo the image must be */
  source: ClaimSource | null;
  /** the API key that asked for the token; null on a server without keys */
  keyId: string | null;
  createdAt: number;
  expiresAt: number;
  triesUsed: number;
  maxTries: number;
  outcome: (ClaimOutcome & { at: number }) | undefined;
  validatedAt: number | null;
}

/** A token as stored: the hash of its secret, never the secret. */
export interface NewClaimToken extends Omit<ClaimToken, 'triesUsed' | 'outcome' | 'validatedAt'> {
  secretSha256: Buffer;
}

/**
 * Where claim tokens live: claims.sqlite in DATA_DIR, or PostgreSQL shared by every API node
 * (DATABASE_URL). Each change is one atomic statement, so the limits hold however many nodes race.
 */
export interface ClaimTokenStore<Mode extends StoreMode = StoreMode> {
  insert(token: NewClaimToken): Answer<Mode, void>;
  findBySecretHash(secretSha256: Buffer): Answer<Mode, ClaimToken | undefined>;
  find(tokenId: string): Answer<Mode, ClaimToken | undefined>;
  /** Every token issued for a user, oldest first: the claims part of the user's record. */
  forUser(partition: string, userId: string): Answer<Mode, ClaimToken[]>;
  /** Takes one try; false when none is left, the token was validated or an image already passed on it. */
  useTry(tokenId: string): Answer<Mode, boolean>;
  /** Gives a try back when the server, not the image, failed (busy, shutting down). */
  returnTry(tokenId: string): Answer<Mode, void>;
  /** Replaces the token's outcome (a later try may pass after one failed); false once validated. */
  recordOutcome(tokenId: string, outcome: ClaimOutcome, at: number): Answer<Mode, boolean>;
  /** Marks the token validated; false when it already was or has no outcome: validation happens once. */
  markValidated(tokenId: string, at: number): Answer<Mode, boolean>;
}

// One row per token, kept after use: the record of who was enrolled or verified from what, and how it went.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS claim_tokens (
    id INTEGER PRIMARY KEY,
    token_id TEXT NOT NULL UNIQUE,
    secret_sha256 BLOB NOT NULL UNIQUE,
    purpose TEXT NOT NULL CHECK (purpose IN ('enrol', 'verify')),
    user_id TEXT NOT NULL,
    partition TEXT NOT NULL,
    source TEXT,
    key_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    tries_used INTEGER NOT NULL DEFAULT 0,
    max_tries INTEGER NOT NULL,
    outcome_at INTEGER,
    passed INTEGER,
    score REAL,
    threshold REAL,
    failure_reason TEXT,
    outcome_source TEXT,
    quality REAL,
    issues TEXT,
    mad TEXT,
    validated_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS claim_tokens_by_user ON claim_tokens (partition, user_id);
`;

/** A token's columns as both stores read them back (times in milliseconds since the epoch, passed 0/1). */
export interface ClaimTokenRow {
  token_id: string;
  purpose: ClaimPurpose;
  user_id: string;
  partition: string;
  source: ClaimSource | null;
  key_id: string | null;
  created_at: number;
  expires_at: number;
  tries_used: number;
  max_tries: number;
  outcome_at: number | null;
  passed: number | null;
  score: number | null;
  threshold: number | null;
  failure_reason: string | null;
  outcome_source: string | null;
  quality: number | null;
  issues: string | null;
  mad: string | null;
  validated_at: number | null;
}

/** The outcome columns, leaving out those that are NULL. */
function outcomeOf(row: ClaimTokenRow, at: number): ClaimOutcome & { at: number } {
  const optional = {
    score: row.score,
    threshold: row.threshold,
    failureReason: row.failure_reason,
    source: row.outcome_source,
    quality: row.quality,
    issues: row.issues,
    mad: row.mad,
  };
  return { at, passed: row.passed === 1, ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== null)) };
}

export function toToken(row: ClaimTokenRow): ClaimToken {
  return {
    tokenId: row.token_id,
    purpose: row.purpose,
    userId: row.user_id,
    partition: row.partition,
    source: row.source,
    keyId: row.key_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    triesUsed: row.tries_used,
    maxTries: row.max_tries,
    outcome: row.outcome_at === null ? undefined : outcomeOf(row, row.outcome_at),
    validatedAt: row.validated_at,
  };
}

/**
 * `<dataDir>/claims.sqlite`: claim tokens and their outcomes. Every write commits with a synchronous
 * WAL before it returns, so an outcome the server acknowledged survives a kill or a power loss.
 */
export class ClaimTokenRepository implements ClaimTokenStore<'sync'> {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    const columns = 'token_id, purpose, user_id, partition, source, key_id, created_at, expires_at, tries_used, max_tries, outcome_at, passed, score, threshold, failure_reason, outcome_source, quality, issues, mad, validated_at';
    this.statements = {
      insert: this.db.prepare(`
        INSERT INTO claim_tokens (token_id, secret_sha256, purpose, user_id, partition, source, key_id, created_at, expires_at, max_tries)
        VALUES (@tokenId, @secretSha256, @purpose, @userId, @partition, @source, @keyId, @createdAt, @expiresAt, @maxTries)`),
      bySecret: this.db.prepare<[Buffer], ClaimTokenRow>(`SELECT ${columns} FROM claim_tokens WHERE secret_sha256 = ?`),
      byTokenId: this.db.prepare<[string], ClaimTokenRow>(`SELECT ${columns} FROM claim_tokens WHERE token_id = ?`),
      forUser: this.db.prepare<[string, string], ClaimTokenRow>(`SELECT ${columns} FROM claim_tokens WHERE partition = ? AND user_id = ? ORDER BY id`),
      // A try is taken only while one is left, the token is not validated and nothing has passed on it yet.
      useTry: this.db.prepare<[string], { tries_used: number }>(`
        UPDATE claim_tokens SET tries_used = tries_used + 1
        WHERE token_id = ? AND tries_used < max_tries AND validated_at IS NULL AND (passed IS NULL OR passed = 0)
        RETURNING tries_used`),
      returnTry: this.db.prepare<[string]>('UPDATE claim_tokens SET tries_used = tries_used - 1 WHERE token_id = ? AND tries_used > 0'),
      recordOutcome: this.db.prepare(`
        UPDATE claim_tokens SET outcome_at = @at, passed = @passed, score = @score, threshold = @threshold, failure_reason = @failureReason,
          outcome_source = @source, quality = @quality, issues = @issues, mad = @mad
        WHERE token_id = @tokenId AND validated_at IS NULL`),
      validate: this.db.prepare<[number, string]>('UPDATE claim_tokens SET validated_at = ? WHERE token_id = ? AND validated_at IS NULL AND outcome_at IS NOT NULL'),
    };
  }

  insert(token: NewClaimToken): void {
    this.statements.insert.run({ ...token });
  }

  findBySecretHash(secretSha256: Buffer): ClaimToken | undefined {
    const row = this.statements.bySecret.get(secretSha256);
    return row && toToken(row);
  }

  find(tokenId: string): ClaimToken | undefined {
    const row = this.statements.byTokenId.get(tokenId);
    return row && toToken(row);
  }

  forUser(partition: string, userId: string): ClaimToken[] {
    return this.statements.forUser.all(partition, userId).map(toToken);
  }

  useTry(tokenId: string): boolean {
    return this.statements.useTry.get(tokenId) !== undefined;
  }

  returnTry(tokenId: string): void {
    this.statements.returnTry.run(tokenId);
  }

  recordOutcome(tokenId: string, outcome: ClaimOutcome, at: number): boolean {
    const row = {
      tokenId,
      at,
      passed: outcome.passed ? 1 : 0,
      score: outcome.score ?? null,
      threshold: outcome.threshold ?? null,
      failureReason: outcome.failureReason ?? null,
      source: outcome.source ?? null,
      quality: outcome.quality ?? null,
      issues: outcome.issues ?? null,
      mad: outcome.mad ?? null,
    };
    return this.statements.recordOutcome.run(row).changes === 1;
  }

  markValidated(tokenId: string, at: number): boolean {
    return this.statements.validate.run(at, tokenId).changes === 1;
  }

  close(): void {
    this.db.close();
  }
}
