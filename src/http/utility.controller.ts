import Router from '@koa/router';
import type { Gallery } from '../gallery/gallery.ts';

export interface ComponentHealth {
  faiss_index: boolean;
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

export function utilityRouter(gallery: Gallery, health: () => HealthReport): Router {
  const router = new Router({ prefix: '/api/v1' });

  router.get('/health', (ctx) => {
    const { components, stages } = health();
    const healthy = Object.values(components).every(Boolean);
    ctx.status = healthy ? 200 : 503;
    ctx.body = { status: healthy ? 'healthy' : 'unhealthy', components, stages };
  });

  router.get('/partitions', (ctx) => {
    ctx.body = { partitions: gallery.partitions() };
  });

  router.get('/stats', (ctx) => {
    const partitions = gallery.subjectCounts();
    const total_subjects = Object.values(partitions).reduce((sum, n) => sum + n, 0);
    ctx.body = { total_subjects, partitions };
  });

  return router;
}
