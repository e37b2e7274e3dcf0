import type { Middleware } from 'koa';
import { ApiError } from '../errors.ts';
import type { Operation } from '../security/auth.service.ts';
import type { AuditStore } from './audit-log.ts';

const AUDITED: ReadonlySet<Operation> = new Set(['enrol', 'search', 'verify', 'delete', 'check', 'documents', 'claim_enrol', 'claim_verify', 'photo']);

/**
 * Records every biometric request once it has finished, refused ones included: runs outside
 * authentication (so 401 and 403 are on record) and inside the request timeout (so an enrolment
 * that completes after the client was told 503 is recorded as what it did).
 */
export function auditTrail(log: AuditStore): Middleware {
  return async (ctx, next) => {
    let failure: ApiError | undefined;
    try {
      await next();
    } catch (error) {
      failure = error instanceof ApiError ? error : new ApiError('internal_error', 'internal error');
      throw error;
    } finally {
      const scope = ctx.state.operation;
      if (scope && AUDITED.has(scope.operation)) {
        // a duplicate-identity refusal is on record with the subject it matched, its score and threshold
        const duplicate = failure?.code === 'duplicate_identity' ? (failure.details as { matched_subject_id: string; score: number; threshold: number }) : undefined;
        // a morph refusal is on record with the MAD score and threshold that refused it
        const morph = failure?.code === 'morphing_attack_detected' ? (failure.details as { s_mad_score?: number; d_mad_score?: number; threshold: number }) : undefined;
        // awaited: the row is durable before the response that it records leaves
        await log.append({
          at: new Date().toISOString(),
          request_id: ctx.state.requestId,
          key_id: scope.keyId,
          operation: scope.operation,
          partition: scope.partition ?? null,
          subject_id: scope.subjectId ?? null,
          status: failure?.status ?? ctx.status,
          code: failure?.code ?? 'ok',
          score: scope.score ?? duplicate?.score ?? morph?.s_mad_score ?? morph?.d_mad_score ?? null,
          quality: scope.quality ?? null,
          threshold: scope.threshold ?? duplicate?.threshold ?? morph?.threshold ?? null,
          decision: failure ? null : (scope.decision ?? null),
          matched_subject_id: scope.matchedSubjectId ?? duplicate?.matched_subject_id ?? null,
          claim_token_id: scope.claimTokenId ?? null,
        });
      }
    }
  };
}
