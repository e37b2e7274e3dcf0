// Each op mapping, on a tiny TFLite model built from scratch: converted, run in ONNX Runtime, and
// compared with a plain NHWC implementation of the TFLite semantics. Shapes are deliberately
// non-square (H ≠ W, 3×2 kernels, (2,1) strides) and SAME padding is uneven, so swapped axes or
// misplaced padding show up as wrong numbers.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
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
} from '../../test/helpers/tflite-builder.ts';
import * as ref from '../../test/helpers/nhwc-reference.ts';
import { convertTfliteToOnnx } from './converter.ts';
import { BuiltinOperator as Op } from './tflite-model.ts';

type Shape4 = [number, number, number, number];

async function runConverted(tflite: Uint8Array, feeds: Record<string, ref.Nhwc>): Promise<Record<string, { dims: readonly number[]; data: Float32Array }>> {
  const { onnx } = convertTfliteToOnnx(tflite);
  const session = await ort.InferenceSession.create(onnx);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor('float32', t.data, t.shape)]));
  const results = await session.run(inputs);
  return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, { dims: t.dims, data: t.data as Float32Array }]));
}

function expectClose(actual: { dims: readonly number[]; data: Float32Array }, expected: ref.Nhwc | { shape: number[]; data: Float32Array }, tolerance = 1e-4): void {
  expect([...actual.dims]).toEqual([...expected.shape]);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) worst = Math.max(worst, Math.abs(actual.data[i]! - expected.data[i]!));
  expect(worst).toBeLessThan(tolerance);
}

function randomInput(shape: Shape4, seed: number): ref.Nhwc {
  return { shape, data: ref.seededValues(seed, shape.reduce((a, b) => a * b)) };
}

const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);

