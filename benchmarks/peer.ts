// Our pipeline against a peer, @vladmandic/face-api (TensorFlow.js, WASM backend, models shipped in the
// npm package), on the same images in the same process, alternating per image: detection + 128-d
// descriptor there, the full pipeline here (plus its core: decode → detect → landmarks → align → embed).
// Prints the per-image latency ratio peer / ours.
//   npm run bench:peer [-- --rounds N]
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../src/config/config.ts';
import { ApiError } from '../src/errors.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import { fixtureImages, latency, round, summarise, vgaJpeg, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as typeof import('@vladmandic/face-api');

// The WASM binaries and the weights both come from node_modules: nothing is fetched.
wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'dist')}/`, false);
await tf.setBackend('wasm');
await tf.ready();
const peerModels = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
await faceapi.nets.ssdMobilenetv1.loadFromDisk(peerModels);
await faceapi.nets.faceLandmark68Net.loadFromDisk(peerModels);
await faceapi.nets.faceRecognitionNet.loadFromDisk(peerModels);
const peerOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 1 });

/** Decode included, as in our pipeline: sharp to RGB, then a tensor. */
async function peerProcess(bytes: Uint8Array): Promise<boolean> {
  const { data, info } = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const tensor = tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32');
  try {
    const found = await faceapi.detectSingleFace(tensor as never, peerOptions).withFaceLandmarks().withFaceDescriptor();
    return found !== undefined;
  } finally {
    tensor.dispose();
  }
}

const config = loadConfig();
const ours = await FacePipeline.create(config.modelsDir, config.pipeline);
const CORE_STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed'];

const images = [...fixtureImages('faces'), await vgaJpeg()];
// Warm both: first inferences compile kernels and allocate arenas.
for (const { bytes } of images.slice(0, 5)) {
  await peerProcess(bytes);
  await ours.process(bytes, 'probe').catch(() => undefined);
}

const times = { ours: [] as number[], oursCore: [] as number[], peer: [] as number[] };
const ratios: number[] = [];
let peerMissed = 0;
let oursRefused = 0;
for (let round = 0; round < Number(args.rounds); round++) {
  for (const { bytes } of images) {
    let oursMs: number;
    try {
      const { timings } = await ours.process(bytes, 'probe');
      oursMs = timings.total;
      times.oursCore.push(CORE_STAGES.reduce((sum, stage) => sum + (timings[stage] ?? 0), 0));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      oursRefused++;
      continue;
    }
    const started = performance.now();
    if (!(await peerProcess(bytes))) peerMissed++;
    const peerMs = performance.now() - started;
    times.ours.push(oursMs);
    times.peer.push(peerMs);
    ratios.push(peerMs / oursMs);
  }
}

const table = {
  'ours (full pipeline: + PAD, quality)': latency(times.ours),
  'ours (decode → embed only)': latency(times.oursCore),
  'face-api (decode, SSD MobileNet v1, 68 landmarks, descriptor)': latency(times.peer),
};
console.table(table);
const ratio = summarise(ratios, [10, 50, 90]);
console.log(`per-image latency ratio face-api / ours: median ${round(ratio.percentiles.p50, 2)} (p10 ${round(ratio.percentiles.p10, 2)}, p90 ${round(ratio.percentiles.p90, 2)}) over ${ratios.length} images`);
console.log(`face-api found no face in ${peerMissed}; ours refused ${oursRefused} (left out of the comparison)`);
writeResults('peer', {
  peer: { package: '@vladmandic/face-api', version: faceapi.version, tfjs: tf.version.tfjs, backend: tf.getBackend() },
  images: images.length,
  rounds: Number(args.rounds),
  latency_ms: table,
  ratio_peer_over_ours: { median: round(ratio.percentiles.p50, 3), p10: round(ratio.percentiles.p10, 3), p90: round(ratio.percentiles.p90, 3) },
  peer_missed: peerMissed,
  ours_refused: oursRefused,
});
