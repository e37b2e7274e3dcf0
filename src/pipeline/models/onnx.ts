import ort from 'onnxruntime-node';

export type InferenceSession = ort.InferenceSession;

/** Session options every model gets; `intraOpThreads` comes from config `pipeline.intraOpThreads`. */
export function sessionOptions(intraOpThreads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: intraOpThreads,
    // one model runs at a time per worker, so parallel operator scheduling would only add threads
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Every session (each model in each worker) would keep an arena of its own that grows to its
    // largest run, rounded up to the next power of two, and never gives memory back: ~90 MiB with
    // the default models and 2 workers (jemalloc's allocated bytes in bench:soak). Without it each
    // tensor comes from the process allocator, jemalloc, which reuses and returns freed pages.
    enableCpuMemArena: false,
    // off with the arena, as measured: otherwise each run takes one block the size of all its
    // intermediate tensors at once, planned per input shape
    enableMemPattern: false,
  };
}

export async function openSession(path: string, intraOpThreads: number): Promise<InferenceSession> {
  return ort.InferenceSession.create(path, sessionOptions(intraOpThreads));
}

/**
 * The single image input of a model, read from the session's own metadata: a fixed 4-D shape, either
 * N×C×H×W (PyTorch exports) or N×H×W×C (TensorFlow / TFLite exports), told apart by where the 1 or 3
 * channels sit.
 */
export interface ImageInput {
  name: string;
  layout: 'nchw' | 'nhwc';
  channels: number;
  height: number;
  width: number;
  shape: readonly number[];
}

/** The single input's shape as the model declares it, −1 for each dimension it leaves free. */
export function declaredInputShape(session: InferenceSession): number[] {
  const meta = session.inputMetadata[0];
  if (session.inputMetadata.length !== 1 || !meta?.isTensor) throw new Error('model must have exactly one tensor input');
  return meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1));
}

const isChannelCount = (d: number) => d === 1 || d === 3;

export function imageInput(session: InferenceSession): ImageInput {
  const meta = session.inputMetadata[0];
  if (session.inputMetadata.length !== 1 || !meta?.isTensor) throw new Error('model must have exactly one tensor input');
  const shape = meta.shape;
  if (shape.length !== 4 || !shape.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new Error(`model input ${meta.name} must have a fixed N×C×H×W or N×H×W×C shape, has [${shape.join(', ')}]`);
  }
  if (isChannelCount(shape[1])) {
    const [, channels, height, width] = shape;
    return { name: meta.name, layout: 'nchw', channels, height, width, shape };
  }
  if (isChannelCount(shape[3])) {
    const [, height, width, channels] = shape;
    return { name: meta.name, layout: 'nhwc', channels, height, width, shape };
  }
  throw new Error(`model input ${meta.name} has no channel axis of 1 or 3: [${shape.join(', ')}]`);
}

/** Runs a single-input model; returns each output's data by name. */
export async function runModel(session: InferenceSession, input: ImageInput, data: Float32Array): Promise<Record<string, Float32Array>> {
  const outputs = await session.run({ [input.name]: new ort.Tensor('float32', data, input.shape as number[]) });
  const result: Record<string, Float32Array> = {};
  for (const [name, tensor] of Object.entries(outputs)) result[name] = tensor.data as Float32Array;
  return result;
}

export function softmax(logits: ArrayLike<number>): number[] {
  const values = Array.from(logits);
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((s, v) => s + v, 0);
  return exps.map((v) => v / sum);
}
