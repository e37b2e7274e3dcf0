// The gallery contract, run against each store the server can use (src/gallery/gallery.spec.ts for SQLite +
// FAISS, test/postgres/postgres-gallery.test.ts for PostgreSQL): answers are checked against brute force.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors.ts';
import type { Gallery } from '../../src/gallery/gallery.ts';
import type { Template } from '../../src/pipeline/types.ts';
import { seededRandom } from '../../tools/seeded-random.ts';
import { DIMENSION, ReferenceGallery, nearbyUnitVector, populate, probes, randomUnitVector } from './gallery-support.ts';

/** One kind of store, fresh for every test. */
export interface GalleryBackend {
  /** Makes an empty store and opens a gallery over it. */
  create(): Promise<Gallery>;
  /** Opens a gallery again over the store the last create() made, as a restarted server would. */
  open(): Promise<Gallery>;
  /** What the store holds outside the gallery's answers (files, tables): unchanged by a refused call. */
  stored(): Promise<unknown>;
  /** Removes the store. */
  destroy(): Promise<void>;
}

export function describeGalleryContract(backend: GalleryBackend): void {
  let gallery: Gallery;
  let reference: ReferenceGallery;

  beforeEach(async () => {
    gallery = await backend.create();
    reference = new ReferenceGallery();
  });

  afterEach(async () => {
    await gallery.close();
    await backend.destroy();
  });

  const TOP_KS = [1, 5, 20, 1000];

  async function enrol(partition: string, subjectId: string, template: Template): Promise<void> {
    await gallery.enrol(partition, subjectId, { template, modelId: 'test-model', quality: 0.9, source: 'enrol' });
    reference.enrol(partition, subjectId, template);
  }

  async function expectAllSearches(partitions: readonly string[], probeSet: readonly Template[]): Promise<void> {
    for (const partition of partitions) {
      for (const probe of probeSet) for (const topK of TOP_KS) await reference.expectSearch(gallery, partition, probe, topK);
      expect(await gallery.templateCounts(partition)).toEqual({
        sqlite: reference.templateCount(partition),
        index: reference.templateCount(partition),
      });
    }
    expect(await gallery.isHealthy()).toBe(true);
  }

  describe('search', () => {
    it('agrees with brute force over several partitions of multi-template subjects', async () => {
      const random = seededRandom(1);
      const partitions = ['alpha', 'beta', 'gamma'];
      const identities = await populate(gallery, reference, random, { partitions, subjectsPerPartition: 40, maxTemplatesPerSubject: 5 });
      expect(reference.templateCount('alpha') + reference.templateCount('beta') + reference.templateCount('gamma')).toBeGreaterThan(300);
      await expectAllSearches(partitions, probes(random, identities, 12));
      expect(await gallery.partitions()).toEqual(partitions);
      expect(await gallery.subjectCounts()).toEqual({ alpha: 40, beta: 40, gamma: 40 });
    });

    it('widens the candidate list when a few subjects own all the nearest templates', async () => {
      const random = seededRandom(2);
      const probe = randomUnitVector(random);
      // Three subjects hold 60 templates each right next to the probe: the first 4 × topK hits are all theirs.
      for (const subject of ['crowd-a', 'crowd-b', 'crowd-c']) {
        for (let i = 0; i < 60; i++) await enrol('crowded', subject, nearbyUnitVector(random, probe, 0.3));
      }
      for (let subject = 0; subject < 30; subject++) await enrol('crowded', `single-${subject}`, randomUnitVector(random));
      const matches = await reference.expectSearch(gallery, 'crowded', probe, 5);
      expect(matches.slice(0, 3).map((match) => match.subjectId).sort()).toEqual(['crowd-a', 'crowd-b', 'crowd-c']);
      expect(matches).toHaveLength(5);
    });

    it('returns every subject when topK exceeds them, and nothing for topK 0 or an unknown partition', async () => {
      const random = seededRandom(3);
      const identities = await populate(gallery, reference, random, { partitions: ['small'], subjectsPerPartition: 4, maxTemplatesPerSubject: 3 });
      expect(await reference.expectSearch(gallery, 'small', identities[0], 50)).toHaveLength(4);
      expect(await gallery.search('small', identities[0], 0)).toEqual([]);
      expect(await gallery.search('nowhere', identities[0], 5)).toEqual([]);
      expect(await gallery.hasPartition('nowhere')).toBe(false);
      expect(await gallery.templateCounts('nowhere')).toEqual({ sqlite: 0, index: 0 });
    });

    it('refuses probes and templates that are not float32 vectors of the index dimension', async () => {
      const short = new Float32Array(DIMENSION - 1).fill(0.1);
      const notFinite = new Float32Array(DIMENSION).fill(Number.NaN);
      await enrol('p', 's', randomUnitVector(seededRandom(4)));
      for (const probe of [short, notFinite]) {
        await expect(gallery.search('p', probe, 3)).rejects.toThrow(/template/);
        await expect(gallery.enrol('p', 's', { template: probe, modelId: 'm', quality: 1, source: 'enrol' })).rejects.toThrow(/template/);
      }
      await expect(gallery.search('p', randomUnitVector(seededRandom(5)), 1.5)).rejects.toThrow(/topK/);
      expect(await gallery.templateCounts('p')).toEqual({ sqlite: 1, index: 1 });
    });
  });

  describe('deleteSubject', () => {
    it('keeps the position mapping exact when subjects go from the start, middle and end', async () => {
      const random = seededRandom(6);
      const partitions = ['alpha', 'beta'];
      const identities = await populate(gallery, reference, random, { partitions, subjectsPerPartition: 50, maxTemplatesPerSubject: 4 });
      const probeSet = [...probes(random, identities, 8), ...identities.slice(0, 4)];
      const alphaSubjects = reference.subjectIds('alpha');
      const doomed = [alphaSubjects[0], alphaSubjects[25], alphaSubjects[26], alphaSubjects.at(-1)!, alphaSubjects[10]];
      for (const subjectId of doomed) {
        expect(await gallery.deleteSubject('alpha', subjectId)).toBe(true);
        reference.deleteSubject('alpha', subjectId);
        await expectAllSearches(partitions, probeSet);
      }
      // The deleted subjects' own templates now find other subjects.
      for (const subjectId of doomed) {
        expect(await gallery.subjectTemplates('alpha', subjectId)).toBeUndefined();
        const hits = await gallery.search('alpha', identities[alphaSubjects.indexOf(subjectId)], 1000);
        expect(hits.map((hit) => hit.subjectId)).not.toContain(subjectId);
      }
      expect(await gallery.subjectCounts()).toEqual({ alpha: 45, beta: 50 });
    });

    it('returns false for absent subjects and partitions, and lets a deleted id enrol again', async () => {
      const random = seededRandom(7);
      const identities = await populate(gallery, reference, random, { partitions: ['alpha'], subjectsPerPartition: 10, maxTemplatesPerSubject: 3 });
      expect(await gallery.deleteSubject('alpha', 'never-enrolled')).toBe(false);
      expect(await gallery.deleteSubject('nowhere', 'alpha-subject-0')).toBe(false);
      expect(await gallery.deleteSubject('alpha', 'alpha-subject-3')).toBe(true);
      expect(await gallery.deleteSubject('alpha', 'alpha-subject-3')).toBe(false);
      reference.deleteSubject('alpha', 'alpha-subject-3');
      await enrol('alpha', 'alpha-subject-3', randomUnitVector(random));
      await expectAllSearches(['alpha'], probes(random, identities, 6));
    });
  });

  describe('subjectTemplates', () => {
    it('returns exactly the enrolled vectors in enrolment order', async () => {
      const random = seededRandom(8);
      await populate(gallery, reference, random, { partitions: ['alpha', 'beta'], subjectsPerPartition: 5, maxTemplatesPerSubject: 4 });
      for (const partition of ['alpha', 'beta']) {
        for (const subjectId of reference.subjectIds(partition)) {
          expect(await gallery.subjectTemplates(partition, subjectId)).toEqual(reference.templates(partition, subjectId)!.map((template) => ({ template, source: 'enrol' })));
        }
      }
      expect(await gallery.subjectTemplates('alpha', 'beta-subject-0')).toBeUndefined();
      expect(await gallery.subjectTemplates('nowhere', 'alpha-subject-0')).toBeUndefined();
    });
  });

  describe('identifiers', () => {
    const badNames = ['../x', 'a b', "x'; DROP TABLE partitions; --", '', 'a'.repeat(65), 'a/b', 'ä', 'x.faiss'];

    it.each(badNames)('refuses partition name %j with invalid_metadata before touching the store', async (name) => {
      const before = await backend.stored();
      const template = randomUnitVector(seededRandom(9));
      const calls = [
        () => gallery.enrol(name, 's', { template, modelId: 'm', quality: 1, source: 'enrol' }),
        () => gallery.search(name, template, 1),
        () => gallery.deleteSubject(name, 's'),
        () => gallery.subjectTemplates(name, 's'),
        () => gallery.hasPartition(name),
        () => gallery.templateCounts(name),
      ];
      for (const call of calls) {
        await expect(call()).rejects.toThrow(ApiError);
        await expect(call()).rejects.toThrow(expect.objectContaining({ code: 'invalid_metadata', status: 400 }));
      }
      await gallery.flush();
      expect(await backend.stored()).toEqual(before);
      expect(await gallery.partitions()).toEqual([]);
    });

    const hostileIds = [
      `<&>'"`,
      "'; DELETE FROM subjects; --",
      '../../etc/passwd',
      'Zoë 名前 😀 \u200d\u202e',
      ' padded ',
      'x'.repeat(10_240),
    ];

    it('round-trips hostile subject ids exactly, across a restart', async () => {
      const random = seededRandom(11);
      const templates = hostileIds.map(() => randomUnitVector(random));
      for (const [i, subjectId] of hostileIds.entries()) await enrol('hostile', subjectId, templates[i]);
      const expectExactIds = async (target: Gallery) => {
        for (const [i, subjectId] of hostileIds.entries()) {
          expect((await target.search('hostile', templates[i], 1))[0].subjectId).toBe(subjectId);
          expect(await target.subjectTemplates('hostile', subjectId)).toEqual([{ template: templates[i], source: 'enrol' }]);
        }
        expect(await target.subjectCounts()).toEqual({ hostile: hostileIds.length });
      };
      await expectExactIds(gallery);
      await gallery.close();
      gallery = await backend.open();
      await expectExactIds(gallery);
      expect(await gallery.deleteSubject('hostile', hostileIds[0])).toBe(true);
      expect(await gallery.deleteSubject('hostile', 'padded')).toBe(false);
      expect(await gallery.subjectCounts()).toEqual({ hostile: hostileIds.length - 1 });
    });

    it('refuses subject ids that UTF-8 cannot hold, so two ids never share a stored subject', async () => {
      const template = randomUnitVector(seededRandom(12));
      await enrol('p', '\ufffd', template);
      // lone surrogates cannot be UTF-8; U+0000 cannot be PostgreSQL text (the API refuses every control character)
      for (const loneSurrogate of ['\ud800', 'a\udc00b', 'nul\u0000inside']) {
        await expect(gallery.enrol('p', loneSurrogate, { template, modelId: 'm', quality: 1, source: 'enrol' })).rejects.toThrow(ApiError);
        await expect(gallery.deleteSubject('p', loneSurrogate)).rejects.toThrow(ApiError);
        await expect(gallery.subjectTemplates('p', loneSurrogate)).rejects.toThrow(ApiError);
      }
      expect(await gallery.subjectTemplates('p', '\ufffd')).toEqual([{ template, source: 'enrol' }]);
    });
  });

  describe('sources', () => {
    it('limit search and subjectTemplates to templates from those sources, also after a restart (index loaded from disk)', async () => {
      const random = seededRandom(21);
      const document = randomUnitVector(random);
      const selfie = nearbyUnitVector(random, document, 0.3);
      await gallery.enrol('src', 'holder', { template: document, modelId: 'm', quality: 0.8, source: 'eid' });
      await gallery.enrol('src', 'holder', { template: selfie, modelId: 'm', quality: 0.7, source: 'selfie' });
      await gallery.enrol('src', 'walk-in', { template: randomUnitVector(random), modelId: 'm', quality: 0.9, source: 'enrol' });

      const check = async (g: Gallery) => {
        expect(await g.search('src', document, 5, new Set(['eid']))).toEqual([{ subjectId: 'holder', similarity: expect.closeTo(1, 5) }]);
        // the holder's selfie template is its best of that source, not the better eid one
        const viaSelfie = await g.search('src', document, 5, new Set(['selfie']));
        expect(viaSelfie.map((m) => m.subjectId)).toEqual(['holder']);
        expect(viaSelfie[0].similarity).toBeLessThan(0.99);
        expect(await g.search('src', document, 5, new Set(['oid']))).toEqual([]);
        expect((await g.search('src', document, 5)).map((m) => m.subjectId)).toEqual(['holder', 'walk-in']);
        expect(await g.subjectTemplates('src', 'holder', new Set(['selfie']))).toEqual([{ template: selfie, source: 'selfie' }]);
        expect(await g.subjectTemplates('src', 'holder', new Set(['enrol']))).toBeUndefined();
      };
      await check(gallery);
      await gallery.close();
      gallery = await backend.open();
      await check(gallery);
    });

    it('subjectDetail lists templates without vectors; listSubjects pages in id order with each subject\'s sources', async () => {
      const random = seededRandom(22);
      for (const [subjectId, sources] of [['c', ['enrol']], ['a', ['eid', 'selfie', 'eid']], ['b', ['oid']]] as const) {
        for (const source of sources) await gallery.enrol('people', subjectId, { template: randomUnitVector(random), modelId: 'm', quality: 0.5, source });
      }
      const detail = (await gallery.subjectDetail('people', 'a'))!;
      expect(detail.templates.map((t) => [t.source, t.quality, t.modelId])).toEqual([['eid', 0.5, 'm'], ['selfie', 0.5, 'm'], ['eid', 0.5, 'm']]);
      expect(detail.templates.every((t) => Object.keys(t).sort().join() === 'createdAt,modelId,quality,source,templateId')).toBe(true);
      expect(await gallery.subjectDetail('people', 'nobody')).toBeUndefined();

      expect(await gallery.listSubjects('people', 0, 2)).toEqual({
        total: 3,
        subjects: [
          { subjectId: 'a', createdAt: expect.any(String), templateCount: 3, sources: ['eid', 'selfie'] },
          { subjectId: 'b', createdAt: expect.any(String), templateCount: 1, sources: ['oid'] },
        ],
      });
      expect((await gallery.listSubjects('people', 2, 2)).subjects.map((s) => s.subjectId)).toEqual(['c']);
      expect(await gallery.listSubjects('nowhere', 0, 10)).toEqual({ total: 0, subjects: [] });
    });
  });
}
