// The MediaPipe face-landmark model as setup produces it: fetched from npm, cut out of the
// packed assets, converted by tools/tflite-onnx, pinned by sha256 — then run on fixture faces.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { ensureModels } from '../../scripts/fetch-models.mjs';
import { FIXTURES_DIR } from '../helpers/fixtures.ts';
import { MESH_ONNX_SHA256, meshManifestEntry } from '../helpers/mesh-model.ts';

const work = mkdtempSync(join(tmpdir(), 'faceserver-mesh-test-'));
const logged: string[] = [];

function runModelStep(dir: string, models: object[]): void {
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify({ bundle: 'test', models }));
  ensureModels({ root: PROJECT_ROOT, manifestPath, modelsDir: dir, log: (message) => logged.push(message) });
}

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const firstDir = mkdtempSync(join(work, 'first-'));
const secondDir = mkdtempSync(join(work, 'second-'));
let session: ort.InferenceSession;

beforeAll(async () => {
  runModelStep(firstDir, [meshManifestEntry()]);
  session = await ort.InferenceSession.create(join(firstDir, 'face_landmark_468.onnx'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('setup model step for a converted TFLite model', () => {
  it('converts to the pinned bytes, twice over (the conversion is deterministic)', () => {
    runModelStep(secondDir, [meshManifestEntry()]);
    expect(sha256Of(join(firstDir, 'face_landmark_468.onnx'))).toBe(MESH_ONNX_SHA256);
    expect(sha256Of(join(secondDir, 'face_landmark_468.onnx'))).toBe(MESH_ONNX_SHA256);
    expect(logged.filter((line) => line.includes('face_landmark_468.onnx (converted: tflite-to-onnx)'))).toHaveLength(2);
  });

  it('leaves a model that is already there with the right sha256 alone', () => {
    const path = join(firstDir, 'face_landmark_468.onnx');
    const before = statSync(path).mtimeMs;
    const lines = logged.length;
    runModelStep(firstDir, [meshManifestEntry()]);
    expect(statSync(path).mtimeMs).toBe(before);
    expect(logged).toHaveLength(lines);
  });

  it('refuses source bytes whose sha256 is not the pinned one, and writes nothing', () => {
    const dir = mkdtempSync(join(work, 'wrong-'));
    const wrong = '0'.repeat(64);
    expect(() => runModelStep(dir, [meshManifestEntry({ sha256: wrong })])).toThrow(`manifest expects ${wrong}`);
    expect(() => statSync(join(dir, 'face_landmark_468.onnx'))).toThrow();
  });
});

interface Box {
  x: [number, number];
  y: [number, number];
}

interface HandMeasuredFace {
  image: string;
  /** square crop fed to the model: the face (brows to chin, cheek to cheek) at about 1.5× */
  crop: { left: number; top: number; size: number };
  rightEye: Box;
  leftEye: Box;
  mouth: Box;
  chin: Box;
  noseTip: Box;
}

/*
 * Boxes measured by eye on each photo overlaid with a labelled grid (50 px, and 10 px zoomed in on
 * the mouth, on the 1350×1350 London photos; 10 px on the 250×250 LFW photo): the visible extent
 * of each eye (corner to corner, upper lid to lower lid) and of the lips, widened by a margin of
 * 15 px (London, faces ≈ 500 px wide) or 4 px (LFW, face ≈ 100 px wide); chin and nose tip as
 * the measured point ± 7–8 % of the face width. "Right eye" is the subject's right (image left).
 */
const FACES: HandMeasuredFace[] = [
  {
    image: 'faces/london_001/1.jpg',
    crop: { left: 322, top: 360, size: 720 },
    rightEye: { x: [498, 627], y: [592, 671] },
    leftEye: { x: [706, 843], y: [590, 670] },
    mouth: { x: [580, 767], y: [813, 902] },
    chin: { x: [660, 740], y: [949, 1029] },
    noseTip: { x: [647, 717], y: [717, 787] },
  },
  {
    image: 'faces/london_002/2.jpg', // smiling, mouth open
    crop: { left: 255, top: 335, size: 850 },
    rightEye: { x: [489, 621], y: [625, 703] },
    leftEye: { x: [729, 865], y: [625, 705] },
    mouth: { x: [540, 785], y: [845, 970] },
    chin: { x: [629, 709], y: [1020, 1100] },
    noseTip: { x: [630, 700], y: [759, 829] },
  },
  {
    image: 'faces/George_W_Bush/1.jpg',
    crop: { left: 55, top: 65, size: 150 },
    rightEye: { x: [95, 119], y: [107, 122] },
    leftEye: { x: [128, 156], y: [107, 122] },
    mouth: { x: [97, 145], y: [153, 170] },
    chin: { x: [114, 130], y: [181, 197] },
    noseTip: { x: [115, 129], y: [133, 147] },
  },
];

// MediaPipe face-mesh topology (the model's output order).
const RIGHT_EYE_CONTOUR = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246];
const LEFT_EYE_CONTOUR = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466];
const OUTER_LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185];
const LOWER_JAW = [172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397];
const CHIN = 152;
const NOSE_TIP = 1;

type Point = [number, number];

/** The model's 468 points in the photo's pixel coordinates, and its face probability. */
async function landmarks(face: HandMeasuredFace): Promise<{ points: Point[]; faceProbability: number }> {
  const { left, top, size } = face.crop;
  const pixels = await sharp(resolve(FIXTURES_DIR, face.image)).removeAlpha().extract({ left, top, width: size, height: size }).resize(192, 192).raw().toBuffer();
  const input = new ort.Tensor('float32', Float32Array.from(pixels, (v) => v / 255), [1, 192, 192, 3]);
  const results = await session.run({ input_1: input });
  const raw = results.conv2d_21!.data as Float32Array;
  const points = Array.from({ length: 468 }, (_, i): Point => [left + (raw[i * 3]! * size) / 192, top + (raw[i * 3 + 1]! * size) / 192]);
  const logit = (results.conv2d_31!.data as Float32Array)[0]!;
  return { points, faceProbability: 1 / (1 + Math.exp(-logit)) };
}

function outside(points: Point[], indices: number[], box: Box): string[] {
  return indices
    .filter((i) => {
      const [x, y] = points[i]!;
      return x < box.x[0] || x > box.x[1] || y < box.y[0] || y > box.y[1];
    })
    .map((i) => `${i} at (${points[i]![0].toFixed(0)}, ${points[i]![1].toFixed(0)})`);
}

describe('converted face-landmark model on fixture faces (hand-measured expectations)', () => {
  it('has the TFLite model’s inputs and outputs', () => {
    expect(session.inputNames).toEqual(['input_1']);
    expect(session.outputNames).toEqual(['conv2d_21', 'conv2d_31']);
  });

  it.each(FACES)('$image: eyes, lips, chin and nose land where they are in the photo', async (face) => {
    const { points, faceProbability } = await landmarks(face);
    expect(faceProbability).toBeGreaterThan(0.9);
    expect(outside(points, RIGHT_EYE_CONTOUR, face.rightEye)).toEqual([]);
    expect(outside(points, LEFT_EYE_CONTOUR, face.leftEye)).toEqual([]);
    expect(outside(points, OUTER_LIPS, face.mouth)).toEqual([]);
    expect(outside(points, [CHIN], face.chin)).toEqual([]);
    expect(outside(points, [NOSE_TIP], face.noseTip)).toEqual([]);
    // Vertical order of the face: eyes above the nose tip, above the lips, above the jaw line.
    const eyesLowest = Math.max(...[...RIGHT_EYE_CONTOUR, ...LEFT_EYE_CONTOUR].map((i) => points[i]![1]));
    const lipsTop = Math.min(...OUTER_LIPS.map((i) => points[i]![1]));
    const lipsCentre = OUTER_LIPS.reduce((sum, i) => sum + points[i]![1], 0) / OUTER_LIPS.length;
    expect(points[NOSE_TIP]![1]).toBeGreaterThan(eyesLowest);
    expect(lipsTop).toBeGreaterThan(points[NOSE_TIP]![1]);
    for (const i of LOWER_JAW) expect(points[i]![1]).toBeGreaterThan(lipsCentre);
  });

  it('gives a low face probability on photos without a face', async () => {
    const nonfaces = ['01.jpg', '02.jpg', '05.jpg', '16.jpg', '23.jpg'];
    for (const name of nonfaces) {
      const pixels = await sharp(resolve(FIXTURES_DIR, 'nonfaces', name)).removeAlpha().resize(192, 192, { fit: 'fill' }).raw().toBuffer();
      const results = await session.run({ input_1: new ort.Tensor('float32', Float32Array.from(pixels, (v) => v / 255), [1, 192, 192, 3]) });
      const probability = 1 / (1 + Math.exp(-(results.conv2d_31!.data as Float32Array)[0]!));
      expect(probability, name).toBeLessThan(0.1);
    }
  });
});
