import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComplianceService } from '../compliance/compliance.service.ts';
import { measurePhoto } from '../compliance/measures/index.ts';
import { loadProfiles } from '../compliance/profiles.ts';
import { PROJECT_ROOT } from '../config/config.ts';
import type { Gallery } from '../gallery/gallery.ts';
import { openTestGallery, recordingLogger, temporaryDataDir } from '../../test/helpers/gallery-support.ts';
import { pipelineConfigSchema } from '../pipeline/config.ts';
import { FacePipeline } from '../pipeline/face-pipeline.ts';
import { createScoreMapper } from '../pipeline/score.ts';
import { BiometricService, type FaceProcessor } from '../services/biometric.service.ts';
import { PartitionPolicies, policyConfigSchema } from '../services/partition-policy.ts';
import { fixture } from '../../test/helpers/fixtures.ts';
import { outcomeOf } from '../../test/helpers/outcome.ts';
import { ClaimTokenRepository } from './claim-token.repository.ts';
import { ClaimsService, type ClaimCaller } from './claims.service.ts';
import { claimsConfigSchema } from './config.ts';
import { EnrolmentImageRequirements } from './image-requirements.ts';
import { DifferentialMad } from '../mad/differential-mad.ts';
import { loadMorphModels } from '../mad/morph-models.ts';
import { fixtureMorph } from '../../test/helpers/morphs.ts';

// The claims service over the real pipeline (in this thread), a real gallery and a real token store,
// with the clock injected: expiry is tested by moving time, not by waiting.

const config = claimsConfigSchema.parse({});
const madConfig = pipelineConfigSchema.parse({}).mad;
const TTL_MS = config.tokenTtlSeconds * 1000;
const caller = (keyId: string | null): ClaimCaller => ({ keyId, claimTokenId: undefined, target: () => undefined });
const client = caller('fsk_000000000001');

let data: ReturnType<typeof temporaryDataDir>;
let gallery: Gallery;
let tokens: ClaimTokenRepository;
let claims: ClaimsService;
let now = Date.parse('2026-11-24T10:00:00Z');
let pipeline: FacePipeline;
let biometric: BiometricService;
/** the service with differential MAD on, as the server runs it, over the current token store */
let withMad: () => ClaimsService;
/** pipeline runs (recognition and photo measurement), to show which refusals come before any image work */
let imageWork = 0;

beforeAll(async () => {
  pipeline = await FacePipeline.create(resolve(PROJECT_ROOT, 'models'), pipelineConfigSchema.parse({}));
  const faces: FaceProcessor = {
    modelId: pipeline.modelId,
    assertCanAccept: () => undefined,
    process: (image, purpose) => {
      imageWork++;
      return pipeline.process(image, purpose);
    },
  };
  const compliance = new ComplianceService(
    {
      assertCanAccept: () => undefined,
      measurePhoto: async (image) => {
        imageWork++;
        return measurePhoto(await pipeline.examine(image));
      },
    },
    loadProfiles(),
  );
  data = temporaryDataDir();
  gallery = await openTestGallery(data.dataDir, recordingLogger().logger);
  tokens = new ClaimTokenRepository(join(data.dataDir, 'claims.sqlite'));
  const policies = new PartitionPolicies(policyConfigSchema.parse({}));
  biometric = new BiometricService(gallery, faces, createScoreMapper(pipeline.manifest.recognition), policies, { maxPartitions: 100 });
  claims = new ClaimsService(tokens, biometric, faces, compliance, new EnrolmentImageRequirements(config), config, 0.45, undefined, undefined, () => now);
  const differentialMad = new DifferentialMad(loadMorphModels(pipeline.manifest)!.differential!, madConfig.differentialThreshold);
  withMad = () => new ClaimsService(tokens, biometric, faces, compliance, new EnrolmentImageRequirements(config), config, 0.45, differentialMad, undefined, () => now);
}, 120_000);

afterAll(async () => {
  tokens?.close();
  await gallery?.close();
  data?.remove();
});

const enrolPhoto = () => fixture('faces/london_010/1.jpg');
const livePhoto = () => fixture('faces/london_010/2.jpg');

