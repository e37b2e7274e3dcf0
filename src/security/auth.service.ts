import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { PARTITION_NAME_PATTERN } from '../gallery/gallery.ts';
import { settled, whenAnswered, type Answer, type StoreMode } from '../store-mode.ts';
import type { ApiKeyStore, StoredApiKey } from './api-key.repository.ts';

// `check`: photo compliance, `documents`: the ID-document cropper, `photo`: passport / ID photos; none touches a gallery partition.
// `claim_enrol` / `claim_verify`: enrolment from trusted photos and verification against them (src/claims/).
export const OPERATIONS = ['enrol', 'search', 'verify', 'delete', 'check', 'documents', 'claim_enrol', 'claim_verify', 'photo', 'admin'] as const;
export type Operation = (typeof OPERATIONS)[number];
export const ALL_PARTITIONS = '*';

/** Who is calling and what they may do. keyId is null for the anonymous caller of a keyless server. */
export interface Principal {
  keyId: string | null;
  operations: ReadonlySet<Operation>;
  /** partition names, or '*' for every partition */
  partitions: ReadonlySet<string> | typeof ALL_PARTITIONS;
}

export interface ApiKeySummary {
  id: string;
  name: string;
  operations: Operation[];
  partitions: string[];
  createdAt: string;
  revokedAt: string | null;
}

/** `fsk_<12 hex id>_<43 base64url secret>`: the id is the public prefix, logged and audited. */
const KEY_PATTERN = /^(fsk_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const scopesSchema = z.object({
  name: z.string().trim().min(1, 'a key needs a name').max(200),
  operations: z.array(z.enum(OPERATIONS)).min(1, 'a key needs at least one scope'),
  partitions: z
    .array(z.union([z.literal(ALL_PARTITIONS), z.string().regex(PARTITION_NAME_PATTERN, 'partition names are 1–64 characters of A–Z, a–z, 0–9, _ or -')]))
    .min(1, 'a key needs at least one partition (or *)'),
});
export type KeyScopes = z.input<typeof scopesSchema>;

const storedListSchema = <T extends z.ZodType>(item: T) => z.preprocess((text) => JSON.parse(String(text)), z.array(item));
const storedOperations = storedListSchema(z.enum(OPERATIONS));
const storedPartitions = storedListSchema(z.string());

const ANONYMOUS: Principal = { keyId: null, operations: new Set(OPERATIONS), partitions: ALL_PARTITIONS };

/**
 * Keys are 32 random bytes, stored as their SHA-256: a leaked key store does not let anyone call
 * the API. A presented key is always checked, also on a server that does not require one, so a
 * misconfigured client fails on the laptop rather than in production. Every request reads its key
 * from the store (no cache), so a key revoked on one API node is refused by all of them at once.
 *
 * Answers as its store does: synchronously over keys.sqlite (the default type, what tools and tests
 * hold), with promises over PostgreSQL; the server holds an `AuthService<StoreMode>` and awaits.
 */
export class AuthService<Mode extends StoreMode = 'sync'> {
  constructor(
    private readonly keys: ApiKeyStore<Mode>,
    readonly required: boolean,
  ) {}

  /** Returns the new key's full secret: shown once, never stored. */
  createKey(scopes: KeyScopes): Answer<Mode, { key: string; summary: ApiKeySummary }> {
    const parsed = scopesSchema.safeParse(scopes);
    if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => issue.message).join('; '));
    const { name, operations, partitions } = parsed.data;
    const id = `fsk_${randomBytes(6).toString('hex')}`;
    const secret = randomBytes(32);
    const stored = { id, name, secretSha256: sha256(secret), operations: JSON.stringify([...new Set(operations)]), partitions: JSON.stringify(partitions.includes(ALL_PARTITIONS) ? [ALL_PARTITIONS] : [...new Set(partitions)]) };
    return whenAnswered(this.keys.insert(stored), () => whenAnswered(this.keys.find(id), (found) => ({ key: `${id}_${secret.toString('base64url')}`, summary: summarise(found!) })));
  }

  listKeys(): Answer<Mode, ApiKeySummary[]> {
    return whenAnswered(this.keys.list(), (keys) => keys.map(summarise));
  }

  revokeKey(id: string): Answer<Mode, void> {
    return whenAnswered(this.keys.revoke(id), (revoked) =>
      revoked
        ? undefined
        : whenAnswered(this.keys.find(id), (found) => {
            throw new Error(found ? `key ${id} is already revoked` : `no key ${id}`);
          }),
    );
  }

  /** The public id part of a key-shaped string (what `list` shows), whether or not such a key exists. */
  publicIdOf(presented: string | undefined): string | undefined {
    return presented === undefined ? undefined : KEY_PATTERN.exec(presented)?.[1];
  }

  /** The caller behind a presented key (Bearer or X-API-Key value), or anonymous where keys are optional. */
  authenticate(presented: string | undefined): Answer<Mode, Principal> {
    if (presented === undefined || presented === '') {
      if (this.required) throw new ApiError('unauthorized', 'an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>');
      return settled<Mode, Principal>(ANONYMOUS);
    }
    // Only the canonical spelling: base64url's last character has spare bits, so variants would decode alike.
    const match = KEY_PATTERN.exec(presented);
    if (!match || Buffer.from(match[2], 'base64url').toString('base64url') !== match[2]) throw new ApiError('unauthorized', 'the API key is not valid');
    return whenAnswered(this.keys.find(match[1]), (stored) => {
      // Compared in constant time so response timing says nothing about how much of a secret was right.
      if (!stored || !timingSafeEqual(stored.secretSha256, sha256(Buffer.from(match[2], 'base64url')))) {
        throw new ApiError('unauthorized', 'the API key is not valid');
      }
      if (stored.revokedAt !== null) throw new ApiError('unauthorized', `API key ${stored.id} was revoked`);
      const { operations, partitions } = summarise(stored);
      return { keyId: stored.id, operations: new Set(operations), partitions: partitions.includes(ALL_PARTITIONS) ? ALL_PARTITIONS : new Set(partitions) };
    });
  }

  requireOperation(principal: Principal, operation: Operation): void {
    if (!principal.operations.has(operation)) throw new ApiError('forbidden', `API key ${principal.keyId} lacks the "${operation}" scope`);
  }

  requirePartition(principal: Principal, partition: string): void {
    if (principal.partitions !== ALL_PARTITIONS && !principal.partitions.has(partition)) {
      throw new ApiError('forbidden', `API key ${principal.keyId} may not use partition "${partition}"`);
    }
  }
}

/**
 * AUTH_REQUIRED decides when set. Unset, keys are required unless the server listens on loopback
 * only: nothing off the machine can reach it then, and `npm start` keeps working with no setup.
 */
export function isAuthRequired(required: boolean | undefined, host: string): boolean {
  return required ?? !isLoopbackHost(host);
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function summarise(stored: StoredApiKey): ApiKeySummary {
  return {
    id: stored.id,
    name: stored.name,
    operations: storedOperations.parse(stored.operations),
    partitions: storedPartitions.parse(stored.partitions),
    createdAt: stored.createdAt,
    revokedAt: stored.revokedAt,
  };
}
