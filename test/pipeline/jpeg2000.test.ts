// JPEG 2000 on the pipeline: e-passport chip images are JPEG 2000, which sharp's prebuilt binaries do
// not read; the server decodes them with OpenJPEG (src/pipeline/jpeg2000.ts).
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { pipelineConfigSchema } from '../../src/pipeline/config.ts';
import { decodeImage } from '../../src/pipeline/decode.ts';
import { FacePipeline } from '../../src/pipeline/face-pipeline.ts';
import { codestreamOf, jpeg2000Size } from '../../src/pipeline/jpeg2000.ts';
import { cosineForScore } from '../../src/pipeline/score.ts';
import { fixture } from '../helpers/fixtures.ts';
import { j2kCodestream, jp2File } from '../helpers/jpeg2000.ts';
import { outcomeOf } from '../helpers/outcome.ts';

const MAX_PIXELS = 40_000_000;
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);

let pipeline: FacePipeline;
let operatingCosine: number;
let chipImage: Buffer;

beforeAll(async () => {
  pipeline = await FacePipeline.create(resolve(PROJECT_ROOT, 'models'), pipelineConfigSchema.parse({}));
  operatingCosine = cosineForScore(pipeline.manifest.recognition, 0.45);
  // about the size of an e-passport chip portrait
  chipImage = await jp2File(fixture('faces/london_007/1.jpg'), { width: 480 });
});

describe('JPEG 2000', () => {
  it('decodes a JP2 file to the same picture as its source, within lossy-coding error', async () => {
    const decoded = await decodeImage(chipImage, MAX_PIXELS);
    expect([decoded.width, decoded.height]).toEqual([480, 480]);
    const mean = decoded.data.reduce((sum, v) => sum + v, 0) / decoded.data.length;
    expect(mean).toBeGreaterThan(40);
    expect(mean).toBeLessThan(220);
  });

  it('enrols a JP2 chip image whose template matches a JPEG photo of the same person', async () => {
    const chip = await pipeline.process(chipImage, 'enrol');
    const photo = await pipeline.process(fixture('faces/london_007/2.jpg'), 'probe');
    const stranger = await pipeline.process(fixture('faces/london_008/2.jpg'), 'probe');
    expect(cosine(chip.template, photo.template)).toBeGreaterThan(operatingCosine);
    expect(cosine(chip.template, stranger.template)).toBeLessThan(operatingCosine);
  });

  it('reads a bare J2K codestream and a grey-scale JP2', async () => {
    const bare = await j2kCodestream(fixture('faces/london_009/1.jpg'), { width: 400 });
    expect((await decodeImage(bare, MAX_PIXELS)).width).toBe(400);
    const grey = await jp2File(fixture('faces/london_009/1.jpg'), { width: 400, grey: true });
    const decoded = await decodeImage(grey, MAX_PIXELS);
    expect(decoded.data.length).toBe(400 * 400 * 3);
    expect(decoded.data[3 * 200 * 400 + 600]).toBe(decoded.data[3 * 200 * 400 + 601]); // R = G on a grey picture
  });

  it('refuses a truncated file, a file without a codestream and a decompression bomb, each with its code', async () => {
    expect(await outcomeOf(decodeImage(chipImage.subarray(0, chipImage.length / 2), MAX_PIXELS))).toBe('image_decode_failed');
    // a codestream cut short would still decode (JPEG 2000 is progressive): its missing end marker refuses it
    const codestream = codestreamOf(chipImage);
    expect(await outcomeOf(decodeImage(codestream.subarray(0, codestream.length - 100), MAX_PIXELS))).toBe('image_decode_failed');
    const noCodestream = chipImage.subarray(0, chipImage.indexOf('jp2c') - 4);
    expect(await outcomeOf(decodeImage(noCodestream, MAX_PIXELS))).toBe('image_decode_failed');
    // the SIZ marker claims 60000 × 60000: refused from the header, before OpenJPEG allocates anything
    const bomb = Buffer.from(codestreamOf(chipImage));
    bomb.writeUInt32BE(60_000, 8);
    bomb.writeUInt32BE(60_000, 12);
    expect(jpeg2000Size(bomb)).toEqual({ width: 60_000, height: 60_000 });
    expect(await outcomeOf(decodeImage(bomb, MAX_PIXELS))).toBe('payload_too_large');
  });
});
