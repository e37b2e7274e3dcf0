import { join } from 'node:path';
import { AuditLog, type AuditStore } from './audit/audit-log.ts';
import { ClaimTokenRepository, type ClaimTokenStore } from './claims/claim-token.repository.ts';
import { PostgresClaimTokenRepository } from './claims/postgres-claim-token.repository.ts';
import { PostgresAuditLog } from './audit/postgres-audit-log.ts';
import type { Config } from './config/config.ts';
import type { Logger } from './logger.ts';
import type { PhotoJobMeta } from './photo/passport-photo.service.ts';
import { FilePhotoJobStore, type PhotoJobStore } from './photo/photo-job-store.ts';
import { PostgresPhotoJobStore } from './photo/postgres-photo-job-store.ts';
import { PostgresProgressRelay } from './photo/postgres-progress-relay.ts';
import { PROGRESS_RETAIN_MS, ProgressHub } from './photo/progress.ts';
import { openPool } from './postgres/pool.ts';
import { ApiKeyRepository, type ApiKeyStore } from './security/api-key.repository.ts';
import { PostgresApiKeyRepository } from './security/postgres-api-key.repository.ts';

/**
 * API keys, the audit log, claim tokens and passport-photo jobs: files in DATA_DIR for the embedded
 * store, tables in PostgreSQL beside the gallery when DATABASE_URL is set, so that every API node accepts
 * the same keys, writes one log, honours tokens issued by any of them and serves photo jobs analysed on
 * any of them (and relay analyze progress to an SSE stream opened on any of them). The one place that
 * chooses. Photo jobs are swept of expired ones from the start until `close`.
 */
export interface NodeState {
  keys: ApiKeyStore;
  audit: AuditStore;
  claimTokens: ClaimTokenStore;
  photoJobs: PhotoJobStore<PhotoJobMeta>;
  progress: ProgressHub;
  close(): Promise<void>;
}

export async function openNodeState(config: Pick<Config, 'dataDir' | 'database'> & { photo: Pick<Config['photo'], 'jobTtlSeconds'> }, logger: Pick<Logger, 'warn'>): Promise<NodeState> {
  const jobTtlMs = config.photo.jobTtlSeconds * 1000;
  // a quarter of the TTL, at most a minute: an expired upload is deleted soon after it is refused
  const sweepEveryMs = Math.min(60_000, jobTtlMs / 4);
  if (!config.database) {
    const keys = new ApiKeyRepository(join(config.dataDir, 'keys.sqlite'));
    const audit = new AuditLog(join(config.dataDir, 'audit.sqlite'));
    const claimTokens = new ClaimTokenRepository(join(config.dataDir, 'claims.sqlite'));
    const photoJobs = new FilePhotoJobStore<PhotoJobMeta>(join(config.dataDir, 'photo-jobs'), jobTtlMs);
    photoJobs.sweep();
    photoJobs.startSweeping(sweepEveryMs);
    return {
      keys,
      audit,
      claimTokens,
      photoJobs,
      progress: new ProgressHub(PROGRESS_RETAIN_MS),
      close: async () => {
        photoJobs.stop();
        keys.close();
        audit.close();
        claimTokens.close();
      },
    };
  }
  const pool = openPool(config.database.url, config.database.poolSize, logger, 'node state');
  try {
    const [keys, audit, claimTokens, photoJobs] = await Promise.all([
      PostgresApiKeyRepository.open(pool),
      PostgresAuditLog.open(pool),
      PostgresClaimTokenRepository.open(pool),
      PostgresPhotoJobStore.open<PhotoJobMeta>(pool, jobTtlMs, logger),
    ]);
    await photoJobs.sweep();
    // last: nothing after it can fail, so the catch has no listening connection to close
    const progress = new ProgressHub(PROGRESS_RETAIN_MS);
    const relay = await PostgresProgressRelay.start(config.database.url, pool, progress, logger);
    photoJobs.startSweeping(sweepEveryMs);
    return {
      keys,
      audit,
      claimTokens,
      photoJobs,
      progress,
      close: async () => {
        photoJobs.stop();
        await relay.close();
        await pool.end();
      },
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** The key store alone, for `npm run keys` (which must not create an audit log where there was none). */
export async function openApiKeyStore(config: Pick<Config, 'dataDir' | 'database'>, logger: Pick<Logger, 'warn'>): Promise<{ keys: ApiKeyStore; close(): Promise<void> }> {
  if (!config.database) {
    const keys = new ApiKeyRepository(join(config.dataDir, 'keys.sqlite'));
    return { keys, close: async () => keys.close() };
  }
  const pool = openPool(config.database.url, 1, logger, 'api keys');
  try {
    return { keys: await PostgresApiKeyRepository.open(pool), close: () => pool.end() };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
