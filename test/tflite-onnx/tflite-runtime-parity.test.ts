// The converted ONNX models against Google's own TFLite runtime (LiteRT.js, CPU/XNNPACK): the
// face-landmark model on fixture faces, and small models exercising each op mapping. This checks
// the converter against TFLite itself, where ops.spec.ts checks it against plain-JS references.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertTfliteToOnnx } from '../../tools/tflite-onnx/converter.ts';
import { BuiltinOperator as Op } from '../../tools/tflite-onnx/tflite-model.ts';
import { FIXTURES_DIR } from '../helpers/fixtures.ts';
import { runTflite, type FloatTensor } from '../helpers/litert-runtime.ts';
import { fetchMeshTflite, MESH_ONNX_SHA256 } from '../helpers/mesh-model.ts';
import { fetchPackedFile, manifestEntry } from '../helpers/npm-model.ts';
import { seededValues } from '../helpers/nhwc-reference.ts';
import { fetchSelfieTflite, SELFIE_ONNX_SHA256 } from '../helpers/selfie-model.ts';
import {
  Activation,
  activationOptions,
  BuiltinOptionsType,
  concatenationOptions,
  conv2dOptions,
  depthwiseConv2dOptions,
  Padding,
  pool2dOptions,
  reshapeOptions,
  resizeBilinearOptions,
  resizeNearestNeighborOptions,
  TfliteModelBuilder,
  transposeConvOptions,
} from '../helpers/tflite-builder.ts';

async function runOnnx(onnx: Uint8Array, inputs: FloatTensor[]): Promise<FloatTensor[]> {
  const session = await ort.InferenceSession.create(onnx);
  const feeds = Object.fromEntries(session.inputNames.map((name, i) => [name, new ort.Tensor('float32', inputs[i]!.data, [...inputs[i]!.shape])]));
  const results = await session.run(feeds);
  return session.outputNames.map((name) => ({ data: results[name]!.data as Float32Array, shape: results[name]!.dims }));
}

function largestDifference(a: FloatTensor, b: FloatTensor): number {
  expect([...a.shape]).toEqual([...b.shape]);
  return a.data.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b.data[i]!)), 0);
}

/** Per output, the largest difference between the converted model and the TFLite one over every input. */
async function worstDifferences(tflite: Uint8Array, onnx: Uint8Array, inputs: FloatTensor[]): Promise<number[]> {
  const worst: number[] = [];
  for (const input of inputs) {
    const expected = await runTflite(tflite, [input]);
    const actual = await runOnnx(onnx, [input]);
    expect(actual).toHaveLength(expected.length);
    for (const [i, output] of actual.entries()) worst[i] = Math.max(worst[i] ?? 0, largestDifference(output, expected[i]!));
  }
  return worst;
}

describe('face-landmark model: converted ONNX vs the TFLite runtime', () => {
  let tflite: Uint8Array;
  let onnx: Uint8Array;

  beforeAll(() => {
    tflite = fetchMeshTflite();
    onnx = convertTfliteToOnnx(tflite).onnx;
  });

  it('converts to the bytes setup pins', () => {
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(MESH_ONNX_SHA256);
  });

  it('gives the same 468 points (within 0.01 px of 192) and face logit (within 0.001) on fixture faces', async () => {
    // The first photo of every third identity (London studio, LFW news photos, grey crops), centre crop of 60 % of the short side (the face at about 1.5×).
    const identities = readdirSync(join(FIXTURES_DIR, 'faces')).filter((entry) => statSync(join(FIXTURES_DIR, 'faces', entry)).isDirectory()).sort();
    const photos = identities
      .filter((_, i) => i % 3 === 0)
      .map((identity) => join(FIXTURES_DIR, 'faces', identity, readdirSync(join(FIXTURES_DIR, 'faces', identity)).sort()[0]!));
    expect(photos.length).toBeGreaterThanOrEqual(15);
    const inputs: FloatTensor[] = [];
    for (const photo of photos) {
      const { width, height } = await sharp(photo).metadata();
      const size = Math.round(Math.min(width!, height!) * 0.6);
      const crop = { left: Math.round((width! - size) / 2), top: Math.round((height! - size) / 2), width: size, height: size };
      const pixels = await sharp(photo).removeAlpha().toColourspace('srgb').extract(crop).resize(192, 192).raw().toBuffer({ resolveWithObject: true });
      const rgb = pixels.info.channels === 3 ? pixels.data : Buffer.from(Array.from(pixels.data, (v) => [v, v, v]).flat());
      inputs.push({ data: Float32Array.from(rgb, (v) => v / 255), shape: [1, 192, 192, 3] });
    }
    const [worstPoint, worstLogit] = await worstDifferences(tflite, onnx, inputs);
    expect(worstPoint).toBeLessThan(0.01);
    expect(worstLogit).toBeLessThan(0.001);
  });
});

