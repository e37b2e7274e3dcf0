// FacePipeline alone, warm, one request at a time: per-stage and total latency over the face fixtures
// (as enrol and as probe) and over a 640×480 JPEG made from one of them, the size the targets name.
// The 640×480 JPEG also goes through the earlier model bundle (models/manifest-faceplugin-68.json),
// alternating request by request with the served one, so both see the same machine load.
//   npm run bench:pipeline [-- --rounds N]
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.ts';
import { ApiError } from '../src/errors.ts';
import { FacePipeline } from '../src/pipeline/face-pipeline.ts';
import type { PipelinePurpose } from '../src/pipeline/types.ts';
import { fixtureImages, latency, vgaJpeg, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, vga: { type: 'string', default: '200' } } });
const TARGET = { p50: 35, p99: 80 };

// The pipeline exactly as the server configures it (PAD and quality gates on, its thread count).
const config = loadConfig();
const pipeline = await FacePipeline.create(config.modelsDir, config.pipeline);
const BEFORE_MANIFEST = 'manifest-faceplugin-68.json';
const before = await FacePipeline.create(config.modelsDir, { ...config.pipeline, manifest: BEFORE_MANIFEST });
const faces = fixtureImages('faces');
const vga = await vgaJpeg();

interface Run {
  stages: Record<string, number[]>;
  refused: Record<string, number>;
}

const emptyRun = (): Run => ({ stages: {}, refused: {} });

async function processInto(run: Run, by: FacePipeline, bytes: Uint8Array, purpose: PipelinePurpose): Promise<void> {
  try {
    const { timings } = await by.process(bytes, purpose);
    for (const [stage, ms] of Object.entries(timings)) (run.stages[stage] ??= []).push(ms);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    run.refused[error.code] = (run.refused[error.code] ?? 0) + 1;
  }
}

async function measure(images: readonly Uint8Array[], purpose: PipelinePurpose, rounds: number): Promise<Run> {
  const run = emptyRun();
  for (let round = 0; round < rounds; round++) for (const bytes of images) await processInto(run, pipeline, bytes, purpose);
  return run;
}

/** the served bundle and the earlier one on the same image, request by request */
async function alternate(bytes: Uint8Array, count: number): Promise<[Run, Run]> {
  const runs: [Run, Run] = [emptyRun(), emptyRun()];
  for (let i = 0; i < count; i++) {
    await processInto(runs[0], pipeline, bytes, 'probe');
    await processInto(runs[1], before, bytes, 'probe');
  }
  return runs;
}

// Warm-up: first inferences allocate ONNX arenas and JIT the JavaScript around them.
await measure(faces.slice(0, 10).map((f) => f.bytes), 'probe', 1);
for (const face of faces.slice(0, 10)) await processInto(emptyRun(), before, face.bytes, 'probe');

const rounds = Number(args.rounds);
const [vgaProbe, vgaProbeBefore] = await alternate(vga.bytes, Number(args.vga));
const runs = {
  vga_probe: vgaProbe,
  vga_probe_before: vgaProbeBefore,
  fixtures_enrol: await measure(faces.map((f) => f.bytes), 'enrol', rounds),
  fixtures_probe: await measure(faces.map((f) => f.bytes), 'probe', rounds),
};

const results = Object.fromEntries(
  Object.entries(runs).map(([name, run]) => [name, { refused: run.refused, stages: Object.fromEntries(Object.entries(run.stages).map(([stage, ms]) => [stage, latency(ms)])) }]),
);
for (const [name, { refused, stages }] of Object.entries(results)) {
  console.log(`\n${name}${Object.keys(refused).length ? ` (refused: ${JSON.stringify(refused)})` : ''}`);
  console.table(stages);
}
const vgaTotal = results.vga_probe.stages.total;
console.log(`\n640×480 total p50 ${vgaTotal.p50} ms (target ≤ ${TARGET.p50}), p99 ${vgaTotal.p99} ms (target ≤ ${TARGET.p99}); earlier bundle p50 ${results.vga_probe_before.stages.total.p50} ms`);
writeResults('pipeline', {
  config: { workers: 'n/a (calling thread)', intraOpThreads: config.pipeline.intraOpThreads, pad: config.pipeline.pad.enabled, bundle: pipeline.manifest.bundle, before_bundle: before.manifest.bundle },
  vga_image: vga.name,
  fixtures: faces.length,
  rounds,
  targets_ms: TARGET,
  results,
});
