import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { ApiKeyRepository } from './api-key.repository.ts';
import { AuthService, isAuthRequired, isLoopbackHost, type Principal } from './auth.service.ts';

let dataDir: string;
let repository: ApiKeyRepository;
let auth: AuthService;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'auth-spec-'));
  repository = new ApiKeyRepository(join(dataDir, 'keys.sqlite'));
  auth = new AuthService(repository, true);
});

afterEach(() => {
  repository.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function refusal(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

describe('keys', () => {
  it('stores only a hash: the secret appears nowhere in keys.sqlite', async () => {
    const { key, summary } = auth.createKey({ name: 'gate 1', operations: ['search'], partitions: ['default'] });
    expect(key.startsWith(`${summary.id}_`)).toBe(true);
    repository.close();
    const { readFileSync, readdirSync } = await import('node:fs');
    const secret = Buffer.from(key.slice(summary.id.length + 1), 'base64url');
    for (const file of readdirSync(dataDir)) {
      const bytes = readFileSync(join(dataDir, file));
      expect(bytes.includes(secret), file).toBe(false);
      expect(bytes.includes(Buffer.from(key)), file).toBe(false);
    }
    repository = new ApiKeyRepository(join(dataDir, 'keys.sqlite'));
    auth = new AuthService(repository, true);
    expect(auth.authenticate(key).keyId).toBe(summary.id);
  });

  it('authenticates a valid key with its scopes', () => {
    const { key, summary } = auth.createKey({ name: 'gate', operations: ['enrol', 'search', 'search'], partitions: ['default', 'vip'] });
    const principal = auth.authenticate(key);
    expect(principal.keyId).toBe(summary.id);
    expect([...principal.operations]).toEqual(['enrol', 'search']);
    expect(principal.partitions).toEqual(new Set(['default', 'vip']));
    expect(auth.listKeys()).toEqual([{ ...summary, operations: ['enrol', 'search'] }]);
  });

  it.each([
    ['no key', undefined],
    ['an empty key', ''],
    ['a malformed key', 'hello'],
    ['an unknown id', `fsk_000000000000_${Buffer.alloc(32).toString('base64url')}`],
  ])('refuses %s with unauthorized', (_, presented) => {
    auth.createKey({ name: 'gate', operations: ['search'], partitions: ['*'] });
    expect(refusal(() => auth.authenticate(presented))).toBe('unauthorized');
  });

  it('refuses a known id with the wrong secret, and a non-canonical spelling of the right one', () => {
    const { key, summary } = auth.createKey({ name: 'gate', operations: ['search'], partitions: ['*'] });
    const secret = key.slice(summary.id.length + 1);
    const flipped = secret.slice(0, 10) + (secret[10] === 'A' ? 'B' : 'A') + secret.slice(11);
    expect(refusal(() => auth.authenticate(`${summary.id}_${flipped}`))).toBe('unauthorized');
    // The 43rd character carries two spare bits: another letter that decodes to the same bytes.
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = last[last.indexOf(secret[42]) ^ 1];
    expect(Buffer.from(secret.slice(0, 42) + sibling, 'base64url').equals(Buffer.from(secret, 'base64url'))).toBe(true);
    expect(refusal(() => auth.authenticate(`${summary.id}_${secret.slice(0, 42)}${sibling}`))).toBe('unauthorized');
  });

  it('refuses a revoked key at once, and says so on a second revoke', () => {
    const { key, summary } = auth.createKey({ name: 'gate', operations: ['search'], partitions: ['*'] });
    auth.revokeKey(summary.id);
    expect(refusal(() => auth.authenticate(key))).toBe('unauthorized');
    expect(auth.listKeys()[0].revokedAt).not.toBeNull();
    expect(() => auth.revokeKey(summary.id)).toThrow(/already revoked/);
    expect(() => auth.revokeKey('fsk_ffffffffffff')).toThrow(/no key/);
  });

  it('rejects bad scopes when creating a key', () => {
    expect(() => auth.createKey({ name: 'x', operations: ['fly' as never], partitions: ['*'] })).toThrow();
    expect(() => auth.createKey({ name: 'x', operations: [], partitions: ['*'] })).toThrow(/at least one scope/);
    expect(() => auth.createKey({ name: 'x', operations: ['search'], partitions: ['bad name'] })).toThrow(/partition names/);
    expect(() => auth.createKey({ name: ' ', operations: ['search'], partitions: ['*'] })).toThrow(/name/);
  });
});

describe('scopes', () => {
  let principal: Principal;
  beforeEach(() => {
    principal = auth.authenticate(auth.createKey({ name: 'gate', operations: ['search', 'verify'], partitions: ['default'] }).key);
  });

  it('allows the granted operations and partitions', () => {
    expect(refusal(() => auth.requireOperation(principal, 'search'))).toBeUndefined();
    expect(refusal(() => auth.requirePartition(principal, 'default'))).toBeUndefined();
  });

  it('forbids other operations and partitions', () => {
    expect(refusal(() => auth.requireOperation(principal, 'enrol'))).toBe('forbidden');
    expect(refusal(() => auth.requireOperation(principal, 'admin'))).toBe('forbidden');
    expect(refusal(() => auth.requirePartition(principal, 'vip'))).toBe('forbidden');
  });

  it('"*" allows every partition', () => {
    const any = auth.authenticate(auth.createKey({ name: 'all', operations: ['search'], partitions: ['vip', '*'] }).key);
    expect(any.partitions).toBe('*');
    expect(refusal(() => auth.requirePartition(any, 'anything-at-all'))).toBeUndefined();
  });
});

describe('policy', () => {
  it('lets a keyless caller through only where keys are optional, and still checks a presented key', () => {
    const optional = new AuthService(repository, false);
    const anonymous = optional.authenticate(undefined);
    expect(anonymous.keyId).toBeNull();
    expect(refusal(() => optional.requireOperation(anonymous, 'admin'))).toBeUndefined();
    expect(refusal(() => optional.authenticate('fsk_wrong'))).toBe('unauthorized');
    expect(refusal(() => auth.authenticate(undefined))).toBe('unauthorized');
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['127.example.com', false],
    ['example.com', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
    expect(isAuthRequired(undefined, host)).toBe(!loopback);
  });

  it('AUTH_REQUIRED wins over the host', () => {
    expect(isAuthRequired(true, '127.0.0.1')).toBe(true);
    expect(isAuthRequired(false, '0.0.0.0')).toBe(false);
  });
});
