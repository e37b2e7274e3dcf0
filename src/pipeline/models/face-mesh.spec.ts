import { resolve } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { PROJECT_ROOT } from '../../config/config.ts';
import { pipelineConfigSchema } from '../config.ts';
import { decodeImage } from '../decode.ts';
import { distance } from '../geometry.ts';
import { Picture } from '../picture.ts';
import { BACK_256_ANCHORS, BlazeFaceDetector } from './blazeface.ts';
import { MediaPipeFaceMesh } from './face-mesh.ts';
import { openSession } from './onnx.ts';
import type { FaceLandmarks } from './roles.ts';

const MODELS = resolve(PROJECT_ROOT, 'models');
let detector: BlazeFaceDetector;
let mesh: MediaPipeFaceMesh;
beforeAll(async () => {
  detector = new BlazeFaceDetector(await openSession(resolve(MODELS, 'blazeface_back_256.onnx'), 1), pipelineConfigSchema.parse({}).detection, BACK_256_ANCHORS);
  mesh = new MediaPipeFaceMesh(await openSession(resolve(MODELS, 'face_landmark_468.onnx'), 1));
});

async function landmarksOf(bytes: Uint8Array): Promise<FaceLandmarks> {
  const picture = new Picture(await decodeImage(bytes, 40_000_000));
  const [face] = await detector.detect(picture);
  return mesh.landmarks(picture, face);
}

describe('MediaPipeFaceMesh', () => {
  it('places the five alignment points of a frontal face where a face has them', async () => {
    const marks = await landmarksOf(fixture('faces/london_001/1.jpg'));
    expect(marks.points).toHaveLength(468);
    expect(marks.faceProbability).toBeGreaterThan(0.9);
    const [leftEye, rightEye, nose, mouthLeft, mouthRight] = marks.five;
    const eyeGap = distance(leftEye, rightEye);
    // a 1350-pixel studio portrait: eyes some 200 pixels apart and level
    expect(eyeGap).toBeGreaterThan(150);
    expect(Math.abs(leftEye.y - rightEye.y)).toBeLessThan(0.1 * eyeGap);
    // nose below and between the eyes, mouth corners below the nose and about as far apart as the eyes are
    expect(nose.y).toBeGreaterThan(leftEye.y + 0.3 * eyeGap);
    expect(nose.x).toBeGreaterThan(leftEye.x);
    expect(nose.x).toBeLessThan(rightEye.x);
    expect(mouthLeft.y).toBeGreaterThan(nose.y);
    expect(mouthRight.y).toBeGreaterThan(nose.y);
    expect(distance(mouthLeft, mouthRight)).toBeGreaterThan(0.5 * eyeGap);
    expect(distance(mouthLeft, mouthRight)).toBeLessThan(1.2 * eyeGap);
  });

  it('measures open eyes, a closed mouth and the chin below, the crown above', async () => {
    const { features, five } = await landmarksOf(fixture('faces/london_001/1.jpg'));
    expect(features!.eyelidOpening[0]).toBeGreaterThan(0.15);
    expect(features!.eyelidOpening[1]).toBeGreaterThan(0.15);
    expect(features!.lipOpening).toBeLessThan(0.1);
    const mouthY = (five[3].y + five[4].y) / 2;
    expect(features!.chin.y).toBeGreaterThan(mouthY);
    expect(features!.forehead.y).toBeLessThan(five[0].y);
    expect(features!.crown.y).toBeLessThan(features!.forehead.y);
    expect(features!.oval).toHaveLength(36);
  });

  it('measures a smile with parted lips as a wider lip opening than the same face at rest', async () => {
    // london_002: neutral (1.jpg) and smiling with the teeth showing (2.jpg), checked by eye
    const neutral = await landmarksOf(fixture('faces/london_002/1.jpg'));
    const smiling = await landmarksOf(fixture('faces/london_002/2.jpg'));
    expect(neutral.features!.lipOpening).toBeLessThan(0.08);
    expect(smiling.features!.lipOpening).toBeGreaterThan(0.12);
  });

  it('gives a low face probability for a crop without a face', async () => {
    const picture = new Picture(await decodeImage(await sharp(fixture('nonfaces/01.jpg')).toBuffer(), 40_000_000));
    const marks = await mesh.landmarks(picture, { x1: 100, y1: 100, x2: 300, y2: 300, score: 0.9 });
    expect(marks.faceProbability).toBeLessThan(0.5);
  });
});
