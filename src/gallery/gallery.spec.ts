import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { quietLogger } from '../../test/helpers/quiet-logger.ts';
import type { Template } from '../pipeline/types.ts';
import type { Gallery } from './gallery.ts';
import {
  DIMENSION,
  ReferenceGallery,
  filesUnder,
  nearbyUnitVector,
  openTestGallery,
  populate,
  probes,
  randomUnitVector,
  temporaryDataDir,
} from '../../test/helpers/gallery-support.ts';
import { seededRandom } from '../../tools/seeded-random.ts';

const TOP_KS = [1, 5, 20, 1000];

let dataDir: string;
let removeDataDir: () => void;
let gallery: Gallery;
let reference: ReferenceGallery;

beforeEach(() => {
  ({ dataDir, remove: removeDataDir } = temporaryDataDir());
  gallery = openTestGallery(dataDir, quietLogger);
  reference = new ReferenceGallery();
});

afterEach(() => {
  gallery.close();
  removeDataDir();
});

function enrol(partition: string, subjectId: string, template: Template): void {
  gallery.enrol(partition, subjectId, { template, modelId: 'test-model', quality: 0.9, source: 'enrol' });
  reference.enrol(partition, subjectId, template);
}

function expectAllSearches(partitions: readonly string[], probeSet: readonly Template[]): void {
  for (const partition of partitions) {
    for (const probe of probeSet) for (const topK of TOP_KS) reference.expectSearch(gallery, partition, probe, topK);
    expect(gallery.templateCounts(partition)).toEqual({
      sqlite: reference.templateCount(partition),
      index: reference.templateCount(partition),
    });
  }
  expect(gallery.isHealthy()).toBe(true);
}

describe('search', () => {
  it('agrees with brute force over several partitions of multi-template subjects', () => {
    const random = seededRandom(1);
    const partitions = ['alpha', 'beta', 'gamma'];
    const identities = populate(gallery, reference, random, { partitions, subjectsPerPartition: 40, maxTemplatesPerSubject: 5 });
    expect(reference.templateCount('alpha') + reference.templateCount('beta') + reference.templateCount('gamma')).toBeGreaterThan(300);
    expectAllSearches(partitions, probes(random, identities, 12));
    expect(gallery.partitions()).toEqual(partitions);
    expect(gallery.subjectCounts()).toEqual({ alpha: 40, beta: 40, gamma: 40 });
  });

  it('widens the candidate list when a few subjects own all the nearest templates', () => {
    const random = seededRandom(2);
    const probe = randomUnitVector(random);
    // Three subjects hold 60 templates each right next to the probe: the first 4 × topK hits are all theirs.
    for (const subject of ['crowd-a', 'crowd-b', 'crowd-c']) {
      for (let i = 0; i < 60; i++) enrol('crowded', subject, nearbyUnitVector(random, probe, 0.3));
    }
    for (let subject = 0; subject < 30; subject++) enrol('crowded', `single-${subject}`, randomUnitVector(random));
    const matches = reference.expectSearch(gallery, 'crowded', probe, 5);
    expect(matches.slice(0, 3).map((match) => match.subjectId).sort()).toEqual(['crowd-a', 'crowd-b', 'crowd-c']);
    expect(matches).toHaveLength(5);
  });

  it('returns every subject when topK exceeds them, and nothing for topK 0 or an unknown partition', () => {
    const random = seededRandom(3);
    const identities = populate(gallery, reference, random, { partitions: ['small'], subjectsPerPartition: 4, maxTemplatesPerSubject: 3 });
    expect(reference.expectSearch(gallery, 'small', identities[0], 50)).toHaveLength(4);
    expect(gallery.search('small', identities[0], 0)).toEqual([]);
    expect(gallery.search('nowhere', identities[0], 5)).toEqual([]);
    expect(gallery.hasPartition('nowhere')).toBe(false);
    expect(gallery.templateCounts('nowhere')).toEqual({ sqlite: 0, index: 0 });
  });

  it('refuses probes and templates that are not float32 vectors of the index dimension', () => {
    const short = new Float32Array(DIMENSION - 1).fill(0.1);
    const notFinite = new Float32Array(DIMENSION).fill(Number.NaN);
    enrol('p', 's', randomUnitVector(seededRandom(4)));
    for (const probe of [short, notFinite]) {
      expect(() => gallery.search('p', probe, 3)).toThrow(/template/);
      expect(() => gallery.enrol('p', 's', { template: probe, modelId: 'm', quality: 1, source: 'enrol' })).toThrow(/template/);
    }
    expect(() => gallery.search('p', randomUnitVector(seededRandom(5)), 1.5)).toThrow(/topK/);
    expect(gallery.templateCounts('p')).toEqual({ sqlite: 1, index: 1 });
  });
});

