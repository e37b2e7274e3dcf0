import type { Template } from '../pipeline/types.ts';

export interface TemplateRecord {
  template: Template;
  modelId: string;
  quality: number;
  /** where the image came from: "enrol" (the plain endpoint), or a claim's "eid", "oid", "selfie" */
  source: string;
}

/** A stored template with the source of its image. */
export interface SourcedTemplate {
  template: Template;
  source: string;
}

/** A subject as an operator sees it: never the vectors. */
export interface SubjectDetail {
  subjectId: string;
  createdAt: string;
  templates: Array<{ templateId: number; source: string; quality: number; modelId: string; createdAt: string }>;
}

export interface SubjectListing {
  /** subjects in the partition */
  total: number;
  subjects: Array<{ subjectId: string; createdAt: string; templateCount: number; sources: string[] }>;
}

export interface SubjectMatch {
  subjectId: string;
  /** best cosine similarity over the subject's templates */
  similarity: number;
}

/**
 * The gallery contract. Every method that reads or writes data returns a Promise: indexes are searched
 * in worker threads, and a database backend answers over the network. Each write is durable when its
 * promise resolves.
 */
export interface Gallery {
  /** Adds one template to a subject, creating the partition and subject as needed. */
  enrol(partition: string, subjectId: string, record: TemplateRecord): Promise<void>;
  /** Removes a subject and all its templates. Resolves false when there was no such subject. */
  deleteSubject(partition: string, subjectId: string): Promise<boolean>;
  /**
   * Best `topK` subjects by best template similarity, highest first. Unknown partition: [].
   * With `sources`, only templates from those sources count.
   */
  search(partition: string, probe: Template, topK: number, sources?: ReadonlySet<string>): Promise<SubjectMatch[]>;
  /** Templates of one subject (of `sources` only, when given), or undefined when it has none. */
  subjectTemplates(partition: string, subjectId: string, sources?: ReadonlySet<string>): Promise<SourcedTemplate[] | undefined>;
  /** What a subject's record holds, without vectors; undefined when not enrolled. */
  subjectDetail(partition: string, subjectId: string): Promise<SubjectDetail | undefined>;
  /** One page of a partition's subjects in subject-id order. */
  listSubjects(partition: string, offset: number, limit: number): Promise<SubjectListing>;
  hasPartition(partition: string): Promise<boolean>;
  partitions(): Promise<string[]>;
  /** recognition models whose templates are stored: templates of different models cannot be compared */
  templateModelIds(): Promise<string[]>;
  /** subjects per partition */
  subjectCounts(): Promise<Record<string, number>>;
  /** templates per partition, in storage and in the search index */
  templateCounts(partition: string): Promise<{ sqlite: number; index: number }>;
  /** True when every partition's search index holds what storage holds. Must stay cheap: /health asks it. */
  isHealthy(): Promise<boolean>;
  /** True while the gallery is sealed under the key this process holds: false after a rotation behind its back. */
  templateKeyCurrent(): Promise<boolean>;
  /** Writes indexes that changed since the last flush. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Where a template's image came from: a trusted document photo (claims) or the plain enrol endpoint. */
export const CLAIM_SOURCES = ['eid', 'oid', 'selfie'] as const;
export type ClaimSource = (typeof CLAIM_SOURCES)[number];
export const TEMPLATE_SOURCES = ['enrol', ...CLAIM_SOURCES] as const;
export type TemplateSource = (typeof TEMPLATE_SOURCES)[number];

export const PARTITION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The contract's partition when a request names none. It always exists, empty until the first enrolment. */
export const DEFAULT_PARTITION = 'default';
