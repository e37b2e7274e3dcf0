import Router from '@koa/router';
import { z } from 'zod';
import type { AuditStore } from '../audit/audit-log.ts';
import { ApiError } from '../errors.ts';
import { visiblePartitions } from '../security/auth.middleware.ts';
import { ALL_PARTITIONS } from '../security/auth.service.ts';

export const AUDIT_PATH = '/api/v1/audit';
export const MAX_AUDIT_ROWS = 200;

const query = z.strictObject({
  limit: z.coerce.number({ error: 'limit must be an integer' }).int('limit must be an integer').min(1, 'limit must be at least 1').max(MAX_AUDIT_ROWS, `limit must be at most ${MAX_AUDIT_ROWS}`).default(50),
});

/**
 * The latest audit rows for an operator's page (admin scope). A partition-scoped admin key sees only its
 * partitions' rows; rows without a partition (photo checks, crops, refusals before one was parsed)
 * only a key for every partition sees. The full log stays with `npm run audit -- export`.
 */
export function auditRouter(log: AuditStore): Router {
  const router = new Router();
  router.get(AUDIT_PATH, async (ctx) => {
    const parsed = query.safeParse(ctx.query);
    if (!parsed.success) throw new ApiError('invalid_metadata', parsed.error.issues[0].message, { field: String(parsed.error.issues[0].path[0] ?? 'query') });
    const visible = visiblePartitions(ctx);
    const everything = (ctx.state.operation?.principal?.partitions ?? ALL_PARTITIONS) === ALL_PARTITIONS;
    ctx.body = { events: await log.recent(parsed.data.limit, (event) => (event.partition === null ? everything : visible(event.partition))) };
  });
  return router;
}
