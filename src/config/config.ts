import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { claimsConfigSchema } from '../claims/config.ts';
import { documentsConfigSchema } from '../documents/config.ts';
import { photoConfigSchema } from '../photo/config.ts';
import { pipelineConfigSchema } from '../pipeline/config.ts';
import { searchConfigSchema } from '../gallery/search/search-config.ts';
import { policyConfigSchema } from '../services/partition-policy.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    dataDir: z.string().min(1).default('data'),
    modelsDir: z.string().min(1).default('models'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    limits: z
      .object({
        /** largest accepted image upload */
        maxImageBytes: z.number().int().min(1024).default(10 * 1024 * 1024),
        /** largest accepted JSON body / metadata part */
        maxJsonBytes: z.number().int().min(256).default(64 * 1024),
        requestTimeoutMs: z.number().int().min(100).default(30_000),
        /** partitions the gallery may hold; an enrolment that would create one more is refused with 409 */
        maxPartitions: z.number().int().min(1).default(1000),
      })
      .strict()
      .prefault({}),
    matching: z
      .object({
        /** contract default for `threshold` on search and verify */
        defaultThreshold: z.number().min(0).max(1).default(0.45),
        defaultTopK: z.number().int().min(1).default(5),
        maxTopK: z.number().int().min(1).default(100),
      })
      .strict()
      .default({ defaultThreshold: 0.45, defaultTopK: 5, maxTopK: 100 }),
    /** enrolment from trusted document photos: tokens and image requirements (POST /api/v1/claim/...) */
    claims: claimsConfigSchema.prefault({}),
    /** the ID-document cropper (POST /api/v1/id_cropper/register) */
    documents: documentsConfigSchema.prefault({}),
    /** passport / ID photos: photo worker, job retention */
    photo: photoConfigSchema.prefault({}),
    /**
     * The gallery in PostgreSQL + pgvector instead of SQLite and the search workers' index files under
     * dataDir, for several API nodes over one database (src/gallery/postgres/). Unset: the embedded store.
     */
    database: z
      .object({
        /** the primary (DATABASE_URL): every write, and the reads that must see them */
        url: z.string().min(1),
        /** a hot standby for searches and template reads (DATABASE_READ_URL); the primary when unset */
        readUrl: z.string().min(1).optional(),
        /**
         * A partition gets an HNSW index once it holds more templates than this; unset, search stays exact.
         * Off by default: at 100k templates HNSW found the mate first for 92 % (ef_search 400) of the probes
         * exact search did (benchmarks/results/postgres-search-100k*.json, README "Scaling out").
         */
        approximateAbove: z.number().int().min(0).optional(),
        /** HNSW candidate list per search (hnsw.ef_search): higher is closer to exact and slower */
        efSearch: z.number().int().min(1).max(1000).default(400),
        /** connections per pool (primary, and standby) of this node */
        poolSize: z.number().int().min(1).default(10),
      })
      .strict()
      .optional(),
    /** milliseconds after the last gallery write before changed search indexes are saved */
    indexFlushDelayMs: z.number().int().min(0).default(2000),
    /** 1:N search: worker threads, and when a partition is searched approximately (src/gallery/search/search-config.ts) */
    search: searchConfigSchema.prefault({}),
    pipeline: pipelineConfigSchema.default(pipelineConfigSchema.parse({})),
    /** per-partition threshold floor, multi-face and duplicate-identity rules (src/services/partition-policy.ts) */
    policy: policyConfigSchema.prefault({}),
    auth: z
      .object({
        /** unset: keys are required unless the server listens on loopback only (see src/security/auth-policy.ts) */
        required: z.boolean({ error: 'auth.required (AUTH_REQUIRED) must be true or false' }).optional(),
        /** GET /api/v1/health answers without a key, for load balancers and orchestrators */
        publicHealth: z.boolean().default(true),
      })
      .strict()
      .default({ publicHealth: true }),
    encryption: z
      .object({
        /** base64 of 32 random bytes; wins over templateKeyFile */
        templateKey: z
          .string()
          .refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32, 'templateKey (TEMPLATE_KEY) must be base64 of exactly 32 bytes')
          .optional(),
        /** file holding the base64 key; neither set: <dataDir>/template.key, generated on first start */
        templateKeyFile: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const ENV_OVERRIDES: Record<string, (config: Record<string, unknown>, value: string) => void> = {
  HOST: (c, v) => (c.host = v),
  PORT: (c, v) => (c.port = Number(v)),
  DATA_DIR: (c, v) => (c.dataDir = v),
  PHOTO_JOB_TTL_SECONDS: (c, v) => (c.photo = { ...(c.photo as object), jobTtlSeconds: Number(v) }),
  MODELS_DIR: (c, v) => (c.modelsDir = v),
  LOG_LEVEL: (c, v) => (c.logLevel = v),
  PIPELINE_WORKERS: (c, v) => (c.pipeline = { ...(c.pipeline as object), workers: Number(v) }),
  INTRA_OP_THREADS: (c, v) => (c.pipeline = { ...(c.pipeline as object), intraOpThreads: Number(v) }),
  AUTH_REQUIRED: (c, v) => (c.auth = { ...(c.auth as object), required: v === 'true' ? true : v === 'false' ? false : v }),
  TEMPLATE_KEY: (c, v) => (c.encryption = { ...(c.encryption as object), templateKey: v }),
  TEMPLATE_KEY_FILE: (c, v) => (c.encryption = { ...(c.encryption as object), templateKeyFile: v }),
  DATABASE_URL: (c, v) => (c.database = { ...(c.database as object), url: v }),
  DATABASE_READ_URL: (c, v) => (c.database = { ...(c.database as object), readUrl: v }),
};

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('top level must be an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads `CONFIG_FILE` (default config/default.json), applies environment overrides, validates.
 * Relative directories are resolved against the project root so the server runs from any cwd.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Record<string, unknown> = {}): Config {
  const file = env.CONFIG_FILE ?? resolve(PROJECT_ROOT, 'config', 'default.json');
  const raw = { ...readConfigFile(file), ...overrides };
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== '') apply(raw, value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new ConfigError(`invalid configuration (${file} + environment):\n${problems}`);
  }
  const config = result.data;
  const absolute = (dir: string) => (isAbsolute(dir) ? dir : resolve(PROJECT_ROOT, dir));
  const keyFile = config.encryption.templateKeyFile;
  return {
    ...config,
    dataDir: absolute(config.dataDir),
    modelsDir: absolute(config.modelsDir),
    encryption: { ...config.encryption, ...(keyFile === undefined ? {} : { templateKeyFile: absolute(keyFile) }) },
  };
}