describe('TFLite → ONNX op mappings, against NHWC reference implementations', () => {
  describe('CONV_2D', () => {
    it.each([
      ['SAME, stride (2,1), uneven padding', 'SAME', [2, 1], [1, 1]],
      ['VALID, stride (1,2)', 'VALID', [1, 2], [1, 1]],
      ['SAME, dilation (2,1)', 'SAME', [1, 1], [2, 1]],
    ] as const)('%s', async (_, padding, stride, dilation) => {
      const x = randomInput([1, 8, 7, 3], 1);
      const filterShape: Shape4 = [4, 3, 2, 3];
      const filter = ref.seededValues(2, 72);
      const bias = ref.seededValues(3, 4);
      const m = new TfliteModelBuilder();
      const inputTensor = m.input('image', x.shape);
      const expected = ref.conv2d(x, filter, filterShape, bias, { padding, stride: [...stride], dilation: [...dilation] });
      const out = m.output(m.tensor('features', expected.shape));
      m.op(Op.CONV_2D, [inputTensor, m.float32Constant('w', filterShape, filter), m.float32Constant('b', [4], bias)], [out], conv2dOptions({ padding: Padding[padding], stride: [...stride], dilation: [...dilation] }));
      expectClose((await runConverted(m.build(), { image: x })).features!, expected);
    });

    it('applies a fused RELU6, and runs without a bias', async () => {
      const x = randomInput([1, 6, 5, 2], 4);
      const filterShape: Shape4 = [3, 3, 3, 2];
      const filter = ref.seededValues(5, 54).map((v) => v * 8); // large enough to reach the clip at 6
      const expected = ref.mapChannels(ref.conv2d(x, filter, filterShape, null, { padding: 'SAME', stride: [1, 1] }), relu6);
      expect(expected.data.some((v) => v === 6) && expected.data.some((v) => v === 0)).toBe(true);
      const m = new TfliteModelBuilder();
      const out = m.output(m.tensor('y', expected.shape));
      m.op(Op.CONV_2D, [m.input('x', x.shape), m.float32Constant('w', filterShape, filter), -1], [out], conv2dOptions({ padding: Padding.SAME, stride: [1, 1], activation: Activation.RELU6 }));
      expectClose((await runConverted(m.build(), { x })).y!, expected);
    });
  });

  it('DEPTHWISE_CONV_2D with a depth multiplier of 2, SAME, stride (2,2), fused RELU', async () => {
    const x = randomInput([1, 7, 8, 3], 6);
    const filterShape: Shape4 = [1, 3, 3, 6];
    const filter = ref.seededValues(7, 54);
    const bias = ref.seededValues(8, 6);
    const expected = ref.mapChannels(ref.depthwiseConv2d(x, filter, filterShape, bias, { padding: 'SAME', stride: [2, 2], multiplier: 2 }), (v) => Math.max(v, 0));
    const m = new TfliteModelBuilder();
    const out = m.output(m.tensor('y', expected.shape));
    m.op(Op.DEPTHWISE_CONV_2D, [m.input('x', x.shape), m.float32Constant('w', filterShape, filter), m.float32Constant('b', [6], bias)], [out], depthwiseConv2dOptions({ padding: Padding.SAME, stride: [2, 2], multiplier: 2, activation: Activation.RELU }));
    expectClose((await runConverted(m.build(), { x })).y!, expected);
  });

  it('DEQUANTIZE folds fp16 weights into fp32 constants', async () => {
    // Multiples of 1/64 in (-1, 1) are exact in fp16, so the reference uses the same numbers.
    const filterShape: Shape4 = [2, 1, 1, 3];
    const filter = Float32Array.from([0.5, -0.25, 0.015625, -0.75, 0.984375, 0.125]);
    const bias = Float32Array.from([0.0625, -0.5]);
    const x = randomInput([1, 4, 3, 3], 9);
    const expected = ref.conv2d(x, filter, filterShape, bias, { padding: 'VALID', stride: [1, 1] });
    const m = new TfliteModelBuilder();
    const w16 = m.float16Constant('w16', filterShape, filter);
    const b16 = m.float16Constant('b16', [2], bias);
    const w = m.tensor('w', filterShape);
    const b = m.tensor('b', [2]);
    const out = m.output(m.tensor('y', expected.shape));
    m.op(Op.DEQUANTIZE, [w16], [w]).op(Op.DEQUANTIZE, [b16], [b]);
    m.op(Op.CONV_2D, [m.input('x', x.shape), w, b], [out], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
    expectClose((await runConverted(m.build(), { x })).y!, expected, 1e-6);
  });

  describe('element-wise', () => {
    const shape: Shape4 = [1, 5, 4, 3];
    const channelConstant = Float32Array.from([0.5, -2, 3]);

    /** A 1×1 conv first, so the element-wise op meets NCHW values inside the graph. */
    function convolved(m: TfliteModelBuilder, x: number, name: string, seed: number): { tensor: number; reference: (t: ref.Nhwc) => ref.Nhwc } {
      const filter = ref.seededValues(seed, 9);
      const out = m.tensor(name, shape);
      m.op(Op.CONV_2D, [x, m.float32Constant(`${name}_w`, [3, 1, 1, 3], filter), -1], [out], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
      return { tensor: out, reference: (t) => ref.conv2d(t, filter, [3, 1, 1, 3], null, { padding: 'VALID', stride: [1, 1] }) };
    }

    it('ADD of two NCHW activations, fused RELU6', async () => {
      const x = ref.mapChannels(randomInput(shape, 10), (v) => v * 8);
      const m = new TfliteModelBuilder();
      const xi = m.input('x', shape);
      const a = convolved(m, xi, 'a', 11);
      const b = convolved(m, xi, 'b', 12);
      const out = m.output(m.tensor('sum', shape));
      m.op(Op.ADD, [a.tensor, b.tensor], [out], activationOptions(BuiltinOptionsType.AddOptions, Activation.RELU6));
      const expected = ref.zip(a.reference(x), b.reference(x), (p, q) => relu6(p + q));
      expectClose((await runConverted(m.build(), { x })).sum!, expected);
    });

    it.each([
      ['ADD', Op.ADD, BuiltinOptionsType.AddOptions, (v: number, k: number) => v + k],
      ['SUB', Op.SUB, BuiltinOptionsType.SubOptions, (v: number, k: number) => v - k],
      ['MUL', Op.MUL, BuiltinOptionsType.MulOptions, (v: number, k: number) => v * k],
    ] as const)('%s with a per-channel constant, on NCHW and on the NHWC graph input', async (_, code, optionsType, f) => {
      const x = randomInput(shape, 13);
      const m = new TfliteModelBuilder();
      const xi = m.input('x', shape);
      const k = m.float32Constant('k', [3], channelConstant);
      const conv = convolved(m, xi, 'c', 14);
      const onNchw = m.output(m.tensor('on_nchw', shape));
      const onInput = m.output(m.tensor('on_input', shape));
      m.op(code, [conv.tensor, k], [onNchw], activationOptions(optionsType, Activation.NONE));
      m.op(code, [xi, k], [onInput], activationOptions(optionsType, Activation.NONE));
      const results = await runConverted(m.build(), { x });
      expectClose(results.on_nchw!, ref.mapChannels(conv.reference(x), (v, c) => f(v, channelConstant[c]!)));
      expectClose(results.on_input!, ref.mapChannels(x, (v, c) => f(v, channelConstant[c]!)));
    });

    it('PRELU with a [1,1,C] alpha', async () => {
      const x = randomInput(shape, 15);
      const alpha = Float32Array.from([0.1, -0.5, 2]);
      const m = new TfliteModelBuilder();
      const conv = convolved(m, m.input('x', shape), 'c', 16);
      const out = m.output(m.tensor('y', shape));
      m.op(Op.PRELU, [conv.tensor, m.float32Constant('alpha', [1, 1, 3], alpha)], [out]);
      expectClose((await runConverted(m.build(), { x })).y!, ref.mapChannels(conv.reference(x), (v, c) => (v >= 0 ? v : v * alpha[c]!)));
    });

    it.each([
      ['LOGISTIC', Op.LOGISTIC, (v: number) => 1 / (1 + Math.exp(-v))],
      ['ABS', Op.ABS, (v: number) => Math.abs(v)],
      ['RELU', Op.RELU, (v: number) => Math.max(v, 0)],
      ['RELU6', Op.RELU6, relu6],
      ['RELU_N1_TO_1', Op.RELU_N1_TO_1, (v: number) => Math.min(Math.max(v, -1), 1)],
      ['TANH', Op.TANH, (v: number) => Math.tanh(v)],
      ['HARD_SWISH', Op.HARD_SWISH, (v: number) => (v * relu6(v + 3)) / 6],
    ] as const)('%s on NCHW and on the NHWC graph input', async (_, code, f) => {
      const x = ref.mapChannels(randomInput(shape, 17), (v) => v * 8);
      const m = new TfliteModelBuilder();
      const xi = m.input('x', shape);
      const conv = convolved(m, xi, 'c', 18);
      m.op(code, [conv.tensor], [m.output(m.tensor('on_nchw', shape))]);
      m.op(code, [xi], [m.output(m.tensor('on_input', shape))]);
      const results = await runConverted(m.build(), { x });
      expectClose(results.on_nchw!, ref.mapChannels(conv.reference(x), f));
      expectClose(results.on_input!, ref.mapChannels(x, f));
    });
  });

  it.each([
    ['SAME, stride (2,2), 3×3', 'SAME', [2, 2], [3, 3], [1, 6, 8, 3]],
    ['SAME, stride (2,1), 3×2, odd output', 'SAME', [2, 1], [3, 2], [1, 5, 4, 3]],
    ['VALID, stride (2,2), 3×3', 'VALID', [2, 2], [3, 3], [1, 7, 9, 3]],
    ['SAME, stride (2,2), 4×4', 'SAME', [2, 2], [4, 4], [1, 6, 8, 3]],
  ] as const)('TRANSPOSE_CONV %s, with bias and fused RELU', async (_, padding, stride, kernel, outShape) => {
    const x = randomInput([1, 3, 4, 2], 28);
    const filterShape: Shape4 = [3, kernel[0], kernel[1], 2];
    const filter = ref.seededValues(29, filterShape.reduce((a, b) => a * b));
    const bias = Float32Array.from([0.25, -0.5, 0.1]);
    const expected = ref.mapChannels(ref.transposeConv(x, filter, filterShape, bias, [...outShape], { padding, stride: [...stride] }), (v) => Math.max(v, 0));
    const m = new TfliteModelBuilder();
    m.op(
      Op.TRANSPOSE_CONV,
      [m.int32Constant('output_shape', [4], outShape), m.float32Constant('w', filterShape, filter), m.input('x', x.shape), m.float32Constant('b', [3], bias)],
      [m.output(m.tensor('y', [...outShape]))],
      transposeConvOptions({ padding: Padding[padding], stride: [...stride], activation: Activation.RELU }),
    );
    expectClose((await runConverted(m.build(), { x })).y!, expected);
  });

  describe('pooling', () => {
    it.each([
      ['MAX_POOL_2D', Op.MAX_POOL_2D, 'max', [2, 2], [2, 2]],
      ['MAX_POOL_2D 3×2', Op.MAX_POOL_2D, 'max', [3, 2], [2, 1]],
      ['AVERAGE_POOL_2D', Op.AVERAGE_POOL_2D, 'average', [3, 3], [2, 2]],
    ] as const)('%s, SAME on odd sizes (padding cells are never counted)', async (_, code, kind, filter, stride) => {
      // All inputs negative: a max pool that counted zero padding would return 0 at the border.
      const x = ref.mapChannels(randomInput([1, 7, 5, 2], 19), (v) => v - 1.5);
      const expected = ref.pool2d(x, kind, { padding: 'SAME', stride: [...stride], filter: [...filter] });
      const m = new TfliteModelBuilder();
      m.op(code, [m.input('x', x.shape)], [m.output(m.tensor('y', expected.shape))], pool2dOptions({ padding: Padding.SAME, stride: [...stride], filter: [...filter] }));
      expectClose((await runConverted(m.build(), { x })).y!, expected);
    });
  });

  it('PAD in channels (MediaPipe channel padding) and in height, on NCHW and NHWC values', async () => {
    const x = randomInput([1, 4, 3, 2], 20);
    const channelPads: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 3]];
    const spatialPads: [number, number][] = [[0, 0], [1, 2], [0, 1], [0, 0]];
    const m = new TfliteModelBuilder();
    const xi = m.input('x', x.shape);
    const pooled = m.tensor('pooled', [1, 2, 2, 2]);
    m.op(Op.MAX_POOL_2D, [xi], [pooled], pool2dOptions({ padding: Padding.SAME, stride: [2, 2], filter: [2, 2] }));
    m.op(Op.PAD, [pooled, m.int32Constant('channel_pads', [4, 2], channelPads.flat())], [m.output(m.tensor('channels', [1, 2, 2, 5]))]);
    m.op(Op.PAD, [xi, m.int32Constant('spatial_pads', [4, 2], spatialPads.flat())], [m.output(m.tensor('spatial', [1, 7, 4, 2]))]);
    const results = await runConverted(m.build(), { x });
    const pooledRef = ref.pool2d(x, 'max', { padding: 'SAME', stride: [2, 2], filter: [2, 2] });
    expectClose(results.channels!, ref.pad(pooledRef, channelPads));
    expectClose(results.spatial!, ref.pad(x, spatialPads));
  });

  it('RESHAPE after a conv flattens in NHWC order', async () => {
    const x = randomInput([1, 3, 4, 2], 21);
    const filter = ref.seededValues(22, 10);
    const m = new TfliteModelBuilder();
    const conv = m.tensor('conv', [1, 3, 4, 5]);
    m.op(Op.CONV_2D, [m.input('x', x.shape), m.float32Constant('w', [5, 1, 1, 2], filter), -1], [conv], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
    m.op(Op.RESHAPE, [conv, m.int32Constant('shape', [2], [1, -1])], [m.output(m.tensor('flat', [1, 60]))], reshapeOptions([1, -1]));
    const expected = ref.conv2d(x, filter, [5, 1, 1, 2], null, { padding: 'VALID', stride: [1, 1] });
    expectClose((await runConverted(m.build(), { x })).flat!, { shape: [1, 60], data: expected.data });
  });

  it.each([
    ['channels (axis -1)', -1, [1, 3, 4, 5]],
    ['height (axis 1)', 1, [1, 6, 4, 2]],
  ] as const)('CONCATENATION along %s keeps NHWC axis semantics', async (_, axis, outShape) => {
    const x = randomInput([1, 3, 4, 2], 23);
    const filterA = ref.seededValues(24, 4);
    const filterB = ref.seededValues(25, axis === 1 ? 4 : 6);
    const channelsB = axis === 1 ? 2 : 3;
    const m = new TfliteModelBuilder();
    const xi = m.input('x', x.shape);
    const a = m.tensor('a', [1, 3, 4, 2]);
    const b = m.tensor('b', [1, 3, 4, channelsB]);
    m.op(Op.CONV_2D, [xi, m.float32Constant('wa', [2, 1, 1, 2], filterA), -1], [a], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
    m.op(Op.CONV_2D, [xi, m.float32Constant('wb', [channelsB, 1, 1, 2], filterB), -1], [b], conv2dOptions({ padding: Padding.VALID, stride: [1, 1] }));
    m.op(Op.CONCATENATION, [a, b], [m.output(m.tensor('joined', [...outShape]))], concatenationOptions(axis));
    const ra = ref.conv2d(x, filterA, [2, 1, 1, 2], null, { padding: 'VALID', stride: [1, 1] });
    const rb = ref.conv2d(x, filterB, [channelsB, 1, 1, 2], null, { padding: 'VALID', stride: [1, 1] });
    const expected = ref.nhwc([...outShape] as Shape4, (i) => {
      const c = i % outShape[3];
      const xx = Math.floor(i / outShape[3]) % outShape[2];
      const y = Math.floor(i / (outShape[3] * outShape[2]));
      if (axis === 1) return y < 3 ? ra.data[(y * 4 + xx) * 2 + c]! : rb.data[((y - 3) * 4 + xx) * 2 + c]!;
      return c < 2 ? ra.data[(y * 4 + xx) * 2 + c]! : rb.data[(y * 4 + xx) * channelsB + c - 2]!;
    });
    expectClose((await runConverted(m.build(), { x })).joined!, expected);
  });

  describe('resize', () => {
    const variants = [
      ['default', {}],
      ['align_corners', { alignCorners: true }],
      ['half_pixel_centers', { halfPixelCenters: true }],
    ] as const;

    it.each(variants)('RESIZE_BILINEAR %s, 5×4 → 8×7 and 5×4 → 3×2', async (_, options) => {
      const x = randomInput([1, 5, 4, 2], 26);
      for (const [outH, outW] of [[8, 7], [3, 2]] as const) {
        const m = new TfliteModelBuilder();
        m.op(Op.RESIZE_BILINEAR, [m.input('x', x.shape), m.int32Constant('size', [2], [outH, outW])], [m.output(m.tensor('y', [1, outH, outW, 2]))], resizeBilinearOptions(options));
        expectClose((await runConverted(m.build(), { x })).y!, ref.resizeBilinear(x, outH, outW, options));
      }
    });

    it.each(variants)('RESIZE_NEAREST_NEIGHBOR %s, 5×4 → 8×7 and 5×4 → 3×2', async (_, options) => {
      const x = randomInput([1, 5, 4, 2], 27);
      for (const [outH, outW] of [[8, 7], [3, 2]] as const) {
        const m = new TfliteModelBuilder();
        m.op(Op.RESIZE_NEAREST_NEIGHBOR, [m.input('x', x.shape), m.int32Constant('size', [2], [outH, outW])], [m.output(m.tensor('y', [1, outH, outW, 2]))], resizeNearestNeighborOptions(options));
        expectClose((await runConverted(m.build(), { x })).y!, ref.resizeNearest(x, outH, outW, options));
      }
    });
  });
});
