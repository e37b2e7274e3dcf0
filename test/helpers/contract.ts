import { loadProfiles } from '../../src/compliance/profiles.ts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { openApiDocument } from '../../src/http/openapi.ts';

type Schema = Record<string, any>;
export type OpenApiDocument = ReturnType<typeof openApiDocument>;

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/**
 * Checks real responses against the OpenAPI document. XML bodies arrive parsed with every value a
 * string; the validator coerces them to the documented types and reads wrapped arrays
 * (<candidates><candidate/>…</candidates>) the way the document's `xml` hints describe them.
 */
export class Contract {
  private readonly ajv = new Ajv2020({ strict: false, coerceTypes: true, allErrors: true });

  constructor(readonly document: OpenApiDocument) {
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'contract', components: document.components });
  }

  /** The schema for one response, or undefined when the document does not describe that path. */
  responseSchema(path: string, status: number, mediaType: string): Schema | undefined {
    const paths = this.document.paths as Record<string, Record<string, Schema>>;
    // a templated path (/api/v1/subjects/{partition}) matches one segment per parameter
    const template = (name: string) => new RegExp(`^${name.replace(/\{[^/}]+\}/g, '[^/]+')}$`);
    const operations = paths[path] ?? Object.entries(paths).find(([name]) => name.includes('{') && template(name).test(path))?.[1];
    if (!operations) return undefined;
    // 405 answers are documented under the methods the path has, not the one that was refused.
    for (const operation of Object.values(operations)) {
      const content = operation.responses[String(status)]?.content;
      if (content) {
        expect(Object.keys(content), `${path} ${status}: media type`).toContain(mediaType);
        return content[mediaType].schema;
      }
    }
    throw new Error(`the document has no ${status} response for ${path}`);
  }

  /** Asserts `body` fits the documented response; returns false when the path is not documented. */
  check(path: string, status: number, mediaType: string, body: unknown): boolean {
    const schema = this.responseSchema(path, status, mediaType);
    if (!schema) return false;
    const resolved = this.resolve(schema);
    const value = mediaType === 'application/xml' ? this.fromXml(structuredClone(body), resolved) : structuredClone(body);
    const validate = this.ajv.compile({ $ref: `contract${schema.$ref}` });
    expect(validate(value), `${path} ${status} against ${schema.$ref}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body)}`).toBe(true);
    return true;
  }

  private resolve(schema: Schema): Schema {
    if (!schema.$ref) return schema;
    const name = String(schema.$ref).split('/').at(-1)!;
    return this.resolve((this.document.components.schemas as Record<string, Schema>)[name]);
  }

  private fromXml(value: any, schema: Schema): unknown {
    if (schema.type === 'array' && schema.xml?.wrapped) {
      const itemSchema = this.resolve(schema.items);
      const items = value === '' || value === undefined ? [] : value[itemSchema.xml?.name ?? 'item'];
      return (Array.isArray(items) ? items : [items]).map((item) => this.fromXml(item, itemSchema));
    }
    if (schema.type === 'object' && schema.properties && value && typeof value === 'object') {
      for (const [name, property] of Object.entries(schema.properties as Record<string, Schema>)) {
        if (name in value) value[name] = this.fromXml(value[name], this.resolve(property));
      }
    }
    return value;
  }
}

let shared: Contract | undefined;

/** The document as a server with the default configuration serves it. */
export function contract(): Contract {
  return (shared ??= new Contract(openApiDocument(loadConfig({}, {}), loadProfiles())));
}
