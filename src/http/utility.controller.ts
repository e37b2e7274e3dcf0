import Router from '@koa/router';
import { DEFAULT_PARTITION, type Gallery } from '../gallery/gallery.ts';
import { visiblePartitions } from '../security/auth.middleware.ts';

export interface ComponentHealth {
  faiss_index: boolean;
  /** the gallery is sealed under the key this server holds (false after a key rotation behind its back: enrolment cannot work) */
  template_key: boolean;
  onnx_detection: boolean;
  onnx_recognition: boolean;
  onnx_quality: boolean;
  onnx_pad: boolean;
}

export interface HealthReport {
  components: ComponentHealth;
  /** optional pipeline stages and whether they run: "enabled", "disabled" or "not_configured" */
  stages: Record<string, string>;
}

/** The gallery's partitions as the contract shows them: `default` always exists, empty until its first enrolment. */
async function listedPartitions(gallery: Gallery): Promise<string[]> {
  const stored = await gallery.partitions();
  return stored.includes(DEFAULT_PARTITION) ? stored : [DEFAULT_PARTITION, ...stored].sort();
}

export function utilityRouter(gallery: Gallery, health: () => Promise<HealthReport>): Router {
  const router = new Router({ prefix: '/api/v1' });

  router.get('/health', async (ctx) => {
    const { components, stages } = await health();
    const healthy = Object.values(components).every(Boolean);
    ctx.status = healthy ? 200 : 503;
    ctx.body = { status: healthy ? 'healthy' : 'unhealthy', components, stages };
  });

  router.get('/partitions', async (ctx) => {
    ctx.body = { partitions: (await listedPartitions(gallery)).filter(visiblePartitions(ctx)) };
  });

  router.get('/stats', async (ctx) => {
    const visible = visiblePartitions(ctx);
    const counts = await gallery.subjectCounts();
    const partitions = Object.fromEntries((await listedPartitions(gallery)).filter(visible).map((name) => [name, counts[name] ?? 0]));
    const total_subjects = Object.values(partitions).reduce((sum, n) => sum + n, 0);
    ctx.body = { total_subjects, partitions };
  });

  return router;
}
