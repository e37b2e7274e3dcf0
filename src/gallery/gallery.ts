import type { Template } from '../pipeline/types.ts';

export interface TemplateRecord {
  template: Template;
  modelId: string;
  quality: number;
  /** where the image came from, e.g. "enrol" or "document" */
  source: string;
}

export interface SubjectMatch {
  subjectId: string;
  /** best cosine similarity over the subject's templates */
  similarity: number;
}

export interface Gallery {
  /** Adds one template to a subject, creating the partition and subject as needed. */
  enrol(partition: string, subjectId: string, record: TemplateRecord): void;
  /** Removes a subject and all its templates. Returns false when there was no such subject. */
  deleteSubject(partition: string, subjectId: string): boolean;
  /** Best `topK` subjects by best template similarity, highest first. Unknown partition: []. */
  search(partition: string, probe: Template, topK: number): SubjectMatch[];
  /** Templates of one subject, or undefined when the subject is not enrolled. */
  subjectTemplates(partition: string, subjectId: string): Template[] | undefined;
  hasPartition(partition: string): boolean;
  partitions(): string[];
  /** recognition models whose templates are stored: templates of different models cannot be compared */
  templateModelIds(): string[];
  /** subjects per partition */
  subjectCounts(): Record<string, number>;
  /** templates per partition, in SQLite and in the FAISS index */
  templateCounts(partition: string): { sqlite: number; index: number };
  /** True when every partition's FAISS index holds as many templates as SQLite. */
  isHealthy(): boolean;
  /** True while the gallery is sealed under the key this process holds: false after a rotation behind its back. */
  templateKeyCurrent(): boolean;
  /** Writes indexes that changed since the last flush. */
  flush(): void;
  close(): void;
}

export const PARTITION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The contract's partition when a request names none. It always exists, empty until the first enrolment. */
export const DEFAULT_PARTITION = 'default';
