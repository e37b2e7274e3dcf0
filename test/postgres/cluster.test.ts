// The PostgreSQL the tests run: a primary and a hot standby of their own, pgvector's HNSW index on the
// primary, and the standby answering the same nearest-neighbour query once it has replayed the primary's WAL.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresInstalled, startPrimary, startStandby, type PostgresServer } from '../helpers/postgres-cluster.ts';

const DIMENSION = 512;
const literal = (vector: number[]) => `[${vector.join(',')}]`;
function unitVector(seed: number): number[] {
  const values = Array.from({ length: DIMENSION }, (_, i) => Math.sin(seed * 7.31 + i * 1.37));
  const norm = Math.hypot(...values);
  return values.map((v) => v / norm);
}

describe.skipIf(!postgresInstalled())('PostgreSQL primary + hot standby with pgvector', () => {
  let primary: PostgresServer;
  let standby: PostgresServer;
  let writer: pg.Client;

  beforeAll(async () => {
    primary = await startPrimary();
    writer = new pg.Client({ connectionString: primary.url() });
    await writer.connect();
  }, 60_000);

  afterAll(async () => {
    await writer?.end();
    standby?.destroy();
    primary?.destroy();
  });

  it('finds the nearest template through an HNSW index on the primary and on the standby after catch-up', async () => {
    await writer.query('CREATE EXTENSION vector');
    await writer.query(`CREATE TABLE templates (id bigint PRIMARY KEY, embedding vector(${DIMENSION}) NOT NULL)`);
    await writer.query('ALTER TABLE templates ALTER COLUMN embedding SET STORAGE PLAIN');
    for (let id = 1; id <= 300; id++) await writer.query('INSERT INTO templates VALUES ($1, $2)', [id, literal(unitVector(id))]);
    await writer.query('CREATE INDEX templates_embedding_hnsw ON templates USING hnsw (embedding vector_ip_ops)');

    const nearest = 'SELECT id FROM templates ORDER BY embedding <#> $1 LIMIT 1';
    const probe = literal(unitVector(123));
    await writer.query('SET enable_seqscan = off');
    const plan = await writer.query(`EXPLAIN ${nearest.replace('$1', `'${probe}'`)}`);
    expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('Index Scan using templates_embedding_hnsw');
    expect((await writer.query(nearest, [probe])).rows[0].id).toBe('123');

    standby = await startStandby(primary);
    const reader = new pg.Client({ connectionString: standby.url() });
    await reader.connect();
    try {
      const { rows } = await writer.query('SELECT pg_current_wal_lsn() AS lsn');
      for (let tries = 0; tries < 100; tries++) {
        const replayed = await reader.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught_up', [rows[0].lsn]);
        if (replayed.rows[0].caught_up) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await reader.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby).toBe(true);
      expect((await reader.query(nearest, [probe])).rows[0].id).toBe('123');
      await expect(reader.query('INSERT INTO templates VALUES (999, $1)', [probe])).rejects.toThrow(/read-only/);
    } finally {
      await reader.end();
    }
  }, 120_000);
});
