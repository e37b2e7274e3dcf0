import { resolve } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { PROJECT_ROOT } from '../../config/config.ts';
import { pipelineConfigSchema } from '../config.ts';
import { decodeImage } from '../decode.ts';
import { rollDegrees } from '../geometry.ts';
import { Picture } from '../picture.ts';
import { anchorGrids, BACK_256_ANCHORS, BlazeFaceDetector, FULL_RANGE_ANCHORS, weightedSuppression } from './blazeface.ts';
import { openSession } from './onnx.ts';

const picture = async (bytes: Uint8Array) => new Picture(await decodeImage(bytes, 40_000_000));

let detector: BlazeFaceDetector;
beforeAll(async () => {
  const session = await openSession(resolve(PROJECT_ROOT, 'models', 'blazeface_back_256.onnx'), 1);
  detector = new BlazeFaceDetector(session, pipelineConfigSchema.parse({}).detection, BACK_256_ANCHORS);
});

describe('anchorGrids', () => {
  it('gives MediaPipe’s 896 anchors for the 256 back model: 2 per cell on 16×16, 6 per cell on 8×8', () => {
    const grids = anchorGrids(BACK_256_ANCHORS, 256, 256);
    expect(grids.get(16)).toHaveLength(512);
    expect(grids.get(32)).toHaveLength(384);
    expect(grids.get(16)![0]).toEqual({ x: 0.5 / 16, y: 0.5 / 16 });
    expect(grids.get(16)![1]).toEqual(grids.get(16)![0]);
    expect(grids.get(32)![6]).toEqual({ x: 1.5 / 8, y: 0.5 / 8 });
  });

  it('gives the 192 full-range model one anchor per cell on 48×48', () => {
    const grids = anchorGrids(FULL_RANGE_ANCHORS, 192, 192);
    expect([...grids.keys()]).toEqual([4]);
    expect(grids.get(4)).toHaveLength(2304);
    expect(grids.get(4)![1]).toEqual({ x: 1.5 / 48, y: 0.5 / 48 });
  });
});

describe('BlazeFaceDetector, full-range model', () => {
  it('finds the studio portrait’s face and eyes where the back model does', async () => {
    const fullRange = new BlazeFaceDetector(await openSession(resolve(PROJECT_ROOT, 'models', 'blazeface_full_range_192.onnx'), 1), pipelineConfigSchema.parse({}).detection, FULL_RANGE_ANCHORS);
    const image = await picture(fixture('faces/london_001/1.jpg'));
    const [back] = await detector.detect(image);
    const faces = await fullRange.detect(image);
    expect(faces).toHaveLength(1);
    expect(faces[0].score).toBeGreaterThan(0.8);
    const size = back.x2 - back.x1;
    for (const key of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(faces[0][key] - back[key])).toBeLessThan(0.15 * size);
    for (const e of [0, 1]) expect(Math.hypot(faces[0].eyes![e].x - back.eyes![e].x, faces[0].eyes![e].y - back.eyes![e].y)).toBeLessThan(0.08 * size);
  });
});

describe('BlazeFaceDetector', () => {
  it('finds the one face of a studio portrait, with both eyes inside the box, image-left first', async () => {
    const faces = await detector.detect(await picture(fixture('faces/london_001/1.jpg')));
    expect(faces).toHaveLength(1);
    const [face] = faces;
    expect(face.score).toBeGreaterThan(0.8);
    const [left, right] = face.eyes!;
    for (const eye of [left, right]) {
      expect(eye.x).toBeGreaterThan(face.x1);
      expect(eye.x).toBeLessThan(face.x2);
      expect(eye.y).toBeGreaterThan(face.y1);
      expect(eye.y).toBeLessThan((face.y1 + face.y2) / 2);
    }
    expect(right.x - left.x).toBeGreaterThan((face.x2 - face.x1) / 4);
    expect(Math.abs(rollDegrees(left, right))).toBeLessThan(8);
  });

  it('reads a rolled face’s angle from its eyes', async () => {
    const upright = (await detector.detect(await picture(fixture('faces/london_001/1.jpg'))))[0];
    const rolled = (await detector.detect(await picture(await sharp(fixture('faces/london_001/1.jpg')).rotate(30).jpeg().toBuffer())))[0];
    const roll = rollDegrees(rolled.eyes![0], rolled.eyes![1]) - rollDegrees(upright.eyes![0], upright.eyes![1]);
    expect(roll).toBeGreaterThan(22);
    expect(roll).toBeLessThan(38);
  });

  it('finds a face that fills the frame', async () => {
    const faces = await detector.detect(await picture(fixture('faces/bbt_amy/1.png')));
    expect(faces.length).toBeGreaterThanOrEqual(1);
  });
});

describe('weightedSuppression', () => {
  it('merges overlapping detections into their score-weighted mean and keeps separate ones', () => {
    const merged = weightedSuppression(
      [
        { x1: 0, y1: 0, x2: 10, y2: 10, score: 0.9 },
        { x1: 1, y1: 1, x2: 11, y2: 11, score: 0.3 },
        { x1: 50, y1: 50, x2: 60, y2: 60, score: 0.8 },
      ],
      0.3,
    );
    expect(merged).toHaveLength(2);
    expect(merged[0].x1).toBeCloseTo(0.25, 9);
    expect(merged[0].score).toBe(0.9);
    expect(merged[1].x1).toBe(50);
  });
});
