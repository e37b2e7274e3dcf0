import pg from 'pg';
import { ApiError } from '../errors.ts';
import type { Logger } from '../logger.ts';

// SQLSTATE class 08 (connection exception) and 57P01-03 (shutdown, crash, not yet accepting), and the
// socket errors of a server that is gone: the database is unavailable, not the request wrong.
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3])/;
const UNAVAILABLE_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

/** A lost database as the API's 503 service_unavailable; any other error as it is. */
export function unavailableAsApiError(error: unknown): unknown {
  const code = String((error as { code?: unknown }).code ?? '');
  const lost = UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET.has(code) || /Connection terminated/.test(String((error as Error)?.message));
  return lost ? new ApiError('service_unavailable', 'the gallery database is unavailable; retry later') : error;
}

/**
 * A pool whose lost connections are logged, never an uncaught error that ends the process: an idle
 * connection the server drops (a restart, a fail-over) is reported on the pool, and one lost while checked
 * out (a request in flight) on the client itself, and again when its socket closes; the request's query
 * already fails with it (503). The next query opens a new connection.
 */
export function openPool(url: string, poolSize: number, logger: Pick<Logger, 'warn'>, role: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const lost = (error: Error) => logger.warn({ role, err: error.message }, 'PostgreSQL connection lost');
  pool.on('error', lost);
  pool.on('connect', (client) => client.on('error', lost));
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

/** A client of the pool; a database that cannot be reached is 503 service_unavailable. */
export async function connectOrUnavailable(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw unavailableAsApiError(error);
  }
}

/** `work` in one transaction, committed before the promise resolves and rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await connectOrUnavailable(pool);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw unavailableAsApiError(error);
  } finally {
    client.release();
  }
}

/**
 * Runs `schema` (CREATE … IF NOT EXISTS statements) in one transaction under an advisory lock: two
 * nodes starting together would otherwise race on the catalog and one of them would fail.
 */
export async function createSchemaOnce(pool: pg.Pool, lock: string, schema: string): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock]);
    await client.query(schema);
  });
}

/** Timestamps as the embedded stores write them: ISO 8601 in UTC with milliseconds. */
export const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
