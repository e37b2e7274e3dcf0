import type pg from 'pg';
import { createSchemaOnce, isoText, queryOrUnavailable } from '../postgres/pool.ts';
import type { ApiKeyStore, NewApiKey, StoredApiKey } from './api-key.repository.ts';

// The columns of keys.sqlite. Timestamps are timestamptz, read back in the embedded store's ISO form.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS api_keys (
    id text PRIMARY KEY,
    name text NOT NULL,
    secret_sha256 bytea NOT NULL,
    operations text NOT NULL,
    partitions text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at timestamptz
  );
`;

const COLUMNS = `id, name, secret_sha256 AS "secretSha256", operations, partitions, ${isoText('created_at')} AS "createdAt", ${isoText('revoked_at')} AS "revokedAt"`;

/**
 * API keys in PostgreSQL, shared by every API node over one database (DATABASE_URL): a key made with
 * `npm run keys` works on all of them, and one revoked is refused by all of them on their next request.
 */
export class PostgresApiKeyRepository implements ApiKeyStore<'async'> {
  private constructor(private readonly pool: pg.Pool) {}

  /** Creates the table when it is missing; several nodes may start at once. The pool stays the caller's. */
  static async open(pool: pg.Pool): Promise<PostgresApiKeyRepository> {
    const repository = new PostgresApiKeyRepository(pool);
    await createSchemaOnce(pool, 'faceserver-api-keys-schema', SCHEMA);
    return repository;
  }

  async insert(key: NewApiKey): Promise<void> {
    await this.query('INSERT INTO api_keys (id, name, secret_sha256, operations, partitions) VALUES ($1, $2, $3, $4, $5)', [
      key.id,
      key.name,
      key.secretSha256,
      key.operations,
      key.partitions,
    ]);
  }

  async find(id: string): Promise<StoredApiKey | undefined> {
    return (await this.query<StoredApiKey>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id])).rows[0];
  }

  async list(): Promise<StoredApiKey[]> {
    return (await this.query<StoredApiKey>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`)).rows;
  }

  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await this.query('UPDATE api_keys SET revoked_at = clock_timestamp() WHERE id = $1 AND revoked_at IS NULL', [id]);
    return rowCount === 1;
  }

  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return queryOrUnavailable<R>(this.pool, text, params);
  }
}
