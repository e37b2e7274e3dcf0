import { Writable } from 'node:stream';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { ApiError } from '../errors.ts';

export interface BodyLimits {
  maxImageBytes: number;
  maxJsonBytes: number;
}

/** A multipart request's parts, held in memory: images are small and never touch the disk. */
export interface MultipartParts {
  files: Map<string, Buffer[]>;
  fields: Map<string, string[]>;
}

// formidable's internal error numbers (formidable/src/FormidableError.js) that mean "too large".
const FORMIDABLE_TOO_LARGE = new Set([1006, 1009, 1016]);
const FORMIDABLE_TOO_MANY = new Set([1007, 1015]);

function toApiError(error: unknown, limits: BodyLimits): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { code?: number; type?: string; status?: number; message?: string };
  if (typeof e.code === 'number' && FORMIDABLE_TOO_LARGE.has(e.code)) {
    return new ApiError('payload_too_large', `upload exceeds the limit (${limits.maxImageBytes} bytes per image, ${limits.maxJsonBytes} bytes of metadata)`);
  }
  if (typeof e.code === 'number' && FORMIDABLE_TOO_MANY.has(e.code)) {
    return new ApiError('bad_request', 'too many parts in the multipart body: send one image part and one metadata part');
  }
  if (e.type === 'entity.too.large' || e.status === 413) {
    return new ApiError('payload_too_large', `JSON body exceeds ${limits.maxJsonBytes} bytes`);
  }
  // co-body reports unparsable JSON as a plain SyntaxError (with status 400), not a typed error.
  if (error instanceof SyntaxError || e.type === 'entity.parse.failed' || e.type === 'entity.verify.failed') {
    return new ApiError('invalid_metadata', 'request body is not a JSON object');
  }
  return new ApiError('bad_request', `malformed request body: ${e.message ?? 'unreadable'}`);
}

const collectedFiles = new WeakMap<object, Buffer[]>();

function memoryWriteStream(file: object): Writable {
  const chunks: Buffer[] = [];
  collectedFiles.set(file, chunks);
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
}

/** Parses multipart (images in memory) and JSON bodies; every parser failure becomes an ApiError. */
export function bodyParser(limits: BodyLimits): Middleware {
  const parse = koaBody({
    multipart: true,
    json: true,
    urlencoded: false,
    text: false,
    jsonLimit: limits.maxJsonBytes,
    // Strict: a JSON string body would otherwise reach parseMetadata as text and be decoded twice.
    jsonStrict: true,
    formidable: {
      maxFileSize: limits.maxImageBytes,
      maxTotalFileSize: limits.maxImageBytes,
      maxFiles: 4,
      maxFields: 8,
      maxFieldsSize: limits.maxJsonBytes,
      allowEmptyFiles: true,
      minFileSize: 0,
      fileWriteStreamHandler: memoryWriteStream as never,
    },
    onError: (error) => {
      throw toApiError(error, limits);
    },
  });
  return async (ctx, next) => {
    try {
      await parse(ctx, async () => {});
    } catch (error) {
      throw toApiError(error, limits);
    }
    await next();
  };
}

function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function multipartParts(ctx: Context): MultipartParts {
  const files = new Map<string, Buffer[]>();
  for (const [name, entry] of Object.entries(ctx.request.files ?? {})) {
    files.set(name, asList(entry).map((file) => Buffer.concat(collectedFiles.get(file) ?? [])));
  }
  const fields = new Map<string, string[]>();
  const body = (ctx.request.body ?? {}) as Record<string, string | string[]>;
  for (const [name, value] of Object.entries(body)) fields.set(name, asList(value).map(String));
  return { files, fields };
}