describe('ClaimsService', () => {
  it('refuses an expired enrol token before any image work, and enrols with a fresh one', async () => {
    const issued = claims.issueEnrolToken({ user_id: 'late', partition: 'spec', source: 'selfie' }, client);
    expect(issued.expiresAt).toBe(now + TTL_MS);
    now += TTL_MS;
    const before = imageWork;
    expect(await outcomeOf(claims.enrolImage(issued.token, enrolPhoto(), undefined, client))).toBe('token_expired');
    expect(imageWork).toBe(before);
    expect(await gallery.subjectTemplates('spec', 'late')).toBeUndefined();

    const fresh = claims.issueEnrolToken({ user_id: 'late', partition: 'spec', source: 'selfie' }, client);
    now += TTL_MS - 1;
    const enrolled = await claims.enrolImage(fresh.token, enrolPhoto(), 'selfie', client);
    expect(enrolled).toMatchObject({ userId: 'late', source: 'selfie' });
    expect((await gallery.subjectTemplates('spec', 'late'))?.map((t) => t.source)).toEqual(['selfie']);
  });

  it('keeps a recorded outcome from being validated once the token expired', async () => {
    const live = await claims.issueVerifyToken({ user_id: 'late', partition: 'spec' }, client);
    expect((await claims.verifyImage(live.token, livePhoto(), client)).triesLeft).toBe(config.maxTries - 1);
    now += TTL_MS;
    expect(await outcomeOf(Promise.resolve().then(() => claims.validate(live.token, 'late', client)))).toBe('token_expired');
    // the outcome stays on the user's record for an operator
    const record = claims.history('spec', 'late').find((t) => t.tokenId === live.tokenId)!;
    expect(record.outcome).toMatchObject({ passed: true, source: 'selfie', mad: 'not_configured' });
    expect(record.validatedAt).toBeNull();
  });

  it('validates once, for its own key and user only', async () => {
    const live = await claims.issueVerifyToken({ user_id: 'late', partition: 'spec' }, client);
    await claims.verifyImage(live.token, livePhoto(), client);
    const validate = (userId: string, who: ClaimCaller) => outcomeOf(Promise.resolve().then(() => claims.validate(live.token, userId, who)));
    expect(await validate('late', caller('fsk_000000000002'))).toBe('token_wrong_key');
    expect(await validate('late', caller(null))).toBe('token_wrong_key');
    expect(await validate('someone-else', client)).toBe('token_wrong_user');
    const outcome = claims.validate(live.token, 'late', client);
    expect(outcome).toMatchObject({ passed: true, source: 'selfie' });
    expect(outcome.score).toBeGreaterThanOrEqual(outcome.threshold!);
    expect(await validate('late', client)).toBe('token_used');
  });

  it('lets concurrent image posts take no more tries than the token has; a refused format runs no model', async () => {
    const issued = claims.issueEnrolToken({ user_id: 'crowd', partition: 'spec', source: 'selfie' }, client);
    const gif = Buffer.from('GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000;', 'latin1');
    const before = imageWork;
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => outcomeOf(claims.enrolImage(issued.token, gif, undefined, client))));
    expect(outcomes.filter((o) => o === 'unsupported_image_format')).toHaveLength(config.maxTries);
    expect(outcomes.filter((o) => o === 'token_tries_exhausted')).toHaveLength(6 - config.maxTries);
    expect(imageWork).toBe(before);
    expect(await gallery.subjectTemplates('spec', 'crowd')).toBeUndefined();
  });

  it('records a live capture the pipeline refuses as a failed outcome, with its reason', async () => {
    const live = await claims.issueVerifyToken({ user_id: 'late', partition: 'spec' }, client);
    await claims.verifyImage(live.token, fixture('nonfaces/01.jpg'), client);
    expect(claims.validate(live.token, 'late', client)).toMatchObject({ passed: false, failureReason: 'no_face_detected', mad: 'not_configured' });
  });

  it('stores tokens only as hashes: the token store holds no secret', async () => {
    const issued = claims.issueEnrolToken({ user_id: 'hashed', partition: 'spec', source: 'eid' }, client);
    tokens.close();
    tokens = new ClaimTokenRepository(join(data.dataDir, 'claims.sqlite'));
    const files = ['claims.sqlite', 'claims.sqlite-wal'].map((name) => {
      try {
        return readFileSync(join(data.dataDir, name));
      } catch {
        return Buffer.alloc(0);
      }
    });
    const secret = Buffer.from(issued.token, 'base64url');
    for (const file of files) {
      expect(file.includes(Buffer.from(issued.token))).toBe(false);
      expect(file.includes(secret)).toBe(false);
    }
    expect(tokens.find(issued.tokenId)).toMatchObject({ userId: 'hashed', purpose: 'enrol', source: 'eid' });
  });

  describe('with differential MAD on', () => {
    let guarded: ClaimsService;
    beforeAll(() => {
      guarded = withMad();
    });

    it('passes a genuine live capture against a genuine trusted photo, MAD passed', async () => {
      await biometric.enrolFace(await pipeline.process(enrolPhoto(), 'enrol'), { partition: 'mad', subject_id: 'genuine' }, 'eid');
      const live = await guarded.issueVerifyToken({ user_id: 'genuine', partition: 'mad' }, client);
      await guarded.verifyImage(live.token, livePhoto(), client);
      expect(guarded.validate(live.token, 'genuine', client)).toMatchObject({ passed: true, mad: 'passed' });
    });

    it('fails a live capture of a contributor against a morphed trusted photo that matches them', async () => {
      // the trusted photo is a morph of london_003 and london_004; london_003 presents themselves live
      const morph = await fixtureMorph(pipeline, 'faces/london_003/1.jpg', 'faces/london_004/1.jpg', { alpha: 0.5, variant: 'spliced' });
      await biometric.enrolFace(await pipeline.process(morph, 'probe'), { partition: 'mad', subject_id: 'morphed' }, 'eid');
      const live = await guarded.issueVerifyToken({ user_id: 'morphed', partition: 'mad' }, client);
      await guarded.verifyImage(live.token, fixture('faces/london_003/2.jpg'), client);
      const outcome = guarded.validate(live.token, 'morphed', client);
      expect(outcome).toMatchObject({ passed: false, mad: 'failed', failureReason: 'morphing_attack_detected' });
      // the morph does match its contributor: without MAD the claim would have passed
      expect(outcome.score).toBeGreaterThanOrEqual(outcome.threshold!);
    });
  });
});
