import Database from 'better-sqlite3';
import type { Template } from '../pipeline/types.ts';
import type { TemplateRecord } from './gallery.ts';

// AUTOINCREMENT so a template id is never reused: FAISS positions are kept in template-id order,
// and a reused id could sort before templates that are already indexed.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS partitions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    generation INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );
  CREATE TABLE IF NOT EXISTS subjects (
    id INTEGER PRIMARY KEY,
    partition_id INTEGER NOT NULL REFERENCES partitions (id),
    subject_id TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (partition_id, subject_id)
  );
  CREATE TABLE IF NOT EXISTS templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_ref INTEGER NOT NULL REFERENCES subjects (id),
    vector BLOB NOT NULL,
    model_id TEXT NOT NULL,
    quality REAL NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );
  CREATE INDEX IF NOT EXISTS templates_by_subject ON templates (subject_ref);
`;

const PARTITION_TEMPLATES = `
  FROM templates t
  JOIN subjects s ON s.id = t.subject_ref
  WHERE s.partition_id = (SELECT id FROM partitions WHERE name = ?)`;

/** Where one template sits: the unit the FAISS position mapping is made of. */
export interface TemplateRef {
  templateId: number;
  subjectId: string;
}

export interface IndexedTemplate extends TemplateRef {
  vector: Template;
}

export interface PartitionState {
  name: string;
  generation: number;
  templateCount: number;
}

/** Each committed write reports the partition's generation after it. */
export interface InsertedTemplate {
  templateId: number;
  generation: number;
}

export interface DeletedSubject {
  templateIds: number[];
  generation: number;
}

/** All SQL of the gallery. SQLite is the source of truth; FAISS indexes are derived from it. */
export class GalleryRepository {
  private readonly db: Database.Database;
  private readonly statements: Statements;

  constructor(
    path: string,
    private readonly dimension: number,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL syncs the WAL on every commit: an enrol that returned survives power loss, not just a process kill.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.statements = prepareStatements(this.db);
  }

  /** Inserts one template, creating partition and subject as needed, and bumps the generation. */
  insertTemplate(partition: string, subjectId: string, record: TemplateRecord): InsertedTemplate {
    return this.db.transaction(() => {
      this.statements.insertPartition.run(partition);
      const partitionId = this.statements.partitionId.get(partition)!.id;
      this.statements.insertSubject.run(partitionId, subjectId);
      const subjectRef = this.statements.subjectRef.get(partitionId, subjectId)!.id;
      const { lastInsertRowid } = this.statements.insertTemplate.run(
        subjectRef,
        encodeVector(record.template),
        record.modelId,
        record.quality,
        record.source,
      );
      return { templateId: Number(lastInsertRowid), generation: this.bumpGeneration(partitionId) };
    })();
  }

  /** Deletes a subject with its templates; undefined when there was no such subject. */
  deleteSubject(partition: string, subjectId: string): DeletedSubject | undefined {
    return this.db.transaction(() => {
      const partitionId = this.statements.partitionId.get(partition)?.id;
      if (partitionId === undefined) return undefined;
      const subjectRef = this.statements.subjectRef.get(partitionId, subjectId)?.id;
      if (subjectRef === undefined) return undefined;
      const templateIds = this.statements.subjectTemplateIds.all(subjectRef).map((row) => row.id);
      this.statements.deleteTemplates.run(subjectRef);
      this.statements.deleteSubject.run(subjectRef);
      return { templateIds, generation: this.bumpGeneration(partitionId) };
    })();
  }

  subjectTemplates(partition: string, subjectId: string): Template[] {
    return this.statements.subjectVectors.all(partition, subjectId).map((row) => this.decodeVector(row.vector));
  }

  hasPartition(partition: string): boolean {
    return this.statements.partitionId.get(partition) !== undefined;
  }

  partitionNames(): string[] {
    return this.statements.partitionNames.all().map((row) => row.name);
  }

  templateCount(partition: string): number {
    return this.statements.templateCount.get(partition)!.count;
  }

  partitionStates(): PartitionState[] {
    return this.statements.partitionStates.all();
  }

  subjectCounts(): Record<string, number> {
    return Object.fromEntries(this.statements.subjectCounts.all().map((row) => [row.name, row.count]));
  }

  /** Partition templates in template-id order, without vectors: enough to map a loaded index. */
  templateRefs(partition: string): TemplateRef[] {
    return this.statements.templateRefs.all(partition);
  }

  /** Partition templates in template-id order, with vectors, one at a time: for rebuilding an index. */
  *indexedTemplates(partition: string): Generator<IndexedTemplate> {
    for (const row of this.statements.indexedTemplates.iterate(partition)) {
      yield { templateId: row.templateId, subjectId: row.subjectId, vector: this.decodeVector(row.vector) };
    }
  }

  close(): void {
    this.db.close();
  }

  private bumpGeneration(partitionId: number): number {
    return this.statements.bumpGeneration.get(partitionId)!.generation;
  }

  private decodeVector(blob: Buffer): Template {
    if (blob.byteLength !== this.dimension * Float32Array.BYTES_PER_ELEMENT) {
      throw new Error(`stored template has ${blob.byteLength} bytes, expected ${this.dimension} float32 values`);
    }
    // Copy into a fresh buffer: a Buffer's byteOffset need not be float-aligned.
    return new Float32Array(Uint8Array.from(blob).buffer);
  }
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: Database.Database) {
  return {
    insertPartition: db.prepare<[string]>('INSERT INTO partitions (name) VALUES (?) ON CONFLICT (name) DO NOTHING'),
    partitionId: db.prepare<[string], { id: number }>('SELECT id FROM partitions WHERE name = ?'),
    bumpGeneration: db.prepare<[number], { generation: number }>(
      'UPDATE partitions SET generation = generation + 1 WHERE id = ? RETURNING generation',
    ),
    insertSubject: db.prepare<[number, string]>(
      'INSERT INTO subjects (partition_id, subject_id) VALUES (?, ?) ON CONFLICT (partition_id, subject_id) DO NOTHING',
    ),
    subjectRef: db.prepare<[number, string], { id: number }>(
      'SELECT id FROM subjects WHERE partition_id = ? AND subject_id = ?',
    ),
    insertTemplate: db.prepare<[number, Buffer, string, number, string]>(
      'INSERT INTO templates (subject_ref, vector, model_id, quality, source) VALUES (?, ?, ?, ?, ?)',
    ),
    subjectTemplateIds: db.prepare<[number], { id: number }>(
      'SELECT id FROM templates WHERE subject_ref = ? ORDER BY id',
    ),
    deleteTemplates: db.prepare<[number]>('DELETE FROM templates WHERE subject_ref = ?'),
    deleteSubject: db.prepare<[number]>('DELETE FROM subjects WHERE id = ?'),
    subjectVectors: db.prepare<[string, string], { vector: Buffer }>(`
      SELECT t.vector FROM templates t
      JOIN subjects s ON s.id = t.subject_ref
      JOIN partitions p ON p.id = s.partition_id
      WHERE p.name = ? AND s.subject_id = ?
      ORDER BY t.id`),
    partitionNames: db.prepare<[], { name: string }>('SELECT name FROM partitions ORDER BY name'),
    partitionStates: db.prepare<[], PartitionState>(`
      SELECT p.name, p.generation, COUNT(t.id) AS templateCount FROM partitions p
      LEFT JOIN subjects s ON s.partition_id = p.id
      LEFT JOIN templates t ON t.subject_ref = s.id
      GROUP BY p.id ORDER BY p.name`),
    subjectCounts: db.prepare<[], { name: string; count: number }>(`
      SELECT p.name, COUNT(s.id) AS count FROM partitions p
      LEFT JOIN subjects s ON s.partition_id = p.id
      GROUP BY p.id ORDER BY p.name`),
    templateCount: db.prepare<[string], { count: number }>(`SELECT COUNT(*) AS count ${PARTITION_TEMPLATES}`),
    templateRefs: db.prepare<[string], TemplateRef>(
      `SELECT t.id AS templateId, s.subject_id AS subjectId ${PARTITION_TEMPLATES} ORDER BY t.id`,
    ),
    indexedTemplates: db.prepare<[string], TemplateRef & { vector: Buffer }>(
      `SELECT t.id AS templateId, s.subject_id AS subjectId, t.vector ${PARTITION_TEMPLATES} ORDER BY t.id`,
    ),
  };
}

function encodeVector(vector: Template): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
