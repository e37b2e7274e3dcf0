import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type * as OpenCvModule from '@techstark/opencv-js';

export type OpenCv = typeof OpenCvModule;

let loading: Promise<OpenCv> | undefined;

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * OpenCV compiled to WebAssembly. Instantiating the module takes a few hundred milliseconds and tens of
 * megabytes, so it happens once per thread (each cropper worker loads its own) and is shared after.
 */
export function loadOpenCv(): Promise<OpenCv> {
  loading ??= new Promise<OpenCv>((resolve) => {
    const host = process as EventEmitter;
    const before = new Map(PROCESS_EVENTS.map((event) => [event, host.listeners(event)]));
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv & { then?: unknown; onRuntimeInitialized?: () => void };
    // Emscripten's Node glue adds process-wide handlers that rethrow any uncaught error (printing the
    // whole 10 MB script) and abort on any unhandled rejection: error handling is the host's business.
    for (const event of PROCESS_EVENTS) {
      for (const listener of host.listeners(event)) if (!before.get(event)!.includes(listener)) host.off(event, listener as (...args: unknown[]) => void);
    }
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

/** Registers an OpenCV object to be deleted when the `withMats` call that handed it out returns. */
export type Keep = <T extends { delete(): void }>(mat: T) => T;

/**
 * Runs `use` with a `keep` that registers OpenCV objects, and deletes every one registered when it returns
 * or throws: they live on the WebAssembly heap, which the garbage collector never frees.
 */
export function withMats<R>(use: (keep: Keep) => R): R {
  const mats: Array<{ delete(): void }> = [];
  try {
    return use((mat) => (mats.push(mat), mat));
  } finally {
    for (const mat of mats) mat.delete();
  }
}
