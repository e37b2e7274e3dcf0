// Straightforward NHWC implementations of TFLite operator semantics (batch 1), written from the
// TFLite reference kernels' definitions: the ground truth the converted ONNX graphs are held to.

export interface Nhwc {
  shape: [number, number, number, number];
  data: Float32Array;
}

export function nhwc(shape: [number, number, number, number], fill: (i: number) => number): Nhwc {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: size }, (_, i) => fill(i)) };
}

const at = (t: Nhwc, y: number, x: number, c: number): number => t.data[(y * t.shape[2] + x) * t.shape[3] + c]!;

export type PaddingMode = 'SAME' | 'VALID';

/** TFLite's output size and leading padding for one spatial axis. */
function axisGeometry(size: number, kernel: number, stride: number, dilation: number, padding: PaddingMode): { out: number; before: number } {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'VALID') return { out: Math.floor((size - span) / stride) + 1, before: 0 };
  const out = Math.ceil(size / stride);
  return { out, before: Math.floor(Math.max((out - 1) * stride + span - size, 0) / 2) };
}

export interface ConvParams {
  padding: PaddingMode;
  stride: [number, number];
  dilation?: [number, number];
}

/** filter [O, kH, kW, I] row-major. */
export function conv2d(x: Nhwc, filter: Float32Array, filterShape: [number, number, number, number], bias: Float32Array | null, p: ConvParams): Nhwc {
  const [outChannels, kernelH, kernelW, inChannels] = filterShape;
  const [dilationH, dilationW] = p.dilation ?? [1, 1];
  const rows = axisGeometry(x.shape[1], kernelH, p.stride[0], dilationH, p.padding);
  const cols = axisGeometry(x.shape[2], kernelW, p.stride[1], dilationW, p.padding);
  const out = nhwc([1, rows.out, cols.out, outChannels], () => 0);
  for (let oy = 0; oy < rows.out; oy++)
    for (let ox = 0; ox < cols.out; ox++)
      for (let o = 0; o < outChannels; o++) {
        let sum = bias ? bias[o]! : 0;
        for (let ky = 0; ky < kernelH; ky++)
          for (let kx = 0; kx < kernelW; kx++) {
            const iy = oy * p.stride[0] - rows.before + ky * dilationH;
            const ix = ox * p.stride[1] - cols.before + kx * dilationW;
            if (iy < 0 || ix < 0 || iy >= x.shape[1] || ix >= x.shape[2]) continue;
            for (let i = 0; i < inChannels; i++) sum += at(x, iy, ix, i) * filter[((o * kernelH + ky) * kernelW + kx) * inChannels + i]!;
          }
        out.data[(oy * cols.out + ox) * outChannels + o] = sum;
      }
  return out;
}

/** filter [1, kH, kW, C * multiplier]; output channel c * multiplier + m reads input channel c. */
export function depthwiseConv2d(x: Nhwc, filter: Float32Array, filterShape: [number, number, number, number], bias: Float32Array | null, p: ConvParams & { multiplier: number }): Nhwc {
  const [, kernelH, kernelW, outChannels] = filterShape;
  const [dilationH, dilationW] = p.dilation ?? [1, 1];
  const rows = axisGeometry(x.shape[1], kernelH, p.stride[0], dilationH, p.padding);
  const cols = axisGeometry(x.shape[2], kernelW, p.stride[1], dilationW, p.padding);
  const out = nhwc([1, rows.out, cols.out, outChannels], () => 0);
  for (let oy = 0; oy < rows.out; oy++)
    for (let ox = 0; ox < cols.out; ox++)
      for (let o = 0; o < outChannels; o++) {
        const c = Math.floor(o / p.multiplier);
        let sum = bias ? bias[o]! : 0;
        for (let ky = 0; ky < kernelH; ky++)
          for (let kx = 0; kx < kernelW; kx++) {
            const iy = oy * p.stride[0] - rows.before + ky * dilationH;
            const ix = ox * p.stride[1] - cols.before + kx * dilationW;
            if (iy < 0 || ix < 0 || iy >= x.shape[1] || ix >= x.shape[2]) continue;
            sum += at(x, iy, ix, c) * filter[(ky * kernelW + kx) * outChannels + o]!;
          }
        out.data[(oy * cols.out + ox) * outChannels + o] = sum;
      }
  return out;
}

/**
 * TFLite TRANSPOSE_CONV: every input cell scatters filter × value into the output, whose leading
 * padding is that of the forward convolution from the output size; filter [O, kH, kW, I].
 */
export function transposeConv(x: Nhwc, filter: Float32Array, filterShape: [number, number, number, number], bias: Float32Array | null, outShape: [number, number, number, number], p: ConvParams): Nhwc {
  const [outChannels, kernelH, kernelW, inChannels] = filterShape;
  const rows = axisGeometry(outShape[1], kernelH, p.stride[0], 1, p.padding);
  const cols = axisGeometry(outShape[2], kernelW, p.stride[1], 1, p.padding);
  const out = nhwc(outShape, (i) => (bias ? bias[i % outChannels]! : 0));
  for (let iy = 0; iy < x.shape[1]; iy++)
    for (let ix = 0; ix < x.shape[2]; ix++)
      for (let ky = 0; ky < kernelH; ky++)
        for (let kx = 0; kx < kernelW; kx++) {
          const oy = iy * p.stride[0] - rows.before + ky;
          const ox = ix * p.stride[1] - cols.before + kx;
          if (oy < 0 || ox < 0 || oy >= outShape[1] || ox >= outShape[2]) continue;
          for (let o = 0; o < outChannels; o++) {
            let sum = 0;
            for (let i = 0; i < inChannels; i++) sum += at(x, iy, ix, i) * filter[((o * kernelH + ky) * kernelW + kx) * inChannels + i]!;
            out.data[(oy * outShape[2] + ox) * outChannels + o]! += sum;
          }
        }
  return out;
}