describe('deleteSubject', () => {
  it('keeps the position mapping exact when subjects go from the start, middle and end', () => {
    const random = seededRandom(6);
    const partitions = ['alpha', 'beta'];
    const identities = populate(gallery, reference, random, { partitions, subjectsPerPartition: 50, maxTemplatesPerSubject: 4 });
    const probeSet = [...probes(random, identities, 8), ...identities.slice(0, 4)];
    const alphaSubjects = reference.subjectIds('alpha');
    const doomed = [alphaSubjects[0], alphaSubjects[25], alphaSubjects[26], alphaSubjects.at(-1)!, alphaSubjects[10]];
    for (const subjectId of doomed) {
      expect(gallery.deleteSubject('alpha', subjectId)).toBe(true);
      reference.deleteSubject('alpha', subjectId);
      expectAllSearches(partitions, probeSet);
    }
    // The deleted subjects' own templates now find other subjects.
    for (const subjectId of doomed) {
      expect(gallery.subjectTemplates('alpha', subjectId)).toBeUndefined();
      const hits = gallery.search('alpha', identities[alphaSubjects.indexOf(subjectId)], 1000);
      expect(hits.map((hit) => hit.subjectId)).not.toContain(subjectId);
    }
    expect(gallery.subjectCounts()).toEqual({ alpha: 45, beta: 50 });
  });

  it('returns false for absent subjects and partitions, and lets a deleted id enrol again', () => {
    const random = seededRandom(7);
    const identities = populate(gallery, reference, random, { partitions: ['alpha'], subjectsPerPartition: 10, maxTemplatesPerSubject: 3 });
    expect(gallery.deleteSubject('alpha', 'never-enrolled')).toBe(false);
    expect(gallery.deleteSubject('nowhere', 'alpha-subject-0')).toBe(false);
    expect(gallery.deleteSubject('alpha', 'alpha-subject-3')).toBe(true);
    expect(gallery.deleteSubject('alpha', 'alpha-subject-3')).toBe(false);
    reference.deleteSubject('alpha', 'alpha-subject-3');
    enrol('alpha', 'alpha-subject-3', randomUnitVector(random));
    expectAllSearches(['alpha'], probes(random, identities, 6));
  });
});

describe('subjectTemplates', () => {
  it('returns exactly the enrolled vectors in enrolment order', () => {
    const random = seededRandom(8);
    populate(gallery, reference, random, { partitions: ['alpha', 'beta'], subjectsPerPartition: 5, maxTemplatesPerSubject: 4 });
    for (const partition of ['alpha', 'beta']) {
      for (const subjectId of reference.subjectIds(partition)) {
        expect(gallery.subjectTemplates(partition, subjectId)).toEqual(reference.templates(partition, subjectId)!.map((template) => ({ template, source: 'enrol' })));
      }
    }
    expect(gallery.subjectTemplates('alpha', 'beta-subject-0')).toBeUndefined();
    expect(gallery.subjectTemplates('nowhere', 'alpha-subject-0')).toBeUndefined();
  });
});

describe('identifiers', () => {
  const badNames = ['../x', 'a b', "x'; DROP TABLE partitions; --", '', 'a'.repeat(65), 'a/b', 'ä', 'x.faiss'];

  it.each(badNames)('refuses partition name %j with invalid_metadata before touching files or SQL', (name) => {
    const before = filesUnder(dataDir);
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
      expect(call).toThrow(ApiError);
      expect(call).toThrow(expect.objectContaining({ code: 'invalid_metadata', status: 400 }));
    }
    gallery.flush();
    expect(filesUnder(dataDir)).toEqual(before);
    expect(gallery.partitions()).toEqual([]);
  });

  it('accepts a 64-character partition name', () => {
    enrol('a'.repeat(64), 's', randomUnitVector(seededRandom(10)));
    gallery.flush();
    expect(existsSync(join(dataDir, 'indexes', `${'a'.repeat(64)}.faiss`))).toBe(true);
  });

  const hostileIds = [
    `<&>'"`,
    "'; DELETE FROM subjects; --",
    '../../etc/passwd',
    'Zoë 名前 😀 \u200d\u202e',
    'nul\u0000inside',
    ' padded ',
    'x'.repeat(10_240),
  ];

  it('round-trips hostile subject ids exactly, across a restart', () => {
    const random = seededRandom(11);
    const templates = hostileIds.map(() => randomUnitVector(random));
    hostileIds.forEach((subjectId, i) => enrol('hostile', subjectId, templates[i]));
    const expectExactIds = (target: Gallery) => {
      hostileIds.forEach((subjectId, i) => {
        expect(target.search('hostile', templates[i], 1)[0].subjectId).toBe(subjectId);
        expect(target.subjectTemplates('hostile', subjectId)).toEqual([{ template: templates[i], source: 'enrol' }]);
      });
      expect(target.subjectCounts()).toEqual({ hostile: hostileIds.length });
    };
    expectExactIds(gallery);
    gallery.close();
    gallery = openTestGallery(dataDir, quietLogger);
    expectExactIds(gallery);
    expect(gallery.deleteSubject('hostile', hostileIds[0])).toBe(true);
    expect(gallery.deleteSubject('hostile', 'padded')).toBe(false);
    expect(gallery.subjectCounts()).toEqual({ hostile: hostileIds.length - 1 });
  });

  it('refuses subject ids that UTF-8 cannot hold, so two ids never share a stored subject', () => {
    const template = randomUnitVector(seededRandom(12));
    enrol('p', '\ufffd', template);
    for (const loneSurrogate of ['\ud800', 'a\udc00b']) {
      expect(() => gallery.enrol('p', loneSurrogate, { template, modelId: 'm', quality: 1, source: 'enrol' })).toThrow(ApiError);
      expect(() => gallery.deleteSubject('p', loneSurrogate)).toThrow(ApiError);
      expect(() => gallery.subjectTemplates('p', loneSurrogate)).toThrow(ApiError);
    }
    expect(gallery.subjectTemplates('p', '\ufffd')).toEqual([{ template, source: 'enrol' }]);
  });
});

