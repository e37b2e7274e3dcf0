import Router from '@koa/router';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Context } from 'koa';
import { PROJECT_ROOT } from '../config/config.ts';
import { ApiError } from '../errors.ts';
import type { PhotoSpec } from '../photo/specs/spec-table.ts';

export const CONSOLE_PATHS = { root: '/console', file: '/console/:file' } as const;
export const CONSOLE_DIR = join(PROJECT_ROOT, 'console');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The pages call the API from the same origin and nothing else: no inline script, no other host.
 * Photos the user drops are shown from blob: URLs; nothing is framed.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * What the passport page needs of each photo spec to offer it and draw its bands: generate takes a
 * country code and document type, and the bands are in mm of the frame.
 */
function consoleSpecs(specs: readonly PhotoSpec[]) {
  return specs.map((spec) => ({
    code: spec.code,
    label: spec.documentLabel,
    countryCode: spec.countryCode,
    documentType: spec.documentType,
    widthMm: spec.widthMm,
    heightMm: spec.heightMm,
    headHeightMm: spec.headHeightMm,
    eyeLineFromBottomMm: spec.eyeLineFromBottomMm ?? null,
    background: { default: spec.background.default, editingAllowed: spec.background.editingAllowed },
  }));
}

/**
 * Serves the operator console's static files (console/ in the repository: plain HTML, CSS and ES
 * modules, no build step), and the photo spec list as specs.json. The file list is read once at start,
 * so a path can only name one of them.
 */
export function consoleRouter(specs: readonly PhotoSpec[], dir = CONSOLE_DIR): Router {
  const files = new Map<string, { body: Buffer; type: string }>();
  files.set('specs.json', { body: Buffer.from(JSON.stringify(consoleSpecs(specs))), type: 'application/json; charset=utf-8' });
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  const router = new Router();
  const serve = (name: string) => (ctx: Context) => {
    const file = files.get(name);
    if (!file) throw new ApiError('not_found', `no such console file: ${name}`);
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = file.type;
    ctx.body = file.body;
  };
  router.get(CONSOLE_PATHS.root, (ctx) => {
    // the pages link to their files relatively: /console must become /console/
    if (!ctx.path.endsWith('/')) return ctx.redirect(`${CONSOLE_PATHS.root}/`);
    return serve('index.html')(ctx);
  });
  router.get(CONSOLE_PATHS.file, (ctx) => serve(ctx.params.file)(ctx));
  return router;
}
