import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.ts';
import { ApiError } from '../errors.ts';
import type { Gallery } from '../gallery/gallery.ts';
import { openTestGallery, recordingLogger, temporaryDataDir } from '../../test/helpers/gallery-support.ts';
import { pipelineConfigSchema } from '../pipeline/config.ts';
import { FacePipeline } from '../pipeline/face-pipeline.ts';
import { createScoreMapper } from '../pipeline/score.ts';
import { fixture } from '../../test/helpers/fixtures.ts';
import { outcomeOf } from '../../test/helpers/outcome.ts';
import sharp from 'sharp';
import { BiometricService, type FaceProcessor } from './biometric.service.ts';
import { PartitionPolicies, policyConfigSchema } from './partition-policy.ts';

const defaults = { partition: 'default', top_k: 5, threshold: 0.45 };

let data: ReturnType<typeof temporaryDataDir>;
let gallery: Gallery;
let service: BiometricService;
/** counts pipeline runs, to show which refusals come before any image work */
let processed = 0;
let faces: FaceProcessor;
let toScore: ReturnType<typeof createScoreMapper>;

const policies = new PartitionPolicies(
  policyConfigSchema.parse({
    defaults: { minThreshold: 0.45 },
    partitions: {
      'open-floor': { minThreshold: 0 },
      // ranks every enrolled subject, however unlike the probe
      'gate-a': { minThreshold: 0 },
      'refuse-twins': { duplicates: { mode: 'refuse' } },
      'report-twins': { duplicates: { mode: 'report', threshold: 0.5 } },
      crowd: { multipleFaces: 'largest' },
    },
  }),
);

beforeAll(async () => {
  // PAD is not what this spec is about, and the composites below are not bona fide photos
  const pipeline = await FacePipeline.create(resolve(PROJECT_ROOT, 'models'), pipelineConfigSchema.parse({ pad: { enabled: false } }));
  const counting: FaceProcessor = {
    modelId: pipeline.modelId,
    // the pipeline runs in this thread: nothing queues, so nothing is refused for load
    assertCanAccept: () => undefined,
    process: (image, purpose) => {
      processed++;
      return pipeline.process(image, purpose);
    },
  };
  data = temporaryDataDir();
  gallery = await openTestGallery(data.dataDir, recordingLogger().logger);
  faces = counting;
  toScore = createScoreMapper(pipeline.manifest.recognition);
  service = new BiometricService(gallery, counting, toScore, policies, { maxPartitions: 100 });
});

afterAll(async () => {
  await gallery.close();
  data.remove();
});