interface OpCase {
  name: string;
  build: (m: TfliteModelBuilder) => void;
}

const conv1x1 = (m: TfliteModelBuilder, input: number, name: string, channels: number[], seed: number): number => {
  const [inChannels, outChannels] = channels as [number, number];
  const out = m.tensor(name, [1, 5, 4, outChannels]);
  m.op(Op.CONV_2D, [input, m.float32Constant(`${name}_w`, [outChannels, 1, 1, inChannels], seededValues(seed, inChannels * outChannels)), m.float32Constant(`${name}_b`, [outChannels], seededValues(seed + 1, outChannels))], [out], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
  return out;
};

/** Every case reads one input `x` of shape [1, 5, 4, 3]. */
const OP_CASES: OpCase[] = [
  {
    name: 'CONV_2D SAME stride (2,1) 3×2, fused RELU6',
    build: (m) => m.op(Op.CONV_2D, [m.input('x', [1, 5, 4, 3]), m.float32Constant('w', [4, 3, 2, 3], seededValues(2, 72).map((v) => v * 4)), m.float32Constant('b', [4], seededValues(3, 4))], [m.output(m.tensor('y', [1, 3, 4, 4]))], conv2dOptions({ padding: Padding.SAME, stride: [2, 1], activation: Activation.RELU6 })),
  },
  {
    name: 'DEPTHWISE_CONV_2D multiplier 2, SAME stride 2, dilation-free',
    build: (m) => m.op(Op.DEPTHWISE_CONV_2D, [m.input('x', [1, 5, 4, 3]), m.float32Constant('w', [1, 3, 3, 6], seededValues(4, 54)), m.float32Constant('b', [6], seededValues(5, 6))], [m.output(m.tensor('y', [1, 3, 2, 6]))], depthwiseConv2dOptions({ padding: Padding.SAME, stride: [2, 2], multiplier: 2 })),
  },
  {
    name: 'fp16 DEQUANTIZE → CONV_2D VALID',
    build: (m) => {
      const w = m.tensor('w', [2, 1, 1, 3]);
      m.op(Op.DEQUANTIZE, [m.float16Constant('w16', [2, 1, 1, 3], [0.5, -0.25, 0.125, 1.5, -0.75, 0.0625])], [w]);
      m.op(Op.CONV_2D, [m.input('x', [1, 5, 4, 3]), w, m.float32Constant('b', [2], [0.1, -0.2])], [m.output(m.tensor('y', [1, 5, 4, 2]))], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
    },
  },
  {
    name: 'PRELU, ADD with fused RELU, MUL and SUB by constants, on NCHW values',
    build: (m) => {
      const x = m.input('x', [1, 5, 4, 3]);
      const a = conv1x1(m, x, 'a', [3, 3], 6);
      const p = m.tensor('p', [1, 5, 4, 3]);
      m.op(Op.PRELU, [a, m.float32Constant('alpha', [1, 1, 3], [0.1, -0.5, 2])], [p]);
      const s = m.tensor('s', [1, 5, 4, 3]);
      m.op(Op.ADD, [p, x], [s], activationOptions(BuiltinOptionsType.AddOptions, Activation.RELU));
      const q = m.tensor('q', [1, 5, 4, 3]);
      m.op(Op.MUL, [s, m.float32Constant('k', [3], [2, -1, 0.5])], [q], activationOptions(BuiltinOptionsType.MulOptions, Activation.NONE));
      m.op(Op.SUB, [q, m.float32Constant('c', [1, 1, 1, 3], [0.25, 0.5, -1])], [m.output(m.tensor('y', [1, 5, 4, 3]))], activationOptions(BuiltinOptionsType.SubOptions, Activation.NONE));
    },
  },
  {
    name: 'LOGISTIC, TANH, ABS, RELU, HARD_SWISH chained after a conv',
    build: (m) => {
      let t = conv1x1(m, m.input('x', [1, 5, 4, 3]), 'c', [3, 3], 8);
      for (const [i, code] of [Op.HARD_SWISH, Op.TANH, Op.ABS, Op.RELU, Op.LOGISTIC].entries()) {
        const next = i === 4 ? m.output(m.tensor('y', [1, 5, 4, 3])) : m.tensor(`u${i}`, [1, 5, 4, 3]);
        m.op(code, [t], [next]);
        t = next;
      }
    },
  },
  {
    name: 'MAX_POOL_2D SAME 2×2 and AVERAGE_POOL_2D SAME 3×3, stride 2',
    build: (m) => {
      const x = m.input('x', [1, 5, 4, 3]);
      m.op(Op.MAX_POOL_2D, [x], [m.output(m.tensor('max', [1, 3, 2, 3]))], pool2dOptions({ padding: Padding.SAME, stride: [2, 2], filter: [2, 2] }));
      m.op(Op.AVERAGE_POOL_2D, [x], [m.output(m.tensor('avg', [1, 3, 2, 3]))], pool2dOptions({ padding: Padding.SAME, stride: [2, 2], filter: [3, 3] }));
    },
  },
  {
    name: 'PAD channels of a conv output, CONCATENATION on channels and height, RESHAPE',
    build: (m) => {
      const x = m.input('x', [1, 5, 4, 3]);
      const a = conv1x1(m, x, 'a', [3, 2], 10);
      const padded = m.tensor('padded', [1, 5, 4, 5]);
      m.op(Op.PAD, [a, m.int32Constant('pads', [4, 2], [0, 0, 0, 0, 0, 0, 1, 2])], [padded]);
      const joined = m.tensor('joined', [1, 5, 4, 8]);
      m.op(Op.CONCATENATION, [padded, x], [joined], concatenationOptions(-1));
      const tall = m.tensor('tall', [1, 10, 4, 8]);
      m.op(Op.CONCATENATION, [joined, joined], [tall], concatenationOptions(1));
      m.op(Op.RESHAPE, [tall, m.int32Constant('shape', [2], [1, 320])], [m.output(m.tensor('y', [1, 320]))], reshapeOptions([1, 320]));
    },
  },
  ...([[{}, 'default'], [{ alignCorners: true }, 'align_corners'], [{ halfPixelCenters: true }, 'half_pixel_centers']] as const).flatMap(([options, label]): OpCase[] => [
    {
      name: `RESIZE_BILINEAR ${label}, 5×4 → 8×7`,
      build: (m) => m.op(Op.RESIZE_BILINEAR, [m.input('x', [1, 5, 4, 3]), m.int32Constant('size', [2], [8, 7])], [m.output(m.tensor('y', [1, 8, 7, 3]))], resizeBilinearOptions(options)),
    },
    {
      name: `RESIZE_NEAREST_NEIGHBOR ${label}, 5×4 → 8×7 and 3×2`,
      build: (m) => {
        const x = m.input('x', [1, 5, 4, 3]);
        m.op(Op.RESIZE_NEAREST_NEIGHBOR, [x, m.int32Constant('up', [2], [8, 7])], [m.output(m.tensor('up_y', [1, 8, 7, 3]))], resizeNearestNeighborOptions(options));
        m.op(Op.RESIZE_NEAREST_NEIGHBOR, [x, m.int32Constant('down', [2], [3, 2])], [m.output(m.tensor('down_y', [1, 3, 2, 3]))], resizeNearestNeighborOptions(options));
      },
    },
  ]),
  ...([['SAME', [10, 8, 2]], ['SAME', [9, 7, 2]], ['VALID', [11, 9, 2]]] as const).map(([padding, [height, width, channels]]): OpCase => ({
    name: `TRANSPOSE_CONV ${padding} stride 2, 3×3 → ${height}×${width}`,
    build: (m) => m.op(Op.TRANSPOSE_CONV, [m.int32Constant('output_shape', [4], [1, height, width, channels]), m.float32Constant('w', [channels, 3, 3, 3], seededValues(12, channels * 27)), m.input('x', [1, 5, 4, 3]), m.float32Constant('b', [channels], [0.5, -0.5])], [m.output(m.tensor('y', [1, height, width, channels]))], transposeConvOptions({ padding: Padding[padding], stride: [2, 2] })),
  })),
];

describe('full-range face detector: converted ONNX vs the TFLite runtime', () => {
  const entry = manifestEntry('blazeface-full-range-192');
  let tflite: Uint8Array;
  let onnx: Uint8Array;

  beforeAll(() => {
    tflite = fetchPackedFile(entry.source);
    onnx = convertTfliteToOnnx(tflite).onnx;
  });

  it('converts to the bytes setup pins', () => {
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(entry.sha256);
  });

  it('gives the same box regressors (within 0.01 px of 192) and score logits (within 0.001) on London portraits', async () => {
    const inputs: FloatTensor[] = [];
    for (const identity of ['london_001', 'london_020', 'london_045']) {
      const pixels = await sharp(join(FIXTURES_DIR, 'faces', identity, '1.jpg')).removeAlpha().resize(192, 192).raw().toBuffer();
      inputs.push({ data: Float32Array.from(pixels, (v) => v / 127.5 - 1), shape: [1, 192, 192, 3] });
    }
    const [worstBox, worstLogit] = await worstDifferences(tflite, onnx, inputs);
    expect(worstBox).toBeLessThan(0.01);
    expect(worstLogit).toBeLessThan(0.001);
  });
});

describe('selfie segmentation model (custom Convolution2DTransposeBias): converted ONNX vs the TFLite runtime', () => {
  let tflite: Uint8Array;
  let onnx: Uint8Array;

  beforeAll(() => {
    tflite = fetchSelfieTflite();
    onnx = convertTfliteToOnnx(tflite).onnx;
  });

  it('converts to the same bytes every time', () => {
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(SELFIE_ONNX_SHA256);
  });

  it('gives the same person probabilities (within 0.001) on London portraits', async () => {
    const inputs: FloatTensor[] = [];
    for (const identity of ['london_001', 'london_020', 'london_045']) {
      const pixels = await sharp(join(FIXTURES_DIR, 'faces', identity, '1.jpg')).resize(256, 256).raw().toBuffer();
      inputs.push({ data: Float32Array.from(pixels, (v) => v / 255), shape: [1, 256, 256, 3] });
    }
    const [worst] = await worstDifferences(tflite, onnx, inputs);
    expect(worst).toBeLessThan(0.001);
  });
});

describe('op mappings: converted ONNX vs the TFLite runtime', () => {
  it.each(OP_CASES)('$name', async ({ build }) => {
    const m = new TfliteModelBuilder();
    build(m);
    const tflite = m.build();
    const inputs = [{ data: seededValues(42, 60).map((v) => v * 3), shape: [1, 5, 4, 3] }];
    const expected = await runTflite(tflite, inputs);
    const actual = await runOnnx(convertTfliteToOnnx(tflite).onnx, inputs);
    expect(actual).toHaveLength(expected.length);
    for (const [i, output] of actual.entries()) expect(largestDifference(output, expected[i]!)).toBeLessThan(1e-4);
  });
});
