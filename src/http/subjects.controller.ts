import Router from '@koa/router';
import { z } from 'zod';
import type { ClaimToken } from '../claims/claim-token.repository.ts';
import { ApiError } from '../errors.ts';
import { DEFAULT_PARTITION, PARTITION_NAME_PATTERN, type Gallery } from '../gallery/gallery.ts';
import { MAX_SUBJECT_ID_LENGTH, subjectIdProblem } from './metadata.ts';

export const SUBJECT_PATHS = { list: '/api/v1/subjects/:partition', detail: '/api/v1/subjects/:partition/:subject_id' } as const;
export const MAX_PAGE_SIZE = 500;

const pageQuery = z.strictObject({
  page: z.coerce.number({ error: 'page must be an integer' }).int('page must be an integer').min(1, 'page must be at least 1').default(1),
  page_size: z.coerce
    .number({ error: 'page_size must be an integer' })
    .int('page_size must be an integer')
    .min(1, 'page_size must be at least 1')
    .max(MAX_PAGE_SIZE, `page_size must be at most ${MAX_PAGE_SIZE}`)
    .default(50),
});

function partitionParam(value: string): string {
  if (!PARTITION_NAME_PATTERN.test(value)) throw new ApiError('invalid_metadata', 'partition must be 1–64 characters of A–Z, a–z, 0–9, _ or -', { field: 'partition' });
  return value;
}

/** The subject id in the path, held to the same rules (and NFC form) as the one enrolment stored. */
function subjectParam(value: string): string {
  const problem = subjectIdProblem(value);
  if (problem || value.length === 0) throw new ApiError('invalid_metadata', problem ?? 'subject_id must not be empty', { field: 'subject_id' });
  const normalised = value.normalize('NFC');
  if (normalised.length > MAX_SUBJECT_ID_LENGTH) throw new ApiError('invalid_metadata', `subject_id must be at most ${MAX_SUBJECT_ID_LENGTH} characters`, { field: 'subject_id' });
  return normalised;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A claim token on the user's record: its public id, purpose, use and outcome; never its secret. */
function claimRecord(token: ClaimToken) {
  const outcome = token.outcome;
  return {
    token_id: token.tokenId,
    purpose: token.purpose,
    source: token.source,
    key_id: token.keyId,
    created_at: iso(token.createdAt),
    expires_at: iso(token.expiresAt),
    tries_used: token.triesUsed,
    max_tries: token.maxTries,
    validated_at: iso(token.validatedAt),
    outcome: outcome
      ? {
          at: iso(outcome.at),
          passed: outcome.passed,
          score: outcome.score ?? null,
          threshold: outcome.threshold ?? null,
          failure_reason: outcome.failureReason ?? null,
          source: outcome.source ?? null,
          quality: outcome.quality ?? null,
          issues: outcome.issues ? outcome.issues.split(',') : [],
          mad: outcome.mad ?? null,
        }
      : null,
  };
}

/**
 * GET /api/v1/subjects/{partition} (paged) and /api/v1/subjects/{partition}/{subject_id}: what a
 * person's record holds, for operators (admin scope). Templates are listed with their source, time
 * and quality, never their vectors.
 */
export function subjectsRouter(gallery: Gallery, claimHistory: (partition: string, subjectId: string) => ClaimToken[] | Promise<ClaimToken[]>): Router {
  const router = new Router();

  router.get(SUBJECT_PATHS.list, async (ctx) => {
    const name = partitionParam(ctx.params.partition);
    ctx.state.operation!.target(name);
    const parsed = pageQuery.safeParse(ctx.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ApiError('invalid_metadata', issue.code === 'unrecognized_keys' ? `unknown query parameter(s): ${issue.keys.join(', ')}` : issue.message);
    }
    if (name !== DEFAULT_PARTITION && !(await gallery.hasPartition(name))) throw new ApiError('unknown_partition', `partition ${name} does not exist`);
    const { page, page_size } = parsed.data;
    const { total, subjects } = await gallery.listSubjects(name, (page - 1) * page_size, page_size);
    ctx.body = {
      partition: name,
      page,
      page_size,
      total,
      subjects: subjects.map((s) => ({ subject_id: s.subjectId, created_at: s.createdAt, template_count: s.templateCount, sources: s.sources })),
    };
  });

  router.get(SUBJECT_PATHS.detail, async (ctx) => {
    const name = partitionParam(ctx.params.partition);
    const subjectId = subjectParam(ctx.params.subject_id);
    ctx.state.operation!.target(name, subjectId);
    const detail = (await gallery.hasPartition(name)) ? await gallery.subjectDetail(name, subjectId) : undefined;
    const claims = await claimHistory(name, subjectId);
    if (!detail && claims.length === 0) throw new ApiError('unknown_subject', `subject is not enrolled in partition ${name}`);
    ctx.body = {
      partition: name,
      subject_id: subjectId,
      created_at: detail?.createdAt ?? null,
      templates: (detail?.templates ?? []).map((t) => ({ template_id: t.templateId, source: t.source, created_at: t.createdAt, quality: t.quality, model_id: t.modelId })),
      claims: claims.map(claimRecord),
    };
  });

  return router;
}
