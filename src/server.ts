import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Config } from './config/config.ts';
import { openGallery } from './gallery/index.ts';
import { createApp } from './http/app.ts';
import type { Logger } from './logger.ts';
import { PipelinePool } from './pipeline/pipeline-pool.ts';
import { createScoreMapper } from './pipeline/score.ts';
import { loadModelManifest } from './pipeline/model-manifest.ts';
import { BiometricService } from './services/biometric.service.ts';

export interface RunningServer {
  url: string;
  server: Server;
  /** Stops accepting connections, lets in-flight requests finish, flushes indexes, closes SQLite. */
  close(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const manifest = loadModelManifest(config.modelsDir);
  const gallery = openGallery({ dataDir: config.dataDir, flushDelayMs: config.indexFlushDelayMs, logger });
  let pool: PipelinePool | undefined;
  try {
    pool = await PipelinePool.start({ modelsDir: config.modelsDir, config: config.pipeline, logger });
  } catch (error) {
    gallery.close();
    throw error;
  }
  const faces = pool;
  const service = new BiometricService(gallery, faces, createScoreMapper(manifest.recognition));
  const app = createApp({
    config,
    logger,
    gallery,
    service,
    health: () => ({
      components: { faiss_index: gallery.isHealthy(), ...faces.health() },
      stages: faces.stages(),
    }),
  });

  const server = createServer(app.callback());
  server.requestTimeout = config.limits.requestTimeoutMs * 2;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  logger.info({ url, model_id: faces.modelId, partitions: gallery.partitions().length }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      gallery.close();
      await faces.close();
    })());
  return { url, server, close };
}