describe('sources', () => {
  it('limit search and subjectTemplates to templates from those sources, also after a restart (index loaded from disk)', () => {
    const random = seededRandom(21);
    const document = randomUnitVector(random);
    const selfie = nearbyUnitVector(random, document, 0.3);
    gallery.enrol('src', 'holder', { template: document, modelId: 'm', quality: 0.8, source: 'eid' });
    gallery.enrol('src', 'holder', { template: selfie, modelId: 'm', quality: 0.7, source: 'selfie' });
    gallery.enrol('src', 'walk-in', { template: randomUnitVector(random), modelId: 'm', quality: 0.9, source: 'enrol' });

    const check = (g: Gallery) => {
      expect(g.search('src', document, 5, new Set(['eid']))).toEqual([{ subjectId: 'holder', similarity: expect.closeTo(1, 5) }]);
      // the holder's selfie template is its best of that source, not the better eid one
      const viaSelfie = g.search('src', document, 5, new Set(['selfie']));
      expect(viaSelfie.map((m) => m.subjectId)).toEqual(['holder']);
      expect(viaSelfie[0].similarity).toBeLessThan(0.99);
      expect(g.search('src', document, 5, new Set(['oid']))).toEqual([]);
      expect(g.search('src', document, 5).map((m) => m.subjectId)).toEqual(['holder', 'walk-in']);
      expect(g.subjectTemplates('src', 'holder', new Set(['selfie']))).toEqual([{ template: selfie, source: 'selfie' }]);
      expect(g.subjectTemplates('src', 'holder', new Set(['enrol']))).toBeUndefined();
    };
    check(gallery);
    gallery.close();
    gallery = openTestGallery(dataDir, quietLogger);
    check(gallery);
  });

  it('subjectDetail lists templates without vectors; listSubjects pages in id order with each subject\'s sources', () => {
    const random = seededRandom(22);
    for (const [subjectId, sources] of [['c', ['enrol']], ['a', ['eid', 'selfie', 'eid']], ['b', ['oid']]] as const) {
      for (const source of sources) gallery.enrol('people', subjectId, { template: randomUnitVector(random), modelId: 'm', quality: 0.5, source });
    }
    const detail = gallery.subjectDetail('people', 'a')!;
    expect(detail.templates.map((t) => [t.source, t.quality, t.modelId])).toEqual([['eid', 0.5, 'm'], ['selfie', 0.5, 'm'], ['eid', 0.5, 'm']]);
    expect(detail.templates.every((t) => Object.keys(t).sort().join() === 'createdAt,modelId,quality,source,templateId')).toBe(true);
    expect(gallery.subjectDetail('people', 'nobody')).toBeUndefined();

    expect(gallery.listSubjects('people', 0, 2)).toEqual({
      total: 3,
      subjects: [
        { subjectId: 'a', createdAt: expect.any(String), templateCount: 3, sources: ['eid', 'selfie'] },
        { subjectId: 'b', createdAt: expect.any(String), templateCount: 1, sources: ['oid'] },
      ],
    });
    expect(gallery.listSubjects('people', 2, 2).subjects.map((s) => s.subjectId)).toEqual(['c']);
    expect(gallery.listSubjects('nowhere', 0, 10)).toEqual({ total: 0, subjects: [] });
  });
});
