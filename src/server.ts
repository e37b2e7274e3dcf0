import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import type { Config } from './config/config.ts';
import { openGallery, TEMPLATE_DIMENSION, type Gallery } from './gallery/index.ts';
import { PostgresGallery } from './gallery/postgres/postgres-gallery.ts';
import { trackInFlight } from './http/in-flight.ts';
import { createApp } from './http/app.ts';
import { openNodeState, type NodeState } from './node-state.ts';
import type { Logger } from './logger.ts';
import { Metrics } from './metrics/metrics.ts';
import { CropperPool } from './documents/cropper-pool.ts';
import { PassportPhotoService } from './photo/passport-photo.service.ts';
import { PhotoPool } from './photo/photo-pool.ts';
import { loadSpecTable } from './photo/specs/spec-table.ts';
import { PipelinePool } from './pipeline/pipeline-pool.ts';
import { ComplianceService } from './compliance/compliance.service.ts';
import { loadProfiles } from './compliance/profiles.ts';
import { createScoreMapper } from './pipeline/score.ts';
import { loadModelManifest, type ModelManifest } from './pipeline/model-manifest.ts';
import { DataDirLock } from './gallery/data-dir-lock.ts';
import { PartitionPolicies } from './services/partition-policy.ts';
import { BiometricService } from './services/biometric.service.ts';
import { DifferentialMad } from './mad/differential-mad.ts';
import { MadService } from './mad/mad.service.ts';
import { loadMorphModels } from './mad/morph-models.ts';
import { AuthService, isAuthRequired } from './security/auth.service.ts';
import { loadTemplateCipher } from './security/template-key.ts';
import { ClaimsService } from './claims/claims.service.ts';
import { EnrolmentImageRequirements } from './claims/image-requirements.ts';

export interface RunningServer {
  url: string;
  server: Server;
  /** Stops accepting connections, lets in-flight requests finish, flushes indexes, closes SQLite. */
  close(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const manifest = loadModelManifest(config.modelsDir, config.pipeline.manifest);
  mkdirSync(config.dataDir, { recursive: true });
  const lock = DataDirLock.acquire(config.dataDir);
  try {
    return await serve(config, logger, manifest, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function serve(config: Config, logger: Logger, manifest: ModelManifest, lock: DataDirLock): Promise<RunningServer> {
  const cipher = loadTemplateCipher(config.encryption, config.dataDir, logger);
  const profiles = loadProfiles();
  const photoSpecs = loadSpecTable();
  // The workers load their models in their own threads while this one opens the gallery (seconds
  // each with a large gallery), so a restart waits for the slower of the two rather than both.
  const poolStarting = PipelinePool.start({ modelsDir: config.modelsDir, config: config.pipeline, logger });
  const croppersStarting = CropperPool.start({ modelsDir: config.modelsDir, pipeline: config.pipeline, documents: config.documents, logger });
  const photosStarting = PhotoPool.start({ modelsDir: config.modelsDir, pipeline: config.pipeline, photo: config.photo, logger });
  const closeWhenStarted = (starting: Promise<{ close(): Promise<void> }>) => starting.then((started) => started.close(), () => undefined);
  const stopPools = () => Promise.all([closeWhenStarted(poolStarting), closeWhenStarted(croppersStarting), closeWhenStarted(photosStarting)]);
  let gallery: Gallery;
  try {
    gallery = config.database
      ? await PostgresGallery.open({ ...config.database, dimension: TEMPLATE_DIMENSION, logger })
      : await openGallery({ dataDir: config.dataDir, flushDelayMs: config.indexFlushDelayMs, logger, cipher, search: config.search });
  } catch (error) {
    await stopPools();
    throw error;
  }
  let pool: PipelinePool | undefined;
  let croppers: CropperPool | undefined;
  let photos: PhotoPool | undefined;
  let state: NodeState;
  try {
    await assertSameRecognitionModel(gallery, manifest.modelId);
    pool = await poolStarting;
    croppers = await croppersStarting;
    photos = await photosStarting;
    // last: nothing after it can fail, so the catch has no keys or audit log to close
    state = await openNodeState(config, logger);
  } catch (error) {
    await gallery.close();
    await stopPools();
    throw error;
  }
  const faces = pool;
  const documents = croppers;
  const photoPool = photos;
  const { progress, audit } = state;
  const auth = new AuthService(state.keys, isAuthRequired(config.auth.required, config.host));
  if (!auth.required) logger.warn({ host: config.host }, 'API keys are not required: anyone who can reach this address may call every endpoint (set AUTH_REQUIRED=true to require keys)');
  const metrics = new Metrics(gallery, { pipeline: faces, cropper: documents, photo: photoPool });
  const compliance = new ComplianceService(metrics.meterPhotoChecks(faces), profiles, (verdict) => metrics.recordVerdict(verdict));
  const metered = metrics.meter(faces);
  // S-MAD runs in the workers; D-MAD needs only two templates, so it runs here (and can serve any step that has both)
  const differentialModel = config.pipeline.mad.enabled ? loadMorphModels(manifest)?.differential : undefined;
  const differentialMad = differentialModel && new DifferentialMad(differentialModel, config.pipeline.mad.differentialThreshold, config.pipeline.mad.differentialCapture);
  const mad = new MadService({ ...metered, scoreMorph: (image) => faces.scoreMorph(image) }, differentialMad);
  const service = new BiometricService(gallery, metered, createScoreMapper(manifest.recognition), new PartitionPolicies(config.policy), config.limits, mad);
  const claims = new ClaimsService(state.claimTokens, service, metered, compliance, new EnrolmentImageRequirements(config.claims), config.claims, config.matching.defaultThreshold, differentialMad, (event) =>
    metrics.recordClaim(event),
  );
  const app = createApp({
    config,
    logger,
    gallery,
    service,
    mad,
    auth,
    audit,
    metrics,
    compliance: { service: compliance, profiles },
    documents,
    photo: { service: new PassportPhotoService(photoPool, state.photoJobs, photoSpecs, profiles, progress), progress },
    claims,
    health: async () => ({
      components: { faiss_index: await gallery.isHealthy(), template_key: await gallery.templateKeyCurrent(), ...faces.health() },
      stages: faces.stages(),
    }),
  });

  const requests = trackInFlight(app.callback());
  const server = createServer(requests.handler);
  server.requestTimeout = config.limits.requestTimeoutMs * 2;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  logger.info({ url, model_id: faces.modelId, partitions: (await gallery.partitions()).length }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await requests.idle();
      await gallery.close();
      await state.close();
      await Promise.all([faces.close(), documents.close(), photoPool.close()]);
      lock.release();
    })());
  return { url, server, close };
}

/**
 * Cosine similarity between templates of two different networks means nothing, so a gallery enrolled
 * with another recognition model is refused at start rather than searched with meaningless scores.
 */
async function assertSameRecognitionModel(gallery: Gallery, modelId: string): Promise<void> {
  const foreign = (await gallery.templateModelIds()).filter((id) => id !== modelId);
  if (foreign.length > 0) {
    throw new Error(
      `the gallery holds templates made by ${foreign.join(', ')}, but the model bundle's recognition model is ${modelId}; ` +
        'templates of different models cannot be compared: restore the bundle that made them, or enrol again into a new DATA_DIR',
    );
  }
}
