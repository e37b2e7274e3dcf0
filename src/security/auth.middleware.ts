import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { StoreMode } from '../store-mode.ts';
import { ALL_PARTITIONS, type AuthService, type Operation, type Principal } from './auth.service.ts';

/** What a route needs: an operation scope, or nothing at all. */
export type RouteAccess = Operation | 'public';

declare module 'koa' {
  interface DefaultState {
    /** set on routes that need a scope: who called, for what, and (once parsed) on what */
    operation?: OperationScope;
  }
}

export interface OperationResult {
  subjectId?: string;
  score?: number;
  quality?: number;
  threshold?: number;
  decision?: string;
  matchedSubjectId?: string;
}

/**
 * One request's operation. Authentication fills in the caller; the controller names the partition
 * once it has parsed it, and the partition scope is checked right then, before any work is done.
 * The audit trail reads the whole record when the request ends.
 */
export class OperationScope {
  principal: Principal | undefined;
  partition: string | undefined;
  subjectId: string | undefined;
  score: number | undefined;
  quality: number | undefined;
  threshold: number | undefined;
  decision: string | undefined;
  matchedSubjectId: string | undefined;
  /** the public id of the presented key, known from its form even when the key is unknown or revoked */
  presentedKeyId: string | undefined;
  /** claim steps: the token the request used, once it was found */
  claimTokenId: string | undefined;

  constructor(
    readonly operation: Operation,
    private readonly auth: AuthService<StoreMode>,
  ) {}

  get keyId(): string | null {
    return this.principal?.keyId ?? this.presentedKeyId ?? null;
  }

  target(partition: string, subjectId?: string): void {
    this.partition = partition;
    this.subjectId = subjectId;
    this.auth.requirePartition(this.principal!, partition);
  }

  record(result: OperationResult): void {
    this.subjectId = result.subjectId ?? this.subjectId;
    this.score = result.score;
    this.quality = result.quality;
    this.threshold = result.threshold;
    this.decision = result.decision;
    this.matchedSubjectId = result.matchedSubjectId;
  }
}

/** Bearer first, then X-API-Key. */
function presentedKey(ctx: Context): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('Authorization'));
  return bearer?.[1] ?? (ctx.get('X-API-Key').trim() || undefined);
}

/**
 * Resolves the route the way the routers will (they ignore case and a trailing slash) and applies
 * its rule from `access`, keyed by route path. A route missing from `access` needs the admin scope,
 * so a new endpoint is closed until someone decides otherwise; an unknown path needs only a valid key.
 */
export function authentication(auth: AuthService<StoreMode>, routers: readonly Router[], access: Readonly<Record<string, RouteAccess>>): Middleware {
  return async (ctx, next) => {
    const route = routers.flatMap((router) => router.match(ctx.path, ctx.method).pathAndMethod).find((layer) => layer.methods.length > 0);
    const rule: RouteAccess | undefined = route ? (access[String(route.path)] ?? 'admin') : undefined;
    if (rule === 'public') return next();
    const scope = rule ? new OperationScope(rule, auth) : undefined;
    ctx.state.operation = scope;
    const presented = presentedKey(ctx);
    if (scope) scope.presentedKeyId = auth.publicIdOf(presented);
    const principal = await auth.authenticate(presented);
    if (scope) {
      scope.principal = principal;
      auth.requireOperation(principal, scope.operation);
    }
    await next();
  };
}

/**
 * Which partitions the caller may see by name and count. Admin keys are partition-scoped like any other:
 * `--scopes admin --partitions vip` administers vip and learns nothing of the other partitions.
 */
export function visiblePartitions(ctx: Context): (partition: string) => boolean {
  const partitions = ctx.state.operation?.principal?.partitions ?? ALL_PARTITIONS;
  return partitions === ALL_PARTITIONS ? () => true : (partition) => partitions.has(partition);
}
