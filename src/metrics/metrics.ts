import Router from '@koa/router';
import { visiblePartitions } from '../security/auth.middleware.ts';
import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ApiError } from '../errors.ts';
import type { Gallery } from '../gallery/gallery.ts';
import type { PipelinePurpose, PipelineResult } from '../pipeline/types.ts';
import type { WorkerMemory } from '../workers/worker-pool.ts';
import type { FaceProcessor } from '../services/biometric.service.ts';
import type { ComplianceVerdict, PhotoMeasurer } from '../compliance/compliance.service.ts';
import type { ClaimEvent } from '../claims/claims.service.ts';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const METRICS_PATH = '/metrics';

/** A pool of worker threads whose memory the metrics report, by pool name. */
export interface WorkerMemorySource {
  memory(): WorkerMemory[];
}

const WORKER_MEMORY_KINDS = { heap_used: 'heapUsed', heap_total: 'heapTotal', external: 'external', array_buffers: 'arrayBuffers' } as const;

/** a sample's partition label; partition names are [A-Za-z0-9_-], so no escapes to undo */
const PARTITION_LABEL = /^[^#].*[{,]partition="([^"]*)"/;

/**
 * Prometheus metrics of one server. A registry per instance, not prom-client's global one, so
 * several servers in one process (the tests) do not share or double-register metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'faceserver_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'faceserver_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'faceserver_http_errors_total',
    help: 'error responses by route and error code',
    labelNames: ['route', 'code'],
    registers: [this.registry],
  });
  private readonly stages = new Histogram({
    name: 'faceserver_pipeline_stage_duration_seconds',
    help: 'pipeline latency per stage (decode, orient, detect, geometry, align, embed, pad, quality, total) of images that passed',
    labelNames: ['stage', 'purpose'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: 'faceserver_pipeline_rejections_total',
    help: 'images the pipeline refused, by error code (presentation_attack_detected, morphing_attack_detected, quality_too_low, no_face_detected, ...)',
    labelNames: ['code', 'purpose'],
    registers: [this.registry],
  });

  private readonly photoChecks = new Counter({
    name: 'faceserver_photo_checks_total',
    help: 'photo compliance verdicts by profile and outcome',
    labelNames: ['profile', 'compliant'],
    registers: [this.registry],
  });
  private readonly photoIssues = new Counter({
    name: 'faceserver_photo_check_issues_total',
    help: 'issues reported by photo compliance checks, by profile and issue code',
    labelNames: ['profile', 'issue'],
    registers: [this.registry],
  });

  private readonly claimTokens = new Counter({
    name: 'faceserver_claim_tokens_total',
    help: 'claim tokens issued, by purpose (enrol, verify)',
    labelNames: ['purpose'],
    registers: [this.registry],
  });
  private readonly claimEnrolments = new Counter({
    name: 'faceserver_claim_enrolments_total',
    help: 'trusted photos enrolled through claim tokens, by source (eid, oid, selfie)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  private readonly claimCaptures = new Counter({
    name: 'faceserver_claim_verify_outcomes_total',
    help: 'live captures recorded against verify tokens, by result (passed, or the failure reason)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly claimValidations = new Counter({
    name: 'faceserver_claim_validations_total',
    help: 'verify tokens validated, by whether the verification passed',
    labelNames: ['passed'],
    registers: [this.registry],
  });

  constructor(gallery: Gallery, workerPools: Record<string, WorkerMemorySource> = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'faceserver_' });
    // The default metrics are the main thread's; each worker thread has a V8 heap of its own.
    new Gauge({
      name: 'faceserver_worker_memory_bytes',
      help: "each worker thread's V8 heap (used, total), external and ArrayBuffer memory, as of its last job; its native memory is in the process's resident set",
      labelNames: ['pool', 'worker', 'kind'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [pool, source] of Object.entries(workerPools)) {
          source.memory().forEach((memory, worker) => {
            for (const [kind, field] of Object.entries(WORKER_MEMORY_KINDS)) this.set({ pool, worker: String(worker), kind }, memory[field]);
          });
        }
      },
    });
    // Read from SQLite on each scrape: always current, and nothing to keep in step on writes.
    new Gauge({
      name: 'faceserver_gallery_subjects',
      help: 'enrolled subjects per partition',
      labelNames: ['partition'],
      registers: [this.registry],
      async collect() {
        const counts = await gallery.subjectCounts();
        this.reset();
        for (const [partition, count] of Object.entries(counts)) this.set({ partition }, count);
      },
    });
    new Gauge({
      name: 'faceserver_gallery_templates',
      help: 'stored templates per partition',
      labelNames: ['partition'],
      registers: [this.registry],
      async collect() {
        const partitions = await gallery.partitions();
        const counts = await Promise.all(partitions.map((partition) => gallery.templateCounts(partition)));
        this.reset();
        partitions.forEach((partition, i) => this.set({ partition }, counts[i].sqlite));
      },
    });
  }

  /**
   * Counts and times every request by its route template (not the raw path: bounded label values),
   * resolved up front because a request refused before routing (401, 415) never reaches a router.
   * Sits inside the error handler, so it sees the error code that decides the status.
   */
  middleware(routers: readonly Router[]): Middleware {
    return async (ctx, next) => {
      const stopTimer = this.duration.startTimer();
      const layer = routers.flatMap((router) => router.match(ctx.path, ctx.method).path)[0];
      const route = layer ? String(layer.path) : 'unmatched';
      let status = 500;
      try {
        await next();
        status = ctx.status;
      } catch (error) {
        const code = error instanceof ApiError ? error.code : 'internal_error';
        status = error instanceof ApiError ? error.status : 500;
        this.errors.inc({ route, code });
        throw error;
      } finally {
        const labels = { route, method: ctx.method, status: String(status) };
        this.requests.inc(labels);
        stopTimer(labels);
      }
    };
  }

  /** A processor that reports stage timings and rejections of the one it wraps. */
  meter(faces: FaceProcessor): FaceProcessor {
    return {
      modelId: faces.modelId,
      assertCanAccept: () => faces.assertCanAccept(),
      process: async (image: Uint8Array, purpose: PipelinePurpose): Promise<PipelineResult> => {
        try {
          const result = await faces.process(image, purpose);
          for (const [stage, ms] of Object.entries(result.timings)) this.stages.observe({ stage, purpose }, ms / 1000);
          return result;
        } catch (error) {
          if (error instanceof ApiError) this.rejections.inc({ code: error.code, purpose });
          throw error;
        }
      },
    };
  }

  /** A measurer that reports the photo checks' stage timings (purpose "photo_check") and failures. */
  meterPhotoChecks(measurer: PhotoMeasurer): PhotoMeasurer {
    const purpose = 'photo_check';
    return {
      assertCanAccept: () => measurer.assertCanAccept(),
      measurePhoto: async (image) => {
        try {
          const measured = await measurer.measurePhoto(image);
          for (const [stage, ms] of Object.entries(measured.timings)) this.stages.observe({ stage, purpose }, ms / 1000);
          return measured;
        } catch (error) {
          if (error instanceof ApiError) this.rejections.inc({ code: error.code, purpose });
          throw error;
        }
      },
    };
  }

  /** Counts a photo check's verdict and each issue it reported. */
  recordVerdict(verdict: ComplianceVerdict): void {
    this.photoChecks.inc({ profile: verdict.profile, compliant: String(verdict.compliant) });
    for (const issue of verdict.issues) this.photoIssues.inc({ profile: verdict.profile, issue });
  }

  /** Counts one completed step of a claim (refusals are counted by route and code in faceserver_http_errors_total). */
  recordClaim(event: ClaimEvent): void {
    if (event.kind === 'token_issued') this.claimTokens.inc({ purpose: event.purpose });
    else if (event.kind === 'enrolled') this.claimEnrolments.inc({ source: event.source });
    else if (event.kind === 'verify_outcome') this.claimCaptures.inc({ result: event.outcome.passed ? 'passed' : (event.outcome.failureReason ?? 'failed') });
    else this.claimValidations.inc({ passed: String(event.passed) });
  }

  router(): Router {
    const router = new Router();
    router.get(METRICS_PATH, async (ctx) => {
      const visible = visiblePartitions(ctx);
      ctx.type = this.registry.contentType;
      ctx.body = (await this.registry.metrics())
        .split('\n')
        .filter((line) => {
          const partition = PARTITION_LABEL.exec(line)?.[1];
          return partition === undefined || visible(partition);
        })
        .join('\n');
    });
    return router;
  }
}
