import type { Context } from 'koa';
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { readJsonBody } from './body.ts';
import { decodeJsonText } from './metadata.ts';

// JSON request bodies of the endpoints that take one (ID cropper, passport photos): read within a limit,
// decoded strictly, validated once with zod; the first problem is the 400's message.

export async function parseJsonRequest<S extends z.ZodType>(ctx: Context, schema: S, limit: number): Promise<z.infer<S>> {
  const text = decodeJsonText(await readJsonBody(ctx, limit), 'request body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('bad_request', 'the request body must be a JSON object');
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    throw new ApiError('bad_request', message, issue.path.length ? { field: issue.path.join('.') } : {});
  }
  return result.data;
}

/** standard or URL-safe alphabet, padding optional; white space (line-wrapped base64) is dropped first */
const BASE64 = /^(?:[A-Za-z0-9+/]|[A-Za-z0-9_-])*={0,2}$/;
const DATA_URL_PREFIX = /^data:[\w/+.-]*;base64,/;

/** a base64 (or data: URL) image field → bytes; anything that is not base64 is 415 */
export function base64Image(value: string, field: string): Buffer {
  const base64 = value.replace(DATA_URL_PREFIX, '').replace(/\s+/g, '');
  if (!BASE64.test(base64) || base64.replace(/=+$/, '').length % 4 === 1) {
    throw new ApiError('unsupported_media_type', `${field} is not base64: send the photo file base64-encoded`);
  }
  return Buffer.from(base64, base64.includes('-') || base64.includes('_') ? 'base64url' : 'base64');
}
