// API keys, the audit log and claim tokens in PostgreSQL (src/node-state.ts with DATABASE_URL): what several API nodes
// share. Two pools over one database stand for two nodes; the cluster is the test's own.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/audit-log.ts';
import { PostgresAuditLog } from '../../src/audit/postgres-audit-log.ts';
import type { NewClaimToken } from '../../src/claims/claim-token.repository.ts';
import { ApiError } from '../../src/errors.ts';
import { openNodeState, type NodeState } from '../../src/node-state.ts';
import { openPool } from '../../src/postgres/pool.ts';
import { AuthService } from '../../src/security/auth.service.ts';
import { PostgresApiKeyRepository } from '../../src/security/postgres-api-key.repository.ts';
import { postgresInstalled, startPrimary, type PostgresServer } from '../helpers/postgres-cluster.ts';

const silent = pino({ level: 'silent' });
let primary: PostgresServer;
let databases = 0;

async function newDatabase(): Promise<string> {
  const name = `state_${++databases}`;
  const admin = new pg.Client({ connectionString: primary.url() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return primary.url(name);
}

/** Two nodes' key and audit stores over one database, opened at once as two nodes starting together would. */
async function twoNodes(url: string): Promise<[NodeState, NodeState]> {
  const config = (dataDir: string) => ({ dataDir, database: { url, approximateAbove: 10_000, efSearch: 100, poolSize: 2 }, photo: { jobTtlSeconds: 3600 } });
  return Promise.all([openNodeState(config('/nonexistent/a'), silent), openNodeState(config('/nonexistent/b'), silent)]);
}

const event = (overrides: Partial<AuditEvent>): AuditEvent => ({
  at: new Date().toISOString(),
  request_id: 'r',
  key_id: null,
  operation: 'search',
  partition: 'default',
  subject_id: null,
  status: 200,
  code: 'ok',
  score: null,
  quality: null,
  threshold: null,
  decision: 'hit',
  matched_subject_id: null,
  claim_token_id: null,
  ...overrides,
});

async function refusal(work: () => unknown): Promise<string> {
  try {
    await work();
  } catch (error) {
    return error instanceof ApiError ? error.code : `not an ApiError: ${(error as Error).message}`;
  }
  return 'accepted';
}

describe.skipIf(!postgresInstalled())('API keys, the audit log and claim tokens in PostgreSQL', () => {
  const opened: NodeState[] = [];

  beforeAll(async () => {
    primary = await startPrimary();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(opened.map((state) => state.close().catch(() => undefined)));
    primary?.destroy();
  });

  describe('API keys', () => {
    it('keeps a key as the SHA-256 of its secret, accepted by every node, and refused by every node once one revokes it', async () => {
      const url = await newDatabase();
      const [a, b] = await twoNodes(url);
      opened.push(a, b);
      const onA = new AuthService(a.keys, true);
      const onB = new AuthService(b.keys, true);

      const { key, summary } = await onA.createKey({ name: 'gate 1', operations: ['search', 'enrol'], partitions: ['default', 'vip'] });
      expect(summary).toMatchObject({ name: 'gate 1', operations: ['search', 'enrol'], partitions: ['default', 'vip'], revokedAt: null });
      expect(summary.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      const principal = await onB.authenticate(key);
      expect(principal.keyId).toBe(summary.id);
      expect([...principal.operations]).toEqual(['search', 'enrol']);
      expect(principal.partitions).toEqual(new Set(['default', 'vip']));
      expect(await onB.listKeys()).toEqual([summary]);

      // the table holds the hash, never the secret
      const secret = Buffer.from(key.slice(summary.id.length + 1), 'base64url');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ secret_sha256: Buffer }>('SELECT secret_sha256 FROM api_keys WHERE id = $1', [summary.id]);
      await client.end();
      expect(rows[0].secret_sha256.equals(createHash('sha256').update(secret).digest())).toBe(true);

      // a wrong secret with the right id is refused as an unknown key is
      const wrong = `${summary.id}_${Buffer.alloc(32, 7).toString('base64url')}`;
      expect(await refusal(() => onA.authenticate(wrong))).toBe('unauthorized');
      expect(await refusal(() => onA.authenticate('fsk_000000000000_' + 'A'.repeat(43)))).toBe('unauthorized');

      await onB.revokeKey(summary.id);
      for (const node of [onA, onB]) expect(await refusal(() => node.authenticate(key))).toBe('unauthorized');
      expect((await onA.listKeys())[0].revokedAt).toMatch(/Z$/);
      await expect(onA.revokeKey(summary.id)).rejects.toThrow(/already revoked/);
      await expect(onA.revokeKey('fsk_ffffffffffff')).rejects.toThrow(/no key/);
      expect(() => onA.createKey({ name: 'x', operations: [], partitions: ['*'] })).toThrow(/at least one scope/);
    });

    it('lists keys oldest first and answers a lookup of a missing id with nothing', async () => {
      const pool = openPool(await newDatabase(), 2, silent, 'test');
      try {
        const keys = await PostgresApiKeyRepository.open(pool);
        const key = (id: string) => ({ id, name: id, secretSha256: Buffer.alloc(32, 1), operations: '["search"]', partitions: '["*"]' });
        await keys.insert(key('fsk_000000000002'));
        await keys.insert(key('fsk_000000000001'));
        expect((await keys.list()).map((stored) => stored.id)).toEqual(['fsk_000000000002', 'fsk_000000000001']);
        expect(await keys.find('fsk_999999999999')).toBeUndefined();
        expect(await keys.revoke('fsk_000000000001')).toBe(true);
        expect(await keys.revoke('fsk_000000000001')).toBe(false);
        await expect(keys.insert(key('fsk_000000000001'))).rejects.toThrow(/duplicate key/);
      } finally {
        await pool.end();
      }
    });
  });

  describe('claim tokens', () => {
    const token = (tokenId: string, maxTries = 3): NewClaimToken => ({
      tokenId,
      secretSha256: createHash('sha256').update(tokenId).digest(),
      purpose: 'verify',
      userId: 'alice',
      partition: 'claims',
      source: null,
      keyId: 'fsk_aaaaaaaaaaaa',
      createdAt: 1_780_000_000_123,
      expiresAt: 1_780_000_600_123,
      maxTries,
    });

    it('stores a token and its outcome as claims.sqlite does, found by secret hash, id or user', async () => {
      const [a, b] = await twoNodes(await newDatabase());
      opened.push(a, b);
      await a.claimTokens.insert(token('t1'));
      await a.claimTokens.insert({ ...token('t2'), purpose: 'enrol', source: 'eid' });
      const issued = await b.claimTokens.findBySecretHash(createHash('sha256').update('t1').digest());
      expect(issued).toEqual({ ...token('t1'), secretSha256: undefined, triesUsed: 0, outcome: undefined, validatedAt: null });
      expect(await b.claimTokens.useTry('t1')).toBe(true);
      expect(await b.claimTokens.recordOutcome('t1', { passed: false, failureReason: 'no_match', score: 0.123456789, threshold: 0.45, mad: 'not_configured' }, 1_780_000_001_000)).toBe(true);
      expect((await a.claimTokens.find('t1'))!.outcome).toEqual({ at: 1_780_000_001_000, passed: false, failureReason: 'no_match', score: 0.123456789, threshold: 0.45, mad: 'not_configured' });
      expect((await a.claimTokens.forUser('claims', 'alice')).map((t) => [t.tokenId, t.purpose, t.source])).toEqual([
        ['t1', 'verify', null],
        ['t2', 'enrol', 'eid'],
      ]);
      expect(await a.claimTokens.find('nope')).toBeUndefined();
      await expect(a.claimTokens.insert(token('t1'))).rejects.toThrow(/duplicate key/);
    });

    it('lets nodes racing for tries take exactly max_tries, and validate a token exactly once', async () => {
      const [a, b] = await twoNodes(await newDatabase());
      opened.push(a, b);
      await a.claimTokens.insert(token('race', 3));
      const taken = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).claimTokens.useTry('race')));
      expect(taken.filter(Boolean)).toHaveLength(3);
      await a.claimTokens.returnTry('race');
      expect((await b.claimTokens.find('race'))!.triesUsed).toBe(2);

      expect(await a.claimTokens.markValidated('race', 5)).toBe(false); // no outcome yet
      expect(await b.claimTokens.recordOutcome('race', { passed: true, score: 0.9, threshold: 0.45 }, 4)).toBe(true);
      expect(await a.claimTokens.useTry('race')).toBe(false); // an image passed on it
      const validations = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).claimTokens.markValidated('race', 6)));
      expect(validations.filter(Boolean)).toHaveLength(1);
      expect(await a.claimTokens.recordOutcome('race', { passed: false }, 7)).toBe(false); // validated: the outcome stands
      expect((await b.claimTokens.find('race'))!).toMatchObject({ validatedAt: 6, outcome: { at: 4, passed: true, score: 0.9, threshold: 0.45 } });
    });
  });

  describe('audit log', () => {
    it('is one log for every node: rows of both, newest first, filtered, counted, exported in a time range', async () => {
      const [a, b] = await twoNodes(await newDatabase());
      opened.push(a, b);
      const start = Date.parse('2026-03-01T10:00:00.000Z');
      const at = (second: number) => new Date(start + second * 1000).toISOString();
      await a.audit.append(event({ at: at(0), request_id: 'a1', operation: 'enrol', partition: 'east', subject_id: 's1', decision: 'enrolled', quality: 0.8125, key_id: 'fsk_aaaaaaaaaaaa' }));
      await b.audit.append(event({ at: at(1), request_id: 'b1', partition: 'west', score: 0.123456789012345, threshold: 0.4, decision: 'hit', key_id: 'fsk_bbbbbbbbbbbb' }));
      await a.audit.append(event({ at: at(2), request_id: 'a2', partition: null, operation: 'photo', decision: 'made', key_id: null }));
      await b.audit.append(event({ at: at(3), request_id: 'b2', operation: 'photo', partition: null, status: 403, code: 'forbidden', decision: null, key_id: null }));
      await b.audit.append(event({ at: at(4), request_id: 'b3', operation: 'photo', partition: null, decision: 'made', key_id: null }));

      for (const node of [a, b]) expect((await node.audit.recent(10, () => true)).map((row) => row.request_id)).toEqual(['b3', 'b2', 'a2', 'b1', 'a1']);
      const west = await a.audit.recent(10, (row) => row.partition === 'west');
      expect(west).toEqual([event({ at: at(1), request_id: 'b1', partition: 'west', score: 0.123456789012345, threshold: 0.4, decision: 'hit', key_id: 'fsk_bbbbbbbbbbbb' })]);
      expect((await b.audit.recent(2, () => true)).map((row) => row.request_id)).toEqual(['b3', 'b2']);
      // reads back at most `scan` rows: the oldest row is out of reach of a scan of four
      expect((await b.audit.recent(10, (row) => row.partition === 'east', 4)).length).toBe(0);
      expect((await b.audit.recent(10, (row) => row.partition === 'east', 5)).map((row) => row.request_id)).toEqual(['a1']);

      expect(await a.audit.decisionCounts(null, 'photo')).toEqual({ made: 2 });
      expect(await b.audit.decisionCounts('fsk_aaaaaaaaaaaa', 'enrol')).toEqual({ enrolled: 1 });

      const log = a.audit as PostgresAuditLog;
      const exported: string[] = [];
      for await (const row of log.between(at(1), at(3))) exported.push(row.request_id);
      expect(exported).toEqual(['b1', 'a2']);
    });

    it('refuses UPDATE, DELETE and TRUNCATE, even to the superuser that owns the table', async () => {
      const url = await newDatabase();
      const [a] = await twoNodes(url);
      opened.push(a);
      await a.audit.append(event({ request_id: 'kept' }));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        for (const statement of ["UPDATE audit_events SET code = 'forged'", 'DELETE FROM audit_events', 'TRUNCATE audit_events']) {
          await expect(client.query(statement), statement).rejects.toThrow(/append-only/);
        }
        const { rows } = await client.query('SELECT request_id, code FROM audit_events');
        expect(rows).toEqual([{ request_id: 'kept', code: 'ok' }]);
      } finally {
        await client.end();
      }
    });

    it('answers 503 service_unavailable while the database is down, and works again when it is back', async () => {
      const [a] = await twoNodes(await newDatabase());
      opened.push(a);
      const auth = new AuthService(a.keys, true);
      const { key } = await auth.createKey({ name: 'gate', operations: ['search'], partitions: ['*'] });
      primary.kill();
      try {
        expect(await refusal(() => auth.authenticate(key))).toBe('service_unavailable');
        expect(await refusal(() => a.audit.append(event({ request_id: 'while-down' })))).toBe('service_unavailable');
      } finally {
        primary.start();
      }
      expect((await auth.authenticate(key)).operations).toEqual(new Set(['search']));
      await a.audit.append(event({ request_id: 'after' }));
      expect((await a.audit.recent(5, () => true)).map((row) => row.request_id)).toEqual(['after']);
    }, 60_000);
  });
});
