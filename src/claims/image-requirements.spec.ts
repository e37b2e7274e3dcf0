import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../test/helpers/fixtures.ts';
import { j2kCodestream, jp2File } from '../../test/helpers/jpeg2000.ts';
import { outcomeOf } from '../../test/helpers/outcome.ts';
import { ISSUE_CODES } from '../compliance/profiles.ts';
import { claimsConfigSchema } from './config.ts';
import { EnrolmentImageRequirements } from './image-requirements.ts';

// The file checks, which run before any model; the face checks run on real verdicts in test/claims/.

const requirements = new EnrolmentImageRequirements(claimsConfigSchema.parse({}));
const fileOutcome = (bytes: Uint8Array) => outcomeOf(Promise.resolve().then(() => requirements.checkFile(bytes)));
const photo = fixture('faces/london_002/1.jpg');

describe('EnrolmentImageRequirements.checkFile', () => {
  it('accepts JPEG, PNG, a JP2 file and a raw JPEG 2000 codestream', async () => {
    expect(await fileOutcome(photo)).toBe('ok');
    expect(await fileOutcome(await sharp(photo).resize(400).png().toBuffer())).toBe('ok');
    expect(await fileOutcome(await jp2File(photo, { width: 300 }))).toBe('ok');
    expect(await fileOutcome(await j2kCodestream(photo, { width: 300 }))).toBe('ok');
  });

  it('refuses GIF and WebP, which the other endpoints decode, and anything over 2 MiB', async () => {
    expect(await fileOutcome(await sharp(photo).resize(300).gif().toBuffer())).toBe('unsupported_image_format');
    expect(await fileOutcome(await sharp(photo).resize(300).webp().toBuffer())).toBe('unsupported_image_format');
    const large = Buffer.concat([photo, Buffer.alloc(2 * 1024 * 1024 + 1 - photo.length)]);
    expect(await fileOutcome(large)).toBe('image_too_large');
    expect(await fileOutcome(large.subarray(0, 2 * 1024 * 1024))).toBe('ok');
  });
});

describe('EnrolmentImageRequirements.complianceRequest', () => {
  it('judges eid and oid by the icao profile, selfie by the enrolment profile, every issue at the configured sensitivity', () => {
    expect(requirements.complianceRequest('eid').profile).toBe('icao');
    expect(requirements.complianceRequest('oid').profile).toBe('icao');
    expect(requirements.complianceRequest('selfie').profile).toBe('enrolment');
    const strict = new EnrolmentImageRequirements(claimsConfigSchema.parse({ complianceSensitivity: 'HIGH' })).complianceRequest('eid');
    expect(Object.keys(strict.issueSensitivityOverride).sort()).toEqual([...ISSUE_CODES].sort());
    expect(new Set(Object.values(strict.issueSensitivityOverride))).toEqual(new Set(['HIGH']));
  });
});
