// Google's TFLite runtime (LiteRT.js 2.5: the TFLite interpreter with XNNPACK, compiled to
// WebAssembly) running in Node, as the reference the converted ONNX models are held to.
// LiteRT.js is written for browsers: it loads its Emscripten module with importScripts() or a
// <script> tag, which leaves `self.ModuleFactory` behind. The Emscripten module itself supports
// Node, so the shim below evaluates it as the CommonJS script it is (it finds its .wasm beside it).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const WASM_DIR = join(dirname(require.resolve('@litertjs/core/package.json')), 'wasm');

/** The browser globals LiteRT.js's loader reads and writes. */
const scope = globalThis as unknown as { self?: unknown; importScripts?: (url: string) => void; ModuleFactory?: unknown };

function importScript(url: string): void {
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  const module = { exports: {} as unknown };
  const evaluate = new Function('module', 'exports', 'require', '__dirname', '__filename', readFileSync(file, 'utf8'));
  evaluate(module, module.exports, createRequire(file), dirname(file), file);
  scope.ModuleFactory = module.exports;
}

let loaded: Promise<typeof import('@litertjs/core')> | undefined;

function liteRt(): Promise<typeof import('@litertjs/core')> {
  loaded ??= (async () => {
    scope.self ??= globalThis;
    scope.importScripts ??= importScript;
    const litert = await import('@litertjs/core');
    await litert.loadLiteRt(`${WASM_DIR}/`);
    return litert;
  })();
  return loaded;
}

export interface FloatTensor {
  data: Float32Array;
  shape: readonly number[];
}

/** Runs a TFLite model on the CPU (XNNPACK) and returns its outputs in the model's order. */
export async function runTflite(model: Uint8Array, inputs: FloatTensor[]): Promise<FloatTensor[]> {
  const { loadAndCompile, Tensor } = await liteRt();
  const compiled = await loadAndCompile(model, { accelerator: 'wasm' });
  const tensors = inputs.map((input) => new Tensor(input.data.slice(), [...input.shape]));
  try {
    const outputs = await compiled.run(tensors);
    const results = outputs.map((output) => ({ data: Float32Array.from(output.toTypedArray() as Float32Array), shape: Array.from(output.type.layout.dimensions) }));
    for (const output of outputs) output.delete();
    return results;
  } finally {
    for (const tensor of tensors) tensor.delete();
    compiled.delete();
  }
}
