// MediaPipe selfie segmentation, the permissive (Apache-2.0) alternative to the bundle's ISNet: not in
// models/manifest.json, so its pins live here, for the converter parity test and bench:segmentation.
import { convertTfliteToOnnx } from '../../tools/tflite-onnx/converter.ts';
import { fetchPackedFile, type PackedFile } from './npm-model.ts';

export const SELFIE_SOURCE: PackedFile & { license: string } = {
  package: '@mediapipe/selfie_segmentation',
  version: '0.1.1675465747',
  path: 'selfie_segmentation.tflite',
  sha256: '8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27',
  license: 'Apache-2.0',
};

/** sha256 of the converted file (the converter writes the same bytes every time) */
export const SELFIE_ONNX_SHA256 = '19aaf04b0b3185aaa07a3715252cb523893d5c2b9d9115b8e0a793b3d3e7cbb7';

export function fetchSelfieTflite(): Uint8Array {
  return fetchPackedFile(SELFIE_SOURCE);
}

export function selfieOnnx(): Uint8Array {
  return convertTfliteToOnnx(fetchSelfieTflite()).onnx;
}
