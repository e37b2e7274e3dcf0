import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.ts';
import { ApiError } from '../errors.ts';
import type { Gallery } from '../gallery/gallery.ts';
import { openTestGallery, recordingLogger, temporaryDataDir } from '../gallery/spec-support.ts';
import { pipelineConfigSchema } from '../pipeline/config.ts';
import { FacePipeline } from '../pipeline/face-pipeline.ts';
import { createScoreMapper } from '../pipeline/score.ts';
import { fixture } from '../../test/helpers/fixtures.ts';
import { BiometricService, type FaceProcessor } from './biometric.service.ts';

const defaults = { partition: 'default', top_k: 5, threshold: 0.45 };

let data: ReturnType<typeof temporaryDataDir>;
let gallery: Gallery;
let service: BiometricService;
/** counts pipeline runs, to show which refusals come before any image work */
let processed = 0;

beforeAll(async () => {
  const pipeline = await FacePipeline.create(resolve(PROJECT_ROOT, 'models'), pipelineConfigSchema.parse({}));
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
  gallery = openTestGallery(data.dataDir, recordingLogger().logger);
  service = new BiometricService(gallery, counting, createScoreMapper(pipeline.manifest.recognition));
});

afterAll(() => {
  gallery.close();
  data.remove();
});

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'ok';
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
}

describe('BiometricService', () => {
  it('searches the empty default partition without error, but refuses an unknown named one before any image work', async () => {
    const empty = await service.search(fixture('faces/london_005/1.jpg'), defaults);
    expect(empty.candidates).toEqual([]);
    const before = processed;
    expect(await refusal(service.search(fixture('faces/london_005/1.jpg'), { ...defaults, partition: 'nowhere' }))).toBe('unknown_partition');
    expect(await refusal(service.verify(fixture('faces/london_005/1.jpg'), { ...defaults, subject_id: 'nobody' }))).toBe('unknown_subject');
    expect(processed).toBe(before);
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
    expect(gallery.templateCounts('gate-b')).toEqual({ sqlite: 2, index: 2 });
    const verdict = await service.verify(fixture('faces/Colin_Powell/5.jpg'), { subject_id: 'powell', partition: 'gate-b', threshold: 0.45 });
    expect(verdict.match).toBe(true);
    service.delete({ subject_id: 'powell', partition: 'gate-b' });
    expect(await refusal(service.verify(fixture('faces/Colin_Powell/5.jpg'), { subject_id: 'powell', partition: 'gate-b', threshold: 0.45 }))).toBe('unknown_subject');
    expect(() => service.delete({ subject_id: 'powell', partition: 'gate-b' })).toThrow(ApiError);
  });
});
