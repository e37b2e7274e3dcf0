import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { quietLogger } from './quiet-logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { contract } from './contract.ts';

export interface TestServer extends RunningServer {
  dataDir: string;
  config: Config;
  stop(): Promise<void>;
}

/** A real server on a free loopback port with its own data directory. */
export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faceserver-test-'));
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir, indexFlushDelayMs: 50, ...overrides });
  const running = await startServer(config, quietLogger);
  return {
    ...running,
    dataDir,
    config,
    stop: async () => {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BiometricRequest {
  image?: Buffer;
  imageName?: string;
  imageType?: string;
  metadata?: unknown;
  /** enrol's and /api/v1/mad's optional reference_image part */
  referenceImage?: Buffer;
}

export async function postMultipart(baseUrl: string, path: string, request: BiometricRequest, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  if (request.image) form.append('image', new Blob([new Uint8Array(request.image)], { type: request.imageType ?? 'image/jpeg' }), request.imageName ?? 'image.jpg');
  if (request.referenceImage) form.append('reference_image', new Blob([new Uint8Array(request.referenceImage)], { type: 'image/jpeg' }), 'reference.jpg');
  if (request.metadata !== undefined) form.append('metadata', typeof request.metadata === 'string' ? request.metadata : JSON.stringify(request.metadata));
  return fetch(`${baseUrl}${path}`, { method: 'POST', body: form, headers });
}

export async function postJson(baseUrl: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

// Values stay strings so tests check exactly what was sent on the wire.
const xmlParser = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'candidate' });

export interface XmlReply {
  status: number;
  root: string;
  /** element names directly under the root, in document order */
  elements: string[];
  body: Record<string, any>;
}

export async function readXml(response: Response): Promise<XmlReply> {
  const text = await response.text();
  const parsed = xmlParser.parse(text) as Record<string, any>;
  const root = Object.keys(parsed).find((key) => key !== '?xml');
  if (!root) throw new Error(`not an XML document: ${text.slice(0, 200)}`);
  const inner = text.slice(text.indexOf(`<${root}>`) + root.length + 2, text.lastIndexOf(`</${root}>`));
  const elements: string[] = [];
  let depth = 0;
  for (const match of inner.matchAll(/<(\/?)([A-Za-z_][\w-]*)[^>]*?(\/?)>/g)) {
    if (match[1]) depth--;
    else {
      if (depth === 0) elements.push(match[2]);
      if (!match[3]) depth++;
    }
  }
  const body = parsed[root] ?? {};
  // Every XML answer a test reads is also checked against the OpenAPI document.
  if (response.url) contract().check(new URL(response.url).pathname, response.status, 'application/xml', body);
  return { status: response.status, root, elements, body };
}
