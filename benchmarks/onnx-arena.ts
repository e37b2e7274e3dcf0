// What turning ONNX Runtime's per-session CPU arena and memory pattern off (src/pipeline/models/onnx.ts,
// for flat memory: see bench:soak) costs in inference time. Every model of the served bundle is opened
// three times — with the server's session options (both off), with the arena and memory pattern on (ONNX
// Runtime's default), and with only the memory pattern on — and the sessions run the same input in turn,
// run by run, so all see the same machine load.
//   npm run bench:onnx-arena [-- --runs 300]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { loadConfig } from '../src/config/config.ts';
import { loadModelManifest } from '../src/pipeline/model-manifest.ts';
import { imageInput, runModel, sessionOptions } from '../src/pipeline/models/onnx.ts';
import { latency, round, writeResults } from './fixtures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '300' } } });
const RUNS = Number(args.runs);

const config = loadConfig();
const manifest = loadModelManifest(config.modelsDir, config.pipeline.manifest);
const served = sessionOptions(config.pipeline.intraOpThreads);
const variants = {
  served,
  arena_on: { ...served, enableCpuMemArena: true, enableMemPattern: true },
  pattern_only: { ...served, enableMemPattern: true },
};
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];

const models: Record<string, unknown> = {};
const totals = Object.fromEntries(names.map((name) => [name, 0])) as Record<Variant, number>;
for (const entry of Object.values(manifest.roles)) {
  const file = join(manifest.modelsDir, entry.file);
  const sessions = await Promise.all(names.map((name) => ort.InferenceSession.create(file, variants[name])));
  const input = imageInput(sessions[0]);
  const data = Float32Array.from({ length: input.shape.reduce((a, b) => a * b, 1) }, (_, i) => (Math.sin(i) + 1) / 2);
  const times = names.map(() => [] as number[]);
  for (let run = -10; run < RUNS; run++) {
    for (const [index, session] of sessions.entries()) {
      const started = performance.now();
      await runModel(session, input, data);
      if (run >= 0) times[index].push(performance.now() - started);
    }
  }
  const summary = Object.fromEntries(names.map((name, index) => [name, latency(times[index])]));
  for (const name of names) totals[name] += summary[name].p50;
  models[entry.file] = { role: entry.role, input: input.shape, ...summary };
  console.log(entry.file, JSON.stringify(summary));
}
const sums = Object.fromEntries(names.map((name) => [`${name}_ms`, round(totals[name], 2)]));
console.log('sum of the models’ p50', JSON.stringify(sums));
writeResults('onnx-arena', { runs: RUNS, intra_op_threads: config.pipeline.intraOpThreads, models, sum_of_p50: sums });
