import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { recordingLogger, WARN } from '../../test/helpers/gallery-support.ts';
import { errorResponses, requestContext } from './middleware.ts';

const ERROR = 50;

async function logLevelOf(failure: Error): Promise<number> {
  const { logger, entries } = recordingLogger();
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(logger));
  app.use(errorResponses(new Router()));
  app.use(() => {
    throw failure;
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.close();
  }
  return entries.find((entry) => entry.msg.startsWith('request'))!.level;
}

describe('requestContext', () => {
  it('logs load shedding (503) as a warning and real failures (500) as errors', async () => {
    expect(await logLevelOf(new ApiError('service_unavailable', 'busy'))).toBe(WARN);
    expect(await logLevelOf(new Error('bug'))).toBe(ERROR);
  });

  it('logs the route template, not the path: paths carry subject ids', async () => {
    const { logger, entries } = recordingLogger();
    const app = new Koa();
    const router = new Router();
    router.get('/api/v1/subjects/:partition/:subject_id', (ctx) => {
      ctx.body = {};
    });
    app.use(requestContext(logger));
    app.use(router.routes());
    const server = createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/subjects/border/alice.smith@example.org`);
    } finally {
      server.close();
    }
    const line = JSON.stringify(entries.find((entry) => entry.msg === 'request'));
    expect(line).toContain('/api/v1/subjects/:partition/:subject_id');
    expect(line).not.toContain('alice');
  });
});
