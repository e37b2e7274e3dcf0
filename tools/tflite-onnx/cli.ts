// node --import tsx tools/tflite-onnx/cli.ts <in.tflite> <out.onnx>
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { convertTfliteToOnnx } from './converter.ts';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node --import tsx tools/tflite-onnx/cli.ts <in.tflite> <out.onnx>\n');
  process.exit(2);
}
try {
  const started = performance.now();
  const { onnx, report } = convertTfliteToOnnx(readFileSync(input));
  // Written beside the target and renamed, so a reader never sees half a model.
  writeFileSync(`${output}.partial`, onnx);
  renameSync(`${output}.partial`, output);
  const counts = (counted: Record<string, number>) => Object.entries(counted).map(([name, count]) => `${name}×${count}`).join(' ');
  process.stderr.write(`converted ${input} → ${output} (${onnx.byteLength} bytes, ${(performance.now() - started).toFixed(0)} ms)\n`);
  process.stderr.write(`  TFLite operators: ${counts(report.operators)}\n  ONNX nodes: ${counts(report.nodes)}\n`);
} catch (error) {
  process.stderr.write(`tflite-onnx: ${(error as Error).message}\n`);
  process.exit(1);
}
