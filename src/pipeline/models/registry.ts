import { join } from 'node:path';
import type { PipelineConfig } from '../config.ts';
import type { ModelEntry, ModelManifest, OnnxRole } from '../model-manifest.ts';
import { IsNetSegmenter } from '../../photo/segmentation/isnet.ts';
import { MediaPipeSelfieSegmenter } from '../../photo/segmentation/selfie.ts';
import { PaddleTextDetector } from '../../documents/text-detector.ts';
import { ArcFaceEmbedder } from './arcface.ts';
import { BACK_256_ANCHORS, BlazeFaceDetector, FULL_RANGE_ANCHORS } from './blazeface.ts';
import { EyeStateClassifier } from './eye-state.ts';
import { MediaPipeFaceMesh } from './face-mesh.ts';
import { HopenetPose } from './hopenet.ts';
import { Landmark68 } from './landmark68.ts';
import { MiniFasNetPad } from './minifasnet.ts';
import { declaredInputShape, openSession, type InferenceSession } from './onnx.ts';
import type { FaceDetector, RoleModels } from './roles.ts';
import { UltraFaceDetector } from './ultraface.ts';

type Factory<R extends OnnxRole> = (session: InferenceSession, config: PipelineConfig) => RoleModels[R];

/** kinds that can serve as a face detector: the pipeline's detection model, and the cropper's portrait detectors */
const FACE_DETECTORS: Record<string, (session: InferenceSession, config: PipelineConfig) => FaceDetector> = {
  'blazeface-back-256': (session, config) => new BlazeFaceDetector(session, config.detection, BACK_256_ANCHORS),
  'blazeface-full-range-192': (session, config) => new BlazeFaceDetector(session, config.detection, FULL_RANGE_ANCHORS),
  'ultraface-rfb320': (session, config) => new UltraFaceDetector(session, config.detection),
};

/**
 * Manifest `kind` → class, per role. Supporting another model bundle (say SCRFD + ArcFace) means adding
 * its classes here and shipping its manifest; nothing else in the pipeline looks at kinds.
 */
export const MODEL_KINDS: { [R in OnnxRole]: Record<string, Factory<R>> } = {
  detection: FACE_DETECTORS,
  portrait: FACE_DETECTORS,
  portrait_zone: FACE_DETECTORS,
  landmarks: {
    'mediapipe-mesh-468': (session) => new MediaPipeFaceMesh(session),
    'landmark68-gray64': (session) => new Landmark68(session),
  },
  recognition: { 'arcface-112': (session) => new ArcFaceEmbedder(session) },
  pad: { 'minifasnet-128': (session) => new MiniFasNetPad(session) },
  pose: { 'hopenet-224': (session) => new HopenetPose(session) },
  eyes: { 'eye-state-24': (session) => new EyeStateClassifier(session) },
  segmentation: {
    'isnet-1024': (session) => new IsNetSegmenter(session),
    'mediapipe-selfie-256': (session) => new MediaPipeSelfieSegmenter(session),
  },
  text: { 'ppocr-db-det': (session) => new PaddleTextDetector(session) },
};

/** Opens the entry's ONNX file and wraps it in the class its `kind` names. */
export async function loadModel<R extends OnnxRole>(role: R, entry: ModelEntry, manifest: Pick<ModelManifest, 'modelsDir' | 'file'>, config: PipelineConfig): Promise<RoleModels[R]> {
  const factory = MODEL_KINDS[role][entry.kind];
  if (!factory) {
    const known = Object.keys(MODEL_KINDS[role]).join(', ');
    throw new Error(`models/${manifest.file}: ${role} model ${entry.file} has kind "${entry.kind}", which this server does not know (known: ${known})`);
  }
  const session = await openSession(join(manifest.modelsDir, entry.file), config.intraOpThreads);
  const actual = declaredInputShape(session);
  if (actual.join() !== entry.input_shape.join()) {
    throw new Error(`models/${manifest.file}: ${entry.file} declares input_shape [${entry.input_shape}], the model has [${actual}]`);
  }
  return factory(session, config);
}
