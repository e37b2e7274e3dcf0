import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { ApiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { toXml } from './xml.ts';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
  }
}

/** Gives each request an id (the caller's X-Request-Id when it is sane) and logs its outcome. */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const offered = ctx.get('X-Request-Id');
    const requestId = REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ request_id: requestId });
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      // the route template, not the path: paths carry subject ids and job ids, which are personal data
      const route = (ctx as { _matchedRoute?: string })._matchedRoute;
      const fields = { method: ctx.method, ...(route ? { route } : { path: ctx.path }), status: ctx.status, ms: Math.round(performance.now() - started) };
      // 503 is load shed or shutdown, the server working as designed: a warning, not an error per request
      if (ctx.status === 503) ctx.state.log.warn(fields, 'request refused: busy or shutting down');
      else if (ctx.status >= 500) ctx.state.log.error(fields, 'request failed');
      else ctx.state.log.info(fields, 'request');
    }
  };
}

/**
 * Turns every failure into the documented error shape: XML on the paths of `xmlRouter` (the biometric
 * endpoints, whose clients parse XML), JSON elsewhere. The path is matched as the router matches it,
 * ignoring case and a trailing slash, so every spelling that reaches an endpoint gets its format.
 * Unexpected errors are logged and reported without internals.
 */
export function errorResponses(xmlRouter: Router): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('internal_error', 'internal error; the request id identifies it in the server log');
      if (!(error instanceof ApiError)) ctx.state.log.error({ err: error }, 'unhandled error');
      respondWithError(ctx, apiError, xmlRouter.match(ctx.path, ctx.method).path.length > 0);
    }
  };
}

function respondWithError(ctx: Context, error: ApiError, asXml: boolean): void {
  ctx.status = error.status;
  if (error.code === 'service_unavailable' || error.code === 'request_timeout') ctx.set('Retry-After', '1');
  const body = { status: error.status, code: error.code, message: error.message, request_id: ctx.state.requestId, ...error.details };
  if (asXml) {
    ctx.type = 'application/xml';
    ctx.body = toXml('ErrorResponse', body);
  } else {
    ctx.body = body;
  }
}

/** Unmatched requests: 405 with Allow when the path exists under another method, else 404. */
export function notFound(routers: Router[]): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.body !== undefined || ctx.status !== 404) return;
    const allowed = routers.flatMap((router) => router.match(ctx.path, ctx.method).path.flatMap((layer) => layer.methods));
    if (allowed.length > 0) {
      ctx.set('Allow', [...new Set(allowed)].join(', '));
      throw new ApiError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
    }
    throw new ApiError('not_found', `no such endpoint: ${ctx.method} ${ctx.path}`);
  };
}

/**
 * Answers when a request outlives the limit; the work behind it finishes on its own. A client that
 * has not finished sending its body by then gets 408 upload_timeout (its fault, and retrying at once
 * will not help); a request the server was still working on gets 503 request_timeout.
 */
export function requestTimeout(limit: number | ((ctx: Context) => number)): Middleware {
  return async (ctx, next) => {
    const ms = typeof limit === 'number' ? limit : limit(ctx);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (!ctx.req.complete) reject(new ApiError('upload_timeout', `the request body did not arrive within ${ms} ms`));
        else reject(new ApiError('request_timeout', `request took longer than ${ms} ms`));
      }, ms);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
