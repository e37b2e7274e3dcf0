import Database from 'better-sqlite3';
import { ApiError } from '../errors.ts';
import type { Template } from '../pipeline/types.ts';
import type { TemplateCipher } from '../security/template-cipher.ts';
import type { TemplateRecord } from './gallery.ts';

// AUTOINCREMENT so a template id is never reused: a saved index is checked against, and caught up with,
// SQLite by its template ids, and a reused id would look already indexed.
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
  -- The start-up check of which recognition models made the templates reads this, not the table.
  CREATE INDEX IF NOT EXISTS templates_by_model ON templates (model_id);
  CREATE TABLE IF NOT EXISTS gallery_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Names of gallery_meta rows. */
const META = {
  /** id of the template key every row is sealed with (see TemplateCipher.keyId) */
  templateKeyId: 'template_key_id',
  /** when the last plaintext row left from before encryption was sealed */
  allTemplatesSealed: 'all_templates_sealed_at',
} as const;

/** Rows re-encrypted per query while migrating or rotating: bounds memory, all inside one transaction. */
const RESEAL_BATCH = 1000;

const PARTITION_TEMPLATES = `
  FROM templates t
  JOIN subjects s ON s.id = t.subject_ref
  WHERE s.partition_id = (SELECT id FROM partitions WHERE name = ?)`;

/** One template as a search index holds it, without its vector. */
export interface TemplateRef {
  templateId: number;
  subjectId: string;
  /** where its image came from: lets a search be limited to sources without reading SQLite */
  source: string;
}

export interface IndexedTemplate extends TemplateRef {
  vector: Template;
}

/** A template as an operator sees it: everything but the vector. */
export interface TemplateSummary {
  templateId: number;
  source: string;
  quality: number;
  modelId: string;
  createdAt: string;
}

export interface SubjectSummary {
  subjectId: string;
  createdAt: string;
  templateCount: number;
  /** distinct sources of its templates, sorted */
  sources: string[];
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

/** All SQL of the gallery. SQLite is the source of truth; search indexes are derived from it. */
export class GalleryRepository {
  private readonly db: Database.Database;
  private readonly statements: Statements;

  constructor(
    path: string,
    private readonly dimension: number,
    private cipher: TemplateCipher,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL syncs the WAL on every commit: an enrol that returned survives power loss, not just a process kill.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    // Deleted subjects' templates and replaced ciphertext are zeroed, not left in free pages.
    this.db.pragma('secure_delete = ON');
    this.db.exec(SCHEMA);
    this.statements = prepareStatements(this.db);
    this.db.transaction(() => {
      const stored = this.statements.metaValue.get(META.templateKeyId)?.value;
      if (stored === undefined) this.statements.setMetaValue.run(META.templateKeyId, cipher.keyId);
      else if (stored !== cipher.keyId) {
        throw new Error(`the template key (id ${cipher.keyId}) is not the one the gallery is encrypted with (id ${stored}): set TEMPLATE_KEY or TEMPLATE_KEY_FILE to that key`);
      }
    })();
  }

