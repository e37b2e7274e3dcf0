import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.ts';
import { loadModelManifest } from './model-manifest.ts';

const MODELS_DIR = resolve(PROJECT_ROOT, 'models');
const shipped = JSON.parse(readFileSync(join(MODELS_DIR, 'manifest.json'), 'utf8'));

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A models directory linking the real model files, with its own manifest and any files replaced. */
function bundle(manifest: unknown, replace: Record<string, Uint8Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'faceserver-models-'));
  dirs.push(dir);
  const modelFiles = new Set(shipped.models.map((m: { file: string }) => m.file));
  for (const file of readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx') || modelFiles.has(f))) {
    if (replace[file]) writeFileSync(join(dir, file), replace[file]);
    else symlinkSync(join(MODELS_DIR, file), join(dir, file));
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

describe('loadModelManifest', () => {
  it('accepts the shipped bundle and names its recognition model', () => {
    const manifest = loadModelManifest(MODELS_DIR);
    expect(manifest.modelId).toBe(shipped.models.find((m: { role: string }) => m.role === 'recognition').model_id);
    expect(manifest.recognition.score_calibration?.knots.length).toBeGreaterThan(2);
  });

  it('refuses an altered model file, naming it and the fix', () => {
    const altered = Uint8Array.from(readFileSync(join(MODELS_DIR, 'fr_eye.onnx')));
    altered[altered.length - 1] ^= 0xff;
    const dir = bundle(shipped, { 'fr_eye.onnx': altered });
    expect(() => loadModelManifest(dir)).toThrow(/fr_eye\.onnx \(eyes\) has sha256 [0-9a-f]{64}, manifest expects .*npm run setup/);
  });

  it('checks only the roles it is asked to: a worker does not hash the models it never opens', () => {
    const altered = Uint8Array.from(readFileSync(join(MODELS_DIR, 'fr_eye.onnx')));
    altered[altered.length - 1] ^= 0xff;
    const dir = bundle(shipped, { 'fr_eye.onnx': altered });
    expect(loadModelManifest(dir, 'manifest.json', ['detection', 'landmarks', 'recognition']).roles.eyes?.file).toBe('fr_eye.onnx');
    expect(() => loadModelManifest(dir, 'manifest.json', ['eyes'])).toThrow(/fr_eye\.onnx \(eyes\) has sha256/);
  });

  it('refuses a missing model file', () => {
    const manifest = { ...shipped, models: shipped.models.map((m: { file: string }) => (m.file === 'fr_feature.onnx' ? { ...m, file: 'absent.onnx' } : m)) };
    expect(() => loadModelManifest(bundle(manifest))).toThrow(/absent\.onnx \(recognition\) is missing; run `npm run setup`/);
  });

  it('refuses a bundle without a recognition model, and a malformed manifest', () => {
    const noRecognition = { ...shipped, models: shipped.models.filter((m: { role: string }) => m.role !== 'recognition') };
    expect(() => loadModelManifest(bundle(noRecognition))).toThrow(/has no recognition model/);
    expect(() => loadModelManifest(bundle({ bundle: 'x', models: [{ role: 'detection', file: '../escape.onnx' }] }))).toThrow(/is invalid/);
  });

  it('runs without optional models: PAD, pose and eyes may be absent', () => {
    const core = { ...shipped, models: shipped.models.filter((m: { role: string }) => ['detection', 'landmarks', 'recognition'].includes(m.role)) };
    const manifest = loadModelManifest(bundle(core));
    expect(manifest.roles.pad).toBeUndefined();
  });
});
