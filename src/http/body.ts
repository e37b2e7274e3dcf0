import { Writable } from 'node:stream';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { ApiError } from '../errors.ts';

export interface BodyLimits {
  maxImageBytes: number;
  maxJsonBytes: number;
}

/** A multipart request's parts as bytes, held in memory: images are small and never touch the disk. */
export interface MultipartParts {
  files: Map<string, Buffer[]>;
  fields: Map<string, Buffer[]>;
}

// formidable's internal error numbers (formidable/src/FormidableError.js) that mean "too large", "too many"
// and "not multipart as declared". Their messages name formidable's options, so clients get ours instead.
const FORMIDABLE_TOO_LARGE = new Set([1006, 1009, 1016]);
const FORMIDABLE_TOO_MANY = new Set([1007, 1015]);
const FORMIDABLE_NO_BOUNDARY = 1013;
const FORMIDABLE_TRANSFER_ENCODING = 1014;

function toApiError(error: unknown, limits: BodyLimits): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { code?: number; message?: string };
  if (typeof e.code === 'number' && FORMIDABLE_TOO_LARGE.has(e.code)) {
    return new ApiError('payload_too_large', `upload exceeds the limit (${limits.maxImageBytes} bytes per image, ${limits.maxJsonBytes} bytes of metadata)`);
  }
  if (typeof e.code === 'number' && FORMIDABLE_TOO_MANY.has(e.code)) {
    return new ApiError('bad_request', 'too many parts in the multipart body: send one image part and one metadata part');
  }
  if (e.code === FORMIDABLE_NO_BOUNDARY) return new ApiError('bad_request', 'the multipart Content-Type has no boundary parameter');
  if (e.code === FORMIDABLE_TRANSFER_ENCODING) return new ApiError('bad_request', 'a multipart part declares a Content-Transfer-Encoding other than binary or base64');
  return new ApiError('bad_request', 'malformed multipart body: it ended early or its parts are not delimited by the declared boundary');
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

/** Parses a multipart body, images in memory; every parser failure becomes an ApiError. */
export function multipartParser(limits: BodyLimits): Middleware {
  const parse = koaBody({
    multipart: true,
    json: false,
    urlencoded: false,
    text: false,
    formidable: {
      // Text fields are kept as bytes (one latin1 character per byte): formidable's own UTF-8 decoding
      // would turn invalid bytes into U+FFFD, so "José" and "Josè" sent as Latin-1 would both become
      // "Jos\uFFFD" and name the same subject. multipartParts() hands out the bytes; callers decode strictly.
      encoding: 'binary',
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
  const fields = new Map<string, Buffer[]>();
  const body = (ctx.request.body ?? {}) as Record<string, string | string[]>;
  for (const [name, value] of Object.entries(body)) fields.set(name, asList(value).map((text) => Buffer.from(String(text), 'latin1')));
  return { files, fields };
}

/**
 * The raw bytes of a JSON request body, at most `limit` of them. Read here rather than by a JSON
 * parser so the text is decoded once, strictly (see decodeJsonText), like a metadata part.
 */
export async function readJsonBody(ctx: Context, limit: number): Promise<Buffer> {
  const encoding = (ctx.get('Content-Encoding') || 'identity').toLowerCase();
  if (encoding !== 'identity') throw new ApiError('unsupported_media_type', `Content-Encoding ${encoding} is not accepted: send the JSON uncompressed`);
  const tooLarge = () => new ApiError('payload_too_large', `JSON body exceeds ${limit} bytes`);
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
