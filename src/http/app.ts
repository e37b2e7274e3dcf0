import Koa from 'koa';
import { auditTrail } from '../audit/audit.middleware.ts';
import type { AuditStore } from '../audit/audit-log.ts';
import type { Config } from '../config/config.ts';
import type { Gallery } from '../gallery/gallery.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { authentication, type RouteAccess } from '../security/auth.middleware.ts';
import type { StoreMode } from '../store-mode.ts';
import type { AuthService } from '../security/auth.service.ts';
import type { MadService } from '../mad/mad.service.ts';
import type { BiometricService } from '../services/biometric.service.ts';
import { CLAIM_PATHS, claimsRouter } from '../claims/claims.controller.ts';
import type { ClaimsService } from '../claims/claims.service.ts';
import { subjectsRouter } from './subjects.controller.ts';
import { AUDIT_PATH, auditRouter } from './audit.controller.ts';
import { CONSOLE_PATHS, consoleRouter } from './console.controller.ts';
import { complianceRouter, PHOTO_CHECK_PATH } from '../compliance/compliance.controller.ts';
import type { ComplianceService } from '../compliance/compliance.service.ts';
import type { ComplianceProfiles } from '../compliance/profiles.ts';
import { idPhotoRouter, ID_PHOTO_PATHS } from '../photo/id-photo.controller.ts';
import { PASSPORT_PHOTO_PATHS, passportPhotoRouter } from '../photo/passport-photo.controller.ts';
import type { PassportPhotoService } from '../photo/passport-photo.service.ts';
import type { ProgressHub } from '../photo/progress.ts';
import { biometricRouter } from './biometric.controller.ts';
import { ID_CROPPER_PATHS, idCropperRouter, type DocumentCropping } from './id-cropper.controller.ts';
import { MAD_PATH, madRouter } from './mad.controller.ts';
import { metadataSchemas } from './metadata.ts';
import { errorResponses, notFound, requestContext, requestTimeout } from './middleware.ts';
import { OPENAPI_PATH, openApiDocument, openApiRouter } from './openapi.ts';
import { utilityRouter, type HealthReport } from './utility.controller.ts';

export interface AppDependencies {
  config: Config;
  logger: Logger;
  gallery: Gallery;
  service: BiometricService;
  mad: MadService;
  health: () => Promise<HealthReport>;
  auth: AuthService<StoreMode>;
  audit: AuditStore;
  metrics: Metrics;
  compliance: { service: ComplianceService; profiles: ComplianceProfiles };
  documents: DocumentCropping;
  photo: { service: PassportPhotoService; progress: ProgressHub };
  claims: ClaimsService<StoreMode>;
}

/** Scope per route path; routes not listed (partitions, stats, metrics) need the admin scope. */
function routeAccess(config: Config): Record<string, RouteAccess> {
  return {
    '/api/v1/enrol': 'enrol',
    '/api/v1/search': 'search',
    '/api/v1/verify': 'verify',
    '/api/v1/delete': 'delete',
    [PHOTO_CHECK_PATH]: 'check',
    [MAD_PATH]: 'check',
    ...Object.fromEntries(ID_CROPPER_PATHS.map((path) => [path, 'documents' as const])),
    ...Object.fromEntries(Object.values(PASSPORT_PHOTO_PATHS).map((path) => [path, 'photo' as const])),
    // the /v2/ API carries its key in the JSON body: its controller authenticates (GET /v2/health is open)
    ...Object.fromEntries(ID_PHOTO_PATHS.map((path) => [path, 'public' as const])),
    [CLAIM_PATHS.enrolToken]: 'claim_enrol',
    [CLAIM_PATHS.enrolImage]: 'claim_enrol',
    [CLAIM_PATHS.verifyToken]: 'claim_verify',
    [CLAIM_PATHS.verifyImage]: 'claim_verify',
    [CLAIM_PATHS.validate]: 'claim_verify',
    '/api/v1/health': config.auth.publicHealth ? 'public' : 'admin',
    [OPENAPI_PATH]: 'public',
    [AUDIT_PATH]: 'admin',
    // static pages: the API key is pasted into the page and sent by its API calls
    [CONSOLE_PATHS.root]: 'public',
    [CONSOLE_PATHS.file]: 'public',
  };
}

/** Photo jobs decode 12 megapixels, segment and re-measure: they get their own, longer time limit. */
const isPhotoPath = (path: string) => path.startsWith(PASSPORT_PHOTO_PATHS.base) || path.startsWith('/v2/');

export function createApp({ config, logger, gallery, service, mad, health, auth, audit, metrics, compliance, documents, claims, photo }: AppDependencies): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // errorResponses logs what matters, once, with the request id
  const biometric = biometricRouter(service, metadataSchemas(config.matching), config.limits);
  const routers = [
    biometric,
    complianceRouter(compliance.service, compliance.profiles, config.limits),
    madRouter(mad, config.limits),
    idCropperRouter(documents, config.documents.maxJsonBytes),
    passportPhotoRouter(photo.service, photo.progress, config.limits, config.limits.maxJsonBytes, config.photo.requestTimeoutMs),
    idPhotoRouter(photo.service, auth, audit, config.photo.maxJsonBytes),
    claimsRouter(claims, config.limits),
    utilityRouter(gallery, health),
    auditRouter(audit),
    consoleRouter(photo.service.listSpecs()),
    subjectsRouter(gallery, (partition, subjectId) => claims.history(partition, subjectId)),
    openApiRouter(openApiDocument(config, compliance.profiles)),
    metrics.router(),
  ];
  app.use(requestContext(logger));
  app.use(errorResponses(biometric));
  app.use(metrics.middleware(routers));
  app.use(notFound(routers));
  app.use(requestTimeout((ctx) => (isPhotoPath(ctx.path) ? config.photo.requestTimeoutMs : config.limits.requestTimeoutMs)));
  app.use(auditTrail(audit));
  app.use(authentication(auth, routers, routeAccess(config)));
  for (const router of routers) app.use(router.routes());
  return app;
}
