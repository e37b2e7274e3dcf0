import type pg from 'pg';
import type { Logger } from '../../logger.ts';
import type { Template } from '../../pipeline/types.ts';
import type { Gallery, SourcedTemplate, SubjectDetail, SubjectListing, SubjectMatch, TemplateRecord } from '../gallery.ts';
import { assertPartitionName, assertSubjectId } from '../identifiers.ts';
import { connectOrUnavailable, createSchemaOnce, inTransaction, isoText, openPool, queryOrUnavailable, unavailableAsApiError } from '../../postgres/pool.ts';

// Templates carry their partition's id so that each partition can have an HNSW index of its own (a
// partial index): one index over every partition, filtered afterwards, returns too few rows of a small
// partition. PLAIN storage keeps the 2 KiB vectors inline, not TOASTed: exact scans read one page per
// row instead of two.
const SCHEMA = (dimension: number) => `
  CREATE EXTENSION IF NOT EXISTS vector;
  CREATE TABLE IF NOT EXISTS partitions (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS subjects (
    id bigserial PRIMARY KEY,
    partition_id bigint NOT NULL REFERENCES partitions (id),
    subject_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partition_id, subject_id)
  );
  CREATE TABLE IF NOT EXISTS templates (
    id bigserial PRIMARY KEY,
    partition_id bigint NOT NULL REFERENCES partitions (id),
    subject_ref bigint NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    embedding vector(${dimension}) NOT NULL,
    model_id text NOT NULL,
    quality real NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  ALTER TABLE templates ALTER COLUMN embedding SET STORAGE PLAIN;
  CREATE INDEX IF NOT EXISTS templates_by_subject ON templates (subject_ref);
  CREATE INDEX IF NOT EXISTS templates_by_partition ON templates (partition_id);
`;

export interface PostgresGalleryOptions {
  /** the primary: every write, and reads that must see them */
  url: string;
  /** a hot standby for searches and template reads; the primary when absent */
  readUrl?: string;
  dimension: number;
  /** a partition gets its HNSW index when it holds more templates than this; undefined: search stays exact */
  approximateAbove?: number;
  /** HNSW candidate list per search: higher is closer to exact and slower */
  efSearch: number;
  poolSize: number;
  logger: Logger;
}

/** pgvector refuses a larger hnsw.ef_search. */
const HNSW_MAX_EF_SEARCH = 1000;

/** pgvector's text form of a vector. */
const vectorLiteral = (vector: Template) => `[${Array.from(vector).join(',')}]`;

function parseVector(text: string): Template {
  return Float32Array.from(text.slice(1, -1).split(','), Number);
}

/**
 * The gallery in PostgreSQL with pgvector, for several stateless API nodes over one database. Each
 * write is one transaction on the primary, committed (and so durable) before the promise resolves.
 * Templates are stored as vectors, not sealed per row: an index cannot be built over ciphertext.
 */
export class PostgresGallery implements Gallery {
  private readonly primary: pg.Pool;
  private readonly reader: pg.Pool;
  /** partitions known to have their HNSW index, so the check is made once per process */
  private readonly indexed = new Set<string>();

  private constructor(private readonly options: PostgresGalleryOptions) {
    this.primary = openPool(options.url, options.poolSize, options.logger, 'primary');
    this.reader = options.readUrl ? openPool(options.readUrl, options.poolSize, options.logger, 'standby') : this.primary;
  }

  /** Connects and creates the schema when it is missing (several nodes may start at once: it is idempotent). */
  static async open(options: PostgresGalleryOptions): Promise<PostgresGallery> {
    const gallery = new PostgresGallery(options);
    try {
      await createSchemaOnce(gallery.primary, 'faceserver-gallery-schema', SCHEMA(options.dimension));
    } catch (error) {
      await gallery.close();
      throw error;
    }
    return gallery;
  }

