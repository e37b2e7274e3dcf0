// FacePipeline alone, warm, one request at a time: per-stage and total latency over the face fixtures
// (as enrol and as probe) and over a 640×480 JPEG made from one of them, the size the targets name.
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
const faces = fixtureImages('faces');
const vga = await vgaJpeg();

interface Run {
  stages: Record<string, number[]>;
  refused: Record<string, number>;
}

async function measure(images: readonly Uint8Array[], purpose: PipelinePurpose, rounds: number): Promise<Run> {
  const run: Run = { stages: {}, refused: {} };
  for (let round = 0; round < rounds; round++) {
    for (const bytes of images) {
      try {
        const { timings } = await pipeline.process(bytes, purpose);
        for (const [stage, ms] of Object.entries(timings)) (run.stages[stage] ??= []).push(ms);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        run.refused[error.code] = (run.refused[error.code] ?? 0) + 1;
      }
    }
  }
  return run;
}

// Warm-up: first inferences allocate ONNX arenas and JIT the JavaScript around them.
await measure(faces.slice(0, 10).map((f) => f.bytes), 'probe', 1);

const rounds = Number(args.rounds);
const runs = {
  vga_probe: await measure([vga.bytes], 'probe', Number(args.vga)),
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
console.log(`\n640×480 total p50 ${vgaTotal.p50} ms (target ≤ ${TARGET.p50}), p99 ${vgaTotal.p99} ms (target ≤ ${TARGET.p99})`);
writeResults('pipeline', {
  config: { workers: 'n/a (calling thread)', intraOpThreads: config.pipeline.intraOpThreads, pad: config.pipeline.pad.enabled },
  vga_image: vga.name,
  fixtures: faces.length,
  rounds,
  targets_ms: TARGET,
  results,
});