  /** Inserts one template, creating partition and subject as needed, and bumps the generation. */
  insertTemplate(partition: string, subjectId: string, record: TemplateRecord): InsertedTemplate {
    return this.db.transaction(() => {
      this.statements.insertPartition.run(partition);
      const partitionId = this.statements.partitionId.get(partition)!.id;
      this.statements.insertSubject.run(partitionId, subjectId);
      const subjectRef = this.statements.subjectRef.get(partitionId, subjectId)!.id;
      this.assertKeyCurrent();
      // The row id is part of the ciphertext's AAD, so the row is created first and sealed second.
      const templateId = Number(this.statements.insertTemplate.run(subjectRef, Buffer.alloc(0), record.modelId, record.quality, record.source).lastInsertRowid);
      this.statements.setVector.run(this.encodeVector(record.template, { partition, subjectId, templateId }), templateId);
      return { templateId, generation: this.bumpGeneration(partitionId) };
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

  subjectTemplates(partition: string, subjectId: string): Array<{ template: Template; source: string }> {
    return this.statements.subjectVectors
      .all(partition, subjectId)
      .map((row) => ({ template: this.decodeVector(row.vector, { partition, subjectId, templateId: row.templateId }), source: row.source }));
  }

  /** A subject's creation time and templates without vectors; undefined when not enrolled. */
  subjectSummary(partition: string, subjectId: string): { createdAt: string; templates: TemplateSummary[] } | undefined {
    const subject = this.statements.subjectCreatedAt.get(partition, subjectId);
    if (!subject) return undefined;
    return { createdAt: subject.createdAt, templates: this.statements.subjectTemplateSummaries.all(subject.id) };
  }

  /** One page of a partition's subjects in subject-id order, and how many there are in all. */
  subjectPage(partition: string, offset: number, limit: number): { total: number; subjects: SubjectSummary[] } {
    const total = this.statements.partitionSubjectCount.get(partition)!.count;
    const subjects = this.statements.subjectPage.all(partition, limit, offset).map(({ sources, ...row }) => ({ ...row, sources: sources.split(',').sort() }));
    return { total, subjects };
  }

  hasPartition(partition: string): boolean {
    return this.statements.partitionId.get(partition) !== undefined;
  }

  /** recognition models that made the stored templates */
  templateModelIds(): string[] {
    return this.statements.templateModelIds.all().map((row) => row.model_id);
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

  /** The partition's template ids, ascending: what a loaded index must hold. */
  templateIds(partition: string): Float64Array {
    return Float64Array.from(this.statements.templateIds.all(partition));
  }

  /** Partition templates in template-id order, with vectors, one at a time: for rebuilding an index. */
  *indexedTemplates(partition: string): Generator<IndexedTemplate> {
    for (const row of this.statements.indexedTemplates.iterate(partition)) {
      yield { templateId: row.templateId, subjectId: row.subjectId, source: row.source, vector: this.decodeVector(row.vector, { partition, ...row }) };
    }
  }

  /** The partition's templates of these ids, with vectors (ids it does not hold are skipped): for catching an index up. */
  *indexedTemplatesById(partition: string, templateIds: Iterable<number>): Generator<IndexedTemplate> {
    for (const templateId of templateIds) {
      const row = this.statements.indexedTemplate.get(partition, templateId);
      if (row) yield { templateId: row.templateId, subjectId: row.subjectId, source: row.source, vector: this.decodeVector(row.vector, { partition, ...row }) };
    }
  }

  /**
   * Seals templates stored before encryption existed; returns how many. Runs at every start, but looks
   * only once: every insert seals, so the gallery records when no plaintext row is left rather than
   * reading a million rows (gigabytes) again on each start.
   */
  encryptPlaintextTemplates(): number {
    if (this.statements.metaValue.get(META.allTemplatesSealed) !== undefined) return 0;
    const plaintextBytes = this.dimension * Float32Array.BYTES_PER_ELEMENT;
    const recordSealed = () => this.statements.setMetaValue.run(META.allTemplatesSealed, new Date().toISOString());
    if (!this.statements.hasBlobOfLength.get(plaintextBytes)!.found) {
      recordSealed();
      return 0;
    }
    return this.reseal(this.cipher, (row) => (row.vector.byteLength === plaintextBytes ? row.vector : undefined), recordSealed);
  }

  /**
   * Re-encrypts every template under `next` in one transaction and records its key id; the caller
   * stores the new key. A process still holding the old key can no longer insert (assertKeyCurrent).
   */
  rotateTemplateKey(next: TemplateCipher): number {
    const resealed = this.reseal(next, (row) => this.cipher.open(row.vector, templateContext(row)), () => this.statements.setMetaValue.run(META.templateKeyId, next.keyId));
    this.cipher = next;
    return resealed;
  }

  close(): void {
    this.db.close();
  }

  private reseal(target: TemplateCipher, plaintextOf: (row: StoredTemplate) => Buffer | undefined, inTransaction?: () => void): number {
    const resealed = this.db.transaction(() => {
      let count = 0;
      for (let after = 0, rows = this.statements.storedTemplates.all(after, RESEAL_BATCH); rows.length > 0; rows = this.statements.storedTemplates.all(after, RESEAL_BATCH)) {
        for (const row of rows) {
          const plaintext = plaintextOf(row);
          if (plaintext) {
            this.statements.setVector.run(target.seal(plaintext, templateContext(row)), row.templateId);
            count++;
          }
        }
        after = rows.at(-1)!.templateId;
      }
      inTransaction?.();
      return count;
    })();
    // Old page images stay in the WAL until it is reset; truncating it leaves only the new ciphertext.
    if (resealed > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return resealed;
  }

  /** false once the gallery was re-encrypted under another key behind this process's back */
  keyIsCurrent(): boolean {
    return this.statements.metaValue.get(META.templateKeyId)?.value === this.cipher.keyId;
  }

  private assertKeyCurrent(): void {
    if (this.keyIsCurrent()) return;
    const stored = this.statements.metaValue.get(META.templateKeyId)?.value;
    throw new ApiError('service_unavailable', `the gallery was re-encrypted under template key ${stored} while this server ran; restart the server with that key`);
  }

  private bumpGeneration(partitionId: number): number {
    return this.statements.bumpGeneration.get(partitionId)!.generation;
  }

  private encodeVector(vector: Template, where: TemplateLocation): Buffer {
    return this.cipher.seal(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), templateContext(where));
  }

  private decodeVector(blob: Buffer, where: TemplateLocation): Template {
    const plaintext = this.cipher.open(blob, templateContext(where));
    if (plaintext.byteLength !== this.dimension * Float32Array.BYTES_PER_ELEMENT) {
      throw new Error(`stored template has ${plaintext.byteLength} bytes, expected ${this.dimension} float32 values`);
    }
    // Copy into a fresh buffer: a Buffer's byteOffset need not be float-aligned.
    return new Float32Array(Uint8Array.from(plaintext).buffer);
  }
}

/** What a template ciphertext is bound to: moving it to another row, subject or partition breaks it. */
interface TemplateLocation {
  partition: string;
  subjectId: string;
  templateId: number;
}

interface StoredTemplate extends TemplateLocation {
  vector: Buffer;
}

function templateContext({ partition, subjectId, templateId }: TemplateLocation): string {
  return JSON.stringify(['faceserver-template/1', partition, subjectId, templateId]);
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
    setVector: db.prepare<[Buffer, number]>('UPDATE templates SET vector = ? WHERE id = ?'),
    metaValue: db.prepare<[string], { value: string }>('SELECT value FROM gallery_meta WHERE name = ?'),
    setMetaValue: db.prepare<[string, string]>(
      'INSERT INTO gallery_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
    hasBlobOfLength: db.prepare<[number], { found: number }>('SELECT EXISTS (SELECT 1 FROM templates WHERE length(vector) = ?) AS found'),
    storedTemplates: db.prepare<[number, number], StoredTemplate>(`
      SELECT t.id AS templateId, p.name AS partition, s.subject_id AS subjectId, t.vector FROM templates t
      JOIN subjects s ON s.id = t.subject_ref
      JOIN partitions p ON p.id = s.partition_id
      WHERE t.id > ? ORDER BY t.id LIMIT ?`),
    subjectTemplateIds: db.prepare<[number], { id: number }>(
      'SELECT id FROM templates WHERE subject_ref = ? ORDER BY id',
    ),
    deleteTemplates: db.prepare<[number]>('DELETE FROM templates WHERE subject_ref = ?'),
    deleteSubject: db.prepare<[number]>('DELETE FROM subjects WHERE id = ?'),
    subjectVectors: db.prepare<[string, string], { templateId: number; vector: Buffer; source: string }>(`
      SELECT t.id AS templateId, t.vector, t.source FROM templates t
      JOIN subjects s ON s.id = t.subject_ref
      JOIN partitions p ON p.id = s.partition_id
      WHERE p.name = ? AND s.subject_id = ?
      ORDER BY t.id`),
    subjectCreatedAt: db.prepare<[string, string], { id: number; createdAt: string }>(`
      SELECT s.id, s.created_at AS createdAt FROM subjects s
      JOIN partitions p ON p.id = s.partition_id
      WHERE p.name = ? AND s.subject_id = ?`),
    subjectTemplateSummaries: db.prepare<[number], TemplateSummary>(
      'SELECT id AS templateId, source, quality, model_id AS modelId, created_at AS createdAt FROM templates WHERE subject_ref = ? ORDER BY id',
    ),
    partitionSubjectCount: db.prepare<[string], { count: number }>(
      'SELECT COUNT(*) AS count FROM subjects WHERE partition_id = (SELECT id FROM partitions WHERE name = ?)',
    ),
    // GROUP_CONCAT(DISTINCT) joins with commas; sources are plain words (enrol, eid, oid, selfie)
    subjectPage: db.prepare<[string, number, number], Omit<SubjectSummary, 'sources'> & { sources: string }>(`
      SELECT s.subject_id AS subjectId, s.created_at AS createdAt, COUNT(t.id) AS templateCount, GROUP_CONCAT(DISTINCT t.source) AS sources
      FROM subjects s JOIN templates t ON t.subject_ref = s.id
      WHERE s.partition_id = (SELECT id FROM partitions WHERE name = ?)
      GROUP BY s.id ORDER BY s.subject_id LIMIT ? OFFSET ?`),
    partitionNames: db.prepare<[], { name: string }>('SELECT name FROM partitions ORDER BY name'),
    templateModelIds: db.prepare<[], { model_id: string }>('SELECT DISTINCT model_id FROM templates ORDER BY model_id'),
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
    templateIds: db.prepare<[string], number>(`SELECT t.id ${PARTITION_TEMPLATES} ORDER BY t.id`).pluck(),
    indexedTemplates: db.prepare<[string], TemplateRef & { vector: Buffer }>(
      `SELECT t.id AS templateId, s.subject_id AS subjectId, t.source, t.vector ${PARTITION_TEMPLATES} ORDER BY t.id`,
    ),
    indexedTemplate: db.prepare<[string, number], TemplateRef & { vector: Buffer }>(
      `SELECT t.id AS templateId, s.subject_id AS subjectId, t.source, t.vector ${PARTITION_TEMPLATES} AND t.id = ?`,
    ),
  };
}
