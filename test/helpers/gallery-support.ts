// Shared by the gallery specs: seeded vectors, a brute-force reference gallery, a logger that records.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import type { Logger } from '../../src/logger.ts';
import type { Template } from '../../src/pipeline/types.ts';
import { TemplateCipher } from '../../src/security/template-cipher.ts';
import type { Gallery, SubjectMatch } from '../../src/gallery/gallery.ts';
import { openGallery } from '../../src/gallery/index.ts';

export const DIMENSION = 512;

/** A fixed key, so a child process or a second open reads what the first wrote. */
export const SPEC_TEMPLATE_KEY = Buffer.alloc(32, 0x5a).toString('base64');
export const specCipher = () => new TemplateCipher(Buffer.from(SPEC_TEMPLATE_KEY, 'base64'));

/** float32 inner products from FAISS (BLAS) and from float64 JS sums differ in the last bits */
const SIMILARITY_TOLERANCE = 1e-5;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function normalised(values: number[]): Template {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (value) => value / norm);
}

export function randomUnitVector(random: () => number): Template {
  return normalised(Array.from({ length: DIMENSION }, () => gaussian(random)));
}

/** A unit vector near `centre`: `noise` is the per-component standard deviation relative to 1/sqrt(d). */
export function nearbyUnitVector(random: () => number, centre: Template, noise: number): Template {
  const scale = noise / Math.sqrt(DIMENSION);
  return normalised(Array.from(centre, (value) => value + scale * gaussian(random)));
}

function dot(a: Template, b: Template): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** What the gallery should answer, computed by comparing the probe with every template. */
export class ReferenceGallery {
  private readonly partitions = new Map<string, Map<string, Template[]>>();

  enrol(partition: string, subjectId: string, template: Template): void {
    const subjects = this.partitions.get(partition) ?? new Map<string, Template[]>();
    subjects.set(subjectId, [...(subjects.get(subjectId) ?? []), template]);
    this.partitions.set(partition, subjects);
  }

  deleteSubject(partition: string, subjectId: string): void {
    this.partitions.get(partition)?.delete(subjectId);
  }

  subjectIds(partition: string): string[] {
    return [...(this.partitions.get(partition)?.keys() ?? [])];
  }

  templates(partition: string, subjectId: string): Template[] | undefined {
    return this.partitions.get(partition)?.get(subjectId);
  }

  templateCount(partition: string): number {
    return [...(this.partitions.get(partition)?.values() ?? [])].reduce((sum, templates) => sum + templates.length, 0);
  }

  /** Every subject's best similarity, highest first. */
  rank(partition: string, probe: Template): SubjectMatch[] {
    return [...(this.partitions.get(partition) ?? new Map<string, Template[]>())]
      .map(([subjectId, templates]) => ({ subjectId, similarity: Math.max(...templates.map((t) => dot(t, probe))) }))
      .sort((a, b) => b.similarity - a.similarity);
  }

  /**
   * Asserts `actual` is a correct top-k answer: same length and scores rank by rank, and each
   * returned subject is enrolled with that best score. Subjects whose scores tie within float
   * rounding may swap places; anything else fails.
   */
  async expectSearch(gallery: Gallery, partition: string, probe: Template, topK: number): Promise<SubjectMatch[]> {
    const actual = await gallery.search(partition, probe, topK);
    const ranking = this.rank(partition, probe);
    const expected = ranking.slice(0, topK);
    expect(actual.map((match) => match.similarity)).toHaveLength(expected.length);
    const bestBySubject = new Map(ranking.map((match) => [match.subjectId, match.similarity]));
    actual.forEach((match, rank) => {
      expect(match.similarity).toBeCloseTo(expected[rank].similarity, 5);
      expect(bestBySubject.has(match.subjectId), `unexpected subject ${match.subjectId}`).toBe(true);
      expect(Math.abs(match.similarity - bestBySubject.get(match.subjectId)!)).toBeLessThan(SIMILARITY_TOLERANCE);
    });
    expect(new Set(actual.map((match) => match.subjectId)).size).toBe(actual.length);
    return actual;
  }
}

export interface LogEntry {
  level: number;
  msg: string;
  partition?: string;
  reason?: string;
}

export const WARN = 40;

/** A real pino logger whose lines are kept for assertions. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => entries.push(JSON.parse(line) as LogEntry) });
  return { logger, entries };
}

export function rebuiltPartitions(entries: readonly LogEntry[]): string[] {
  return entries.filter((entry) => entry.msg === 'rebuilt FAISS index from SQLite').map((entry) => entry.partition!);
}

export function loadedPartitions(entries: readonly LogEntry[]): string[] {
  return entries.filter((entry) => entry.msg === 'loaded FAISS index').map((entry) => entry.partition!);
}

/** A data directory that is removed again by the returned function. */
export function temporaryDataDir(): { dataDir: string; remove: () => void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'gallery-spec-'));
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

export function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' }).sort();
}

/** Flushes only on close() unless a test says otherwise. */
export function openTestGallery(dataDir: string, logger: Logger, flushDelayMs = 60_000): Promise<Gallery> {
  return openGallery({ dataDir, flushDelayMs, logger, cipher: specCipher(), dimension: DIMENSION });
}

export interface Population {
  partitions: string[];
  subjectsPerPartition: number;
  maxTemplatesPerSubject: number;
}

/** Enrols the same random subjects into `gallery` and `reference`; returns one enrolled template per subject. */
export async function populate(gallery: Gallery, reference: ReferenceGallery, random: () => number, population: Population): Promise<Template[]> {
  const samples: Template[] = [];
  for (const partition of population.partitions) {
    for (let subject = 0; subject < population.subjectsPerPartition; subject++) {
      const subjectId = `${partition}-subject-${subject}`;
      const identity = randomUnitVector(random);
      const templateCount = 1 + Math.floor(random() * population.maxTemplatesPerSubject);
      for (let i = 0; i < templateCount; i++) {
        // Templates of one person sit close together, as real embeddings do.
        const template = nearbyUnitVector(random, identity, 0.5);
        await gallery.enrol(partition, subjectId, { template, modelId: 'test-model', quality: random(), source: 'enrol' });
        reference.enrol(partition, subjectId, template);
      }
      samples.push(identity);
    }
  }
  return samples;
}

/** Probes near enrolled identities (clear winners) and unrelated ones (close races). */
export function probes(random: () => number, identities: readonly Template[], count: number): Template[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0 ? nearbyUnitVector(random, identities[Math.floor(random() * identities.length)], 0.8) : randomUnitVector(random),
  );
}
