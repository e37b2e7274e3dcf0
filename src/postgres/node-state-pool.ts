import pg from 'pg';
import { unavailableAsApiError } from '../gallery/postgres/postgres-gallery.ts';
import type { Logger } from '../logger.ts';

/**
 * One pool on the primary for the state every API node shares besides the gallery (API keys, the
 * audit log). Always the primary: a standby that lags would accept a key already revoked.
 */
export function openNodeStatePool(url: string, poolSize: number, logger: Pick<Logger, 'warn'>): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle connection the server drops (restart, fail-over) is reported here; without a listener the
  // pool's error event would end the process. The next query opens a new connection.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'PostgreSQL connection lost (keys and audit)'));
  return pool;
}

/** A query whose lost connection is the API's 503 service_unavailable, not a 500. */
export async function queryOrUnavailable<R extends pg.QueryResultRow = pg.QueryResultRow>(pool: pg.Pool, text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(text, params);
  } catch (error) {
    throw unavailableAsApiError(error);
  }
}

/**
 * Runs `schema` (CREATE … IF NOT EXISTS statements) in one transaction under an advisory lock: two
 * nodes starting together would otherwise race on the catalog and one of them would fail.
 */
export async function createSchemaOnce(pool: pg.Pool, lock: string, schema: string): Promise<void> {
  const client = await pool.connect().catch((error: unknown) => {
    throw unavailableAsApiError(error);
  });
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock]);
    await client.query(schema);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw unavailableAsApiError(error);
  } finally {
    client.release();
  }
}

/** Timestamps as the embedded stores write them: ISO 8601 in UTC with milliseconds. */
export const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
