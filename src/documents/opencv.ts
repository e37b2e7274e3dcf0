import { createRequire } from 'node:module';
import type * as OpenCvModule from '@techstark/opencv-js';

export type OpenCv = typeof OpenCvModule;

let loading: Promise<OpenCv> | undefined;

/**
 * OpenCV compiled to WebAssembly. Instantiating the module takes a few hundred milliseconds and tens of
 * megabytes, so it happens once per thread (each cropper worker loads its own) and is shared after.
 */
export function loadOpenCv(): Promise<OpenCv> {
  loading ??= new Promise<OpenCv>((resolve) => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv & { then?: unknown; onRuntimeInitialized?: () => void };
    const ready = () => {
      // Emscripten gives the module a `then` that resolves to the module itself: a promise resolved
      // with it would never settle. The runtime is up now, so it is not needed.
      delete cv.then;
      resolve(cv);
    };
    if (typeof cv.Mat === 'function') ready();
    else cv.onRuntimeInitialized = ready;
  });
  return loading;
}