  async enrol(partition: string, subjectId: string, record: TemplateRecord): Promise<void> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    this.assertTemplate(record.template);
    await inTransaction(this.primary, async (client) => {
      const partitionId = await this.partitionIdCreating(client, partition);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO subjects (partition_id, subject_id) VALUES ($1, $2)
         ON CONFLICT (partition_id, subject_id) DO UPDATE SET subject_id = EXCLUDED.subject_id RETURNING id`,
        [partitionId, subjectId],
      );
      await client.query('INSERT INTO templates (partition_id, subject_ref, embedding, model_id, quality, source) VALUES ($1, $2, $3, $4, $5, $6)', [
        partitionId,
        rows[0].id,
        vectorLiteral(record.template),
        record.modelId,
        record.quality,
        record.source,
      ]);
    });
    await this.indexWhenLarge(partition);
  }

  async deleteSubject(partition: string, subjectId: string): Promise<boolean> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    // templates go with their subject (ON DELETE CASCADE)
    const { rowCount } = await queryOrUnavailable(this.primary,
      'DELETE FROM subjects WHERE subject_id = $2 AND partition_id = (SELECT id FROM partitions WHERE name = $1)',
      [partition, subjectId],
    );
    return (rowCount ?? 0) > 0;
  }

  async search(partition: string, probe: Template, topK: number, sources?: ReadonlySet<string>): Promise<SubjectMatch[]> {
    assertPartitionName(partition);
    this.assertTemplate(probe);
    if (!Number.isInteger(topK) || topK < 0) throw new Error(`topK must be a non-negative integer, got ${topK}`);
    if (topK === 0) return [];
    const client = await connectOrUnavailable(this.reader);
    try {
      const { rows: found } = await client.query<{ id: string; approximate: boolean }>(
        `SELECT id, EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'templates_hnsw_' || id) AS approximate FROM partitions WHERE name = $1`,
        [partition],
      );
      if (found.length === 0) return [];
      // The partial index is only chosen when the query states its predicate with the same literal; the
      // id is an integer read from the table above, never user text.
      const partitionId = Number(found[0].id);
      const approximate = found[0].approximate;
      const params: unknown[] = [vectorLiteral(probe)];
      if (sources) params.push([...sources]);
      const sourceFilter = sources ? 'AND source = ANY($2)' : '';
      await client.query('BEGIN READ ONLY');
      // a sources filter drops candidates after the walk: keep walking until enough are left
      if (approximate && sources) await client.query("SET LOCAL hnsw.iterative_scan = 'relaxed_order'");
      // The nearest templates first, then their subjects: exact search as a top-N scan (a sort of every row
      // with its vector spills to disk: 5× slower at 100k). Several templates may belong to one subject, so
      // the walk is widened until it leaves topK subjects or has taken every template.
      let rows: Array<{ subject_id: string; similarity: number; walked: string }> = [];
      for (let walk = Math.max(topK * 4, topK + 32); ; walk *= 4) {
        if (approximate) await client.query(`SET LOCAL hnsw.ef_search = ${Math.min(HNSW_MAX_EF_SEARCH, Math.max(this.options.efSearch, walk))}`);
        ({ rows } = await client.query<{ subject_id: string; similarity: number; walked: string }>(
          `WITH nearest AS MATERIALIZED (
             SELECT subject_ref, -(embedding <#> $1) AS similarity FROM templates
             WHERE partition_id = ${partitionId} ${sourceFilter} ORDER BY embedding <#> $1 LIMIT ${walk})
           SELECT s.subject_id, max(n.similarity) AS similarity, (SELECT count(*) FROM nearest) AS walked
           FROM nearest n JOIN subjects s ON s.id = n.subject_ref
           GROUP BY s.subject_id ORDER BY similarity DESC, s.subject_id COLLATE "C" LIMIT ${topK}`,
          params,
        ));
        if (rows.length >= topK || rows.length === 0 || Number(rows[0].walked) < walk) break;
      }
      await client.query('COMMIT');
      return rows.map((row) => ({ subjectId: row.subject_id, similarity: Number(row.similarity) }));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw unavailableAsApiError(error);
    } finally {
      client.release();
    }
  }

  async subjectTemplates(partition: string, subjectId: string, sources?: ReadonlySet<string>): Promise<SourcedTemplate[] | undefined> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    const { rows } = await queryOrUnavailable<{ embedding: string; source: string }>(this.reader,
      `SELECT t.embedding::text AS embedding, t.source FROM templates t JOIN subjects s ON s.id = t.subject_ref
       JOIN partitions p ON p.id = s.partition_id WHERE p.name = $1 AND s.subject_id = $2 ORDER BY t.id`,
      [partition, subjectId],
    );
    const templates = rows.filter((row) => !sources || sources.has(row.source)).map((row) => ({ template: parseVector(row.embedding), source: row.source }));
    return templates.length > 0 ? templates : undefined;
  }

  async subjectDetail(partition: string, subjectId: string): Promise<SubjectDetail | undefined> {
    assertPartitionName(partition);
    assertSubjectId(subjectId);
    const { rows } = await queryOrUnavailable<{ created_at: string; templates: SubjectDetail['templates'] }>(this.primary,
      `SELECT ${isoText('s.created_at')} AS created_at,
              (SELECT coalesce(json_agg(json_build_object('templateId', t.id, 'source', t.source, 'quality', t.quality,
                      'modelId', t.model_id, 'createdAt', ${isoText('t.created_at')}) ORDER BY t.id), '[]')
               FROM templates t WHERE t.subject_ref = s.id) AS templates
       FROM subjects s JOIN partitions p ON p.id = s.partition_id WHERE p.name = $1 AND s.subject_id = $2`,
      [partition, subjectId],
    );
    return rows[0] && { subjectId, createdAt: rows[0].created_at, templates: rows[0].templates };
  }

  async listSubjects(partition: string, offset: number, limit: number): Promise<SubjectListing> {
    assertPartitionName(partition);
    const { rows: counted } = await queryOrUnavailable<{ total: string }>(this.primary,
      'SELECT count(*) AS total FROM subjects s JOIN partitions p ON p.id = s.partition_id WHERE p.name = $1',
      [partition],
    );
    const { rows } = await queryOrUnavailable<{ subject_id: string; created_at: string; template_count: string; sources: string[] }>(this.primary,
      `SELECT s.subject_id, ${isoText('s.created_at')} AS created_at, count(t.id) AS template_count,
              array_agg(DISTINCT t.source ORDER BY t.source) AS sources
       FROM subjects s JOIN partitions p ON p.id = s.partition_id JOIN templates t ON t.subject_ref = s.id
       WHERE p.name = $1 GROUP BY s.id ORDER BY s.subject_id COLLATE "C" LIMIT $2 OFFSET $3`,
      [partition, limit, offset],
    );
    return {
      total: Number(counted[0].total),
      subjects: rows.map((row) => ({ subjectId: row.subject_id, createdAt: row.created_at, templateCount: Number(row.template_count), sources: row.sources })),
    };
  }

  async hasPartition(partition: string): Promise<boolean> {
    assertPartitionName(partition);
    const { rowCount } = await queryOrUnavailable(this.primary, 'SELECT 1 FROM partitions WHERE name = $1', [partition]);
    return (rowCount ?? 0) > 0;
  }

  async partitions(): Promise<string[]> {
    const { rows } = await queryOrUnavailable<{ name: string }>(this.primary, 'SELECT name FROM partitions ORDER BY name COLLATE "C"');
    return rows.map((row) => row.name);
  }

  async templateModelIds(): Promise<string[]> {
    const { rows } = await queryOrUnavailable<{ model_id: string }>(this.primary, 'SELECT DISTINCT model_id FROM templates ORDER BY model_id');
    return rows.map((row) => row.model_id);
  }

  async subjectCounts(): Promise<Record<string, number>> {
    const { rows } = await queryOrUnavailable<{ name: string; count: string }>(this.primary,
      'SELECT p.name, count(s.id) AS count FROM partitions p LEFT JOIN subjects s ON s.partition_id = p.id GROUP BY p.name ORDER BY p.name COLLATE "C"',
    );
    return Object.fromEntries(rows.map((row) => [row.name, Number(row.count)]));
  }

  /** There is no separate index to drift from the table: both counts are the table's. */
  async templateCounts(partition: string): Promise<{ sqlite: number; index: number }> {
    assertPartitionName(partition);
    const { rows } = await queryOrUnavailable<{ count: string }>(this.primary,
      'SELECT count(*) AS count FROM templates WHERE partition_id = (SELECT id FROM partitions WHERE name = $1)',
      [partition],
    );
    const count = Number(rows[0].count);
    return { sqlite: count, index: count };
  }

  /** Healthy while the primary answers (and the standby, when one is configured). */
  async isHealthy(): Promise<boolean> {
    try {
      await queryOrUnavailable(this.primary, 'SELECT 1');
      if (this.reader !== this.primary) await queryOrUnavailable(this.reader, 'SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** Templates in PostgreSQL are not sealed with the template key, so no rotation can outdate this process. */
  async templateKeyCurrent(): Promise<boolean> {
    return true;
  }

  /** Every write is committed before it is acknowledged: nothing is left to flush. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.primary.end();
    if (this.reader !== this.primary) await this.reader.end();
  }

  /**
   * Builds a partition's HNSW index once it outgrows exact search. CONCURRENTLY: writes go on while it is
   * built; an advisory lock keeps two nodes from building the same one.
   */
  private async indexWhenLarge(partition: string): Promise<void> {
    const threshold = this.options.approximateAbove;
    if (threshold === undefined || this.indexed.has(partition)) return;
    const { rows } = await queryOrUnavailable<{ id: string; templates: string; indexed: boolean }>(this.primary,
      `SELECT p.id, (SELECT count(*) FROM templates t WHERE t.partition_id = p.id) AS templates,
              EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'templates_hnsw_' || p.id) AS indexed
       FROM partitions p WHERE p.name = $1`,
      [partition],
    );
    const state = rows[0];
    if (state.indexed) {
      this.indexed.add(partition);
      return;
    }
    if (Number(state.templates) <= threshold) return;
    const client = await connectOrUnavailable(this.primary);
    try {
      const { rows: locked } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [`faceserver-hnsw-${state.id}`]);
      if (!locked[0].locked) return;
      try {
        const id = Number(state.id);
        await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS templates_hnsw_${id} ON templates USING hnsw (embedding vector_ip_ops) WHERE partition_id = ${id}`);
        this.indexed.add(partition);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`faceserver-hnsw-${state.id}`]);
      }
    } finally {
      client.release();
    }
  }

  private async partitionIdCreating(client: pg.PoolClient, partition: string): Promise<string> {
    const { rows } = await client.query<{ id: string }>(
      'INSERT INTO partitions (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id',
      [partition],
    );
    return rows[0].id;
  }

  private assertTemplate(vector: Template): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.options.dimension) {
      throw new Error(`template must be a Float32Array of ${this.options.dimension} values`);
    }
    if (!vector.every(Number.isFinite)) throw new Error('template holds a non-finite value');
  }
}