/** TFLite pooling looks only at cells inside the input: padding is never a candidate or a divisor. */
export function pool2d(x: Nhwc, kind: 'max' | 'average', p: { padding: PaddingMode; stride: [number, number]; filter: [number, number] }): Nhwc {
  const rows = axisGeometry(x.shape[1], p.filter[0], p.stride[0], 1, p.padding);
  const cols = axisGeometry(x.shape[2], p.filter[1], p.stride[1], 1, p.padding);
  const channels = x.shape[3];
  const out = nhwc([1, rows.out, cols.out, channels], () => 0);
  for (let oy = 0; oy < rows.out; oy++)
    for (let ox = 0; ox < cols.out; ox++)
      for (let c = 0; c < channels; c++) {
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < p.filter[0]; ky++)
          for (let kx = 0; kx < p.filter[1]; kx++) {
            const iy = oy * p.stride[0] - rows.before + ky;
            const ix = ox * p.stride[1] - cols.before + kx;
            if (iy < 0 || ix < 0 || iy >= x.shape[1] || ix >= x.shape[2]) continue;
            best = Math.max(best, at(x, iy, ix, c));
            sum += at(x, iy, ix, c);
            count++;
          }
        out.data[(oy * cols.out + ox) * channels + c] = kind === 'max' ? best : sum / count;
      }
  return out;
}

/** paddings[axis] = [before, after] over NHWC axes; zeros fill. */
export function pad(x: Nhwc, paddings: [number, number][]): Nhwc {
  const shape = x.shape.map((size, axis) => size + paddings[axis]![0] + paddings[axis]![1]) as Nhwc['shape'];
  const out = nhwc(shape, () => 0);
  for (let y = 0; y < x.shape[1]; y++)
    for (let xx = 0; xx < x.shape[2]; xx++)
      for (let c = 0; c < x.shape[3]; c++) {
        const oy = y + paddings[1]![0];
        const ox = xx + paddings[2]![0];
        const oc = c + paddings[3]![0];
        out.data[(oy * shape[2] + ox) * shape[3] + oc] = at(x, y, xx, c);
      }
  return out;
}

/** Element-wise over the channel-last data, with `per(value, channel)`. */
export function mapChannels(x: Nhwc, per: (value: number, channel: number) => number): Nhwc {
  return { shape: x.shape, data: x.data.map((value, i) => per(value, i % x.shape[3])) };
}

export function zip(a: Nhwc, b: Nhwc, f: (p: number, q: number) => number): Nhwc {
  return { shape: a.shape, data: a.data.map((value, i) => f(value, b.data[i]!)) };
}

export interface ResizeParams {
  alignCorners?: boolean;
  halfPixelCenters?: boolean;
}

function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

export function resizeBilinear(x: Nhwc, outH: number, outW: number, p: ResizeParams): Nhwc {
  const [, inH, inW, channels] = x.shape;
  const scaleY = resizeScale(inH, outH, p.alignCorners ?? false);
  const scaleX = resizeScale(inW, outW, p.alignCorners ?? false);
  const source = (value: number, scale: number, size: number) => {
    const scaled = p.halfPixelCenters ? (value + 0.5) * scale - 0.5 : value * scale;
    return { scaled, lower: Math.max(Math.floor(scaled), 0), upper: Math.min(Math.ceil(scaled), size - 1) };
  };
  const out = nhwc([1, outH, outW, channels], () => 0);
  for (let y = 0; y < outH; y++) {
    const sy = source(y, scaleY, inH);
    for (let xx = 0; xx < outW; xx++) {
      const sx = source(xx, scaleX, inW);
      const fy = sy.scaled - sy.lower;
      const fx = sx.scaled - sx.lower;
      for (let c = 0; c < channels; c++) {
        out.data[(y * outW + xx) * channels + c] =
          at(x, sy.lower, sx.lower, c) * (1 - fy) * (1 - fx) +
          at(x, sy.upper, sx.lower, c) * fy * (1 - fx) +
          at(x, sy.lower, sx.upper, c) * (1 - fy) * fx +
          at(x, sy.upper, sx.upper, c) * fy * fx;
      }
    }
  }
  return out;
}

export function resizeNearest(x: Nhwc, outH: number, outW: number, p: ResizeParams): Nhwc {
  const [, inH, inW, channels] = x.shape;
  const offset = p.halfPixelCenters ? 0.5 : 0;
  const index = (value: number, inSize: number, outSize: number) => {
    const scaled = (value + offset) * resizeScale(inSize, outSize, p.alignCorners ?? false);
    const nearest = Math.min(p.alignCorners ? Math.round(scaled) : Math.floor(scaled), inSize - 1);
    return p.halfPixelCenters ? Math.max(0, nearest) : nearest;
  };
  const out = nhwc([1, outH, outW, channels], () => 0);
  for (let y = 0; y < outH; y++)
    for (let xx = 0; xx < outW; xx++)
      for (let c = 0; c < channels; c++) out.data[(y * outW + xx) * channels + c] = at(x, index(y, inH, outH), index(xx, inW, outW), c);
  return out;
}

/** Deterministic pseudo-random values in [-1, 1) (mulberry32). */
export function seededValues(seed: number, count: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}