describe('BiometricService', () => {
  it('searches the empty default partition without error; unknown partitions and subjects are named only after the image is processed', async () => {
    const empty = await service.search(fixture('faces/london_005/1.jpg'), defaults);
    expect(empty.candidates).toEqual([]);
    const before = processed;
    expect(await outcomeOf(service.search(fixture('faces/london_005/1.jpg'), { ...defaults, partition: 'nowhere' }))).toBe('unknown_partition');
    expect(await outcomeOf(service.verify(fixture('faces/london_005/1.jpg'), { ...defaults, subject_id: 'nobody' }))).toBe('unknown_subject');
    expect(processed).toBe(before + 2);
    // without a face, a verify key learns nothing about who is enrolled
    expect(await outcomeOf(service.verify(fixture('nonfaces/01.jpg'), { ...defaults, subject_id: 'nobody' }))).toBe('no_face_detected');
  });

  it('raises a requested threshold to the partition minimum, for verify and search alike', async () => {
    await service.enrol(fixture('faces/london_008/1.jpg'), { subject_id: 'london_008', partition: 'floor' });
    await service.enrol(fixture('faces/london_008/1.jpg'), { subject_id: 'london_008', partition: 'open-floor' });
    const impostor = fixture('faces/london_009/1.jpg');
    const raised = await service.verify(impostor, { subject_id: 'london_008', partition: 'floor', threshold: 0 });
    expect([raised.match, raised.threshold, raised.decision]).toEqual([false, 0.45, 'no_match']);
    const lowered = await service.verify(impostor, { subject_id: 'london_008', partition: 'open-floor', threshold: 0 });
    expect([lowered.match, lowered.threshold, lowered.decision]).toEqual([true, 0, 'match']);
    const search = await service.search(impostor, { ...defaults, partition: 'floor', threshold: 0, top_k: 100 });
    expect([search.candidates, search.threshold, search.decision]).toEqual([[], 0.45, 'no_hit']);
  });

  it('refuses an enrolment photo with two faces of like size, unless the partition takes the largest; a small second face is fine', async () => {
    const face = (file: string, size: number) => sharp(fixture(file)).resize(size).toBuffer();
    const photo = async (sizes: [number, number]) =>
      sharp({ create: { width: 1000, height: 600, channels: 3, background: '#ffffff' } })
        .composite([
          { input: await face('faces/Colin_Powell/1.jpg', sizes[0]), left: 20, top: 60 },
          { input: await face('faces/Donald_Rumsfeld/1.jpg', sizes[1]), left: 500, top: 60 },
        ])
        .png()
        .toBuffer();
    const pair = await photo([420, 450]);
    const refused = await service.enrol(pair, { subject_id: 'pair', partition: 'gate-c' }).catch((error: ApiError) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe('multiple_faces');
    expect((refused as ApiError).details.face_count).toBeGreaterThanOrEqual(2);
    expect(await gallery.subjectTemplates('gate-c', 'pair')).toBeUndefined();
    const largest = await service.enrol(pair, { subject_id: 'pair', partition: 'crowd' });
    expect(largest.faceCount).toBeGreaterThanOrEqual(2);
    const rumsfeld = await service.verify(fixture('faces/Donald_Rumsfeld/2.jpg'), { subject_id: 'pair', partition: 'crowd', threshold: 0.45 });
    expect(rumsfeld.match).toBe(true);
    const bystander = await service.enrol(await photo([200, 450]), { subject_id: 'with-bystander', partition: 'gate-c' });
    expect(bystander.faceCount).toBe(2);
  });

  it('finds a second identity for an enrolled face: refuses it, or enrols it and names the first', async () => {
    await service.enrol(fixture('faces/london_010/1.jpg'), { subject_id: 'alice', partition: 'refuse-twins' });
    // the same subject again is a second template, not a duplicate
    expect((await service.enrol(fixture('faces/london_010/2.jpg'), { subject_id: 'alice', partition: 'refuse-twins' })).decision).toBe('enrolled');
    const twin = await service.enrol(fixture('faces/london_010/2.jpg'), { subject_id: 'alias', partition: 'refuse-twins' }).catch((error: ApiError) => error);
    expect((twin as ApiError).code).toBe('duplicate_identity');
    expect((twin as ApiError).details.matched_subject_id).toBe('alice');
    expect(await gallery.subjectTemplates('refuse-twins', 'alias')).toBeUndefined();
    expect((await service.enrol(fixture('faces/london_011/1.jpg'), { subject_id: 'bob', partition: 'refuse-twins' })).decision).toBe('enrolled');

    await service.enrol(fixture('faces/london_010/1.jpg'), { subject_id: 'alice', partition: 'report-twins' });
    const reported = await service.enrol(fixture('faces/london_010/2.jpg'), { subject_id: 'alias', partition: 'report-twins' });
    expect([reported.decision, reported.duplicateOf?.subjectId, reported.matchedSubjectId]).toEqual(['duplicate_reported', 'alice', 'alice']);
    expect(reported.duplicateOf!.score).toBeGreaterThanOrEqual(0.5);
    expect(await gallery.subjectTemplates('report-twins', 'alias')).toHaveLength(1);
  });

  it('keeps the duplicate check and the insert atomic per partition: of concurrent enrolments of one face, one wins', async () => {
    const face = await faces.process(fixture('faces/london_013/1.jpg'), 'enrol');
    const attempts = await Promise.allSettled(
      ['first', 'second', 'third', 'fourth'].map((subject_id) => service.enrolFace(face, { subject_id, partition: 'refuse-twins' }, 'enrol')),
    );
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
    for (const attempt of attempts) if (attempt.status === 'rejected') expect((attempt.reason as ApiError).code).toBe('duplicate_identity');
  });

  it('counts partitions under one lock: concurrent enrolments creating partitions stop at limits.maxPartitions', async () => {
    const face = await faces.process(fixture('faces/london_014/1.jpg'), 'enrol');
    const full = new BiometricService(gallery, faces, toScore, policies, { maxPartitions: (await gallery.partitions()).length + 1 });
    const attempts = await Promise.allSettled(['race-a', 'race-b', 'race-c'].map((partition) => full.enrolFace(face, { subject_id: 'x', partition }, 'enrol')));
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
    for (const attempt of attempts) if (attempt.status === 'rejected') expect((attempt.reason as ApiError).code).toBe('partition_limit_reached');
  });

  it('refuses to create a partition past limits.maxPartitions, and still enrols into existing ones', async () => {
    const full = new BiometricService(gallery, faces, toScore, policies, { maxPartitions: (await gallery.partitions()).length });
    expect(await outcomeOf(full.enrol(fixture('faces/london_012/1.jpg'), { subject_id: 'x', partition: 'one-too-many' }))).toBe('partition_limit_reached');
    expect(await gallery.hasPartition('one-too-many')).toBe(false);
    expect(await outcomeOf(full.enrol(fixture('faces/london_012/1.jpg'), { subject_id: 'x', partition: 'gate-c' }))).toBe('ok');
    expect(await outcomeOf(full.enrol(fixture('faces/london_012/1.jpg'), { subject_id: 'x', partition: 'default' }))).toBe('ok');
  });

  it('ranks candidates by best template, keeps only those at or above the threshold', async () => {
    for (const id of ['london_005', 'london_006', 'london_007']) await service.enrol(fixture(`faces/${id}/1.jpg`), { subject_id: id, partition: 'gate-a' });
    const everyone = await service.search(fixture('faces/london_006/2.jpg'), { ...defaults, partition: 'gate-a', threshold: 0 });
    expect(everyone.candidates.map((c) => c.rank)).toEqual([1, 2, 3]);
    expect(everyone.candidates[0].subjectId).toBe('london_006');
    expect(everyone.candidates.every((c, i) => i === 0 || c.score <= everyone.candidates[i - 1].score)).toBe(true);
    const matches = await service.search(fixture('faces/london_006/2.jpg'), { ...defaults, partition: 'gate-a' });
    expect(matches.candidates.map((c) => c.subjectId)).toEqual(['london_006']);
  });

  it('verifies against the best of several templates and forgets a deleted subject', async () => {
    await service.enrol(fixture('faces/Colin_Powell/1.jpg'), { subject_id: 'powell', partition: 'gate-b' });
    await service.enrol(fixture('faces/Colin_Powell/3.jpg'), { subject_id: 'powell', partition: 'gate-b' });
    expect(await gallery.templateCounts('gate-b')).toEqual({ sqlite: 2, index: 2 });
    const verdict = await service.verify(fixture('faces/Colin_Powell/5.jpg'), { subject_id: 'powell', partition: 'gate-b', threshold: 0.45 });
    expect(verdict.match).toBe(true);
    await service.delete({ subject_id: 'powell', partition: 'gate-b' });
    expect(await outcomeOf(service.verify(fixture('faces/Colin_Powell/5.jpg'), { subject_id: 'powell', partition: 'gate-b', threshold: 0.45 }))).toBe('unknown_subject');
    await expect(service.delete({ subject_id: 'powell', partition: 'gate-b' })).rejects.toThrow(ApiError);
  });
});
