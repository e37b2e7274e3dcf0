import Koa from 'koa';
import type { Config } from '../config/config.ts';
import type { Gallery } from '../gallery/gallery.ts';
import type { Logger } from '../logger.ts';
import type { BiometricService } from '../services/biometric.service.ts';
import { BIOMETRIC_PATHS, biometricRouter } from './biometric.controller.ts';
import { metadataSchemas } from './metadata.ts';
import { errorResponses, notFound, requestContext, requestTimeout } from './middleware.ts';
import { utilityRouter, type HealthReport } from './utility.controller.ts';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  gallery: Gallery;
  service: BiometricService;
  health: () => HealthReport;
}

export function createApp({ config, logger, gallery, service, health }: AppDependencies): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // errorResponses logs what matters, once, with the request id
  const routers = [biometricRouter(service, metadataSchemas(config.matching), config.limits), utilityRouter(gallery, health)];
  app.use(requestContext(logger));
  app.use(errorResponses(BIOMETRIC_PATHS));
  app.use(notFound(routers));
  app.use(requestTimeout(config.limits.requestTimeoutMs));
  for (const router of routers) app.use(router.routes());
  return app;
}
