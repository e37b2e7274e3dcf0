// Whole-graph properties of the converter: the ONNX graph is a drop-in for the TFLite one
// (same input/output names, shapes and NHWC layout), the bytes are deterministic, and what it
// cannot convert it names.
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { conv2dOptions, Padding, pool2dOptions, TfliteModelBuilder } from '../../test/helpers/tflite-builder.ts';
import { convertTfliteToOnnx } from './converter.ts';
import { BuiltinOperator as Op } from './tflite-model.ts';

function smallNetwork(): Uint8Array {
  const m = new TfliteModelBuilder();
  const x = m.input('input_1', [1, 6, 4, 3]);
  const conv = m.tensor('conv', [1, 3, 2, 2]);
  m.op(Op.CONV_2D, [x, m.float32Constant('w', [2, 3, 3, 3], Array.from({ length: 54 }, (_, i) => (i % 7) / 7 - 0.4)), -1], [conv], conv2dOptions({ padding: Padding.SAME, stride: [2, 2] }));
  m.op(Op.LOGISTIC, [conv], [m.output(m.tensor('scores', [1, 3, 2, 2]))]);
  m.op(Op.MAX_POOL_2D, [conv], [m.output(m.tensor('pooled', [1, 2, 1, 2]))], pool2dOptions({ padding: Padding.SAME, stride: [2, 2], filter: [2, 2] }));
  return m.build();
}

describe('convertTfliteToOnnx', () => {
  it('keeps the TFLite graph inputs and outputs: names, NHWC shapes, order', async () => {
    const session = await ort.InferenceSession.create(convertTfliteToOnnx(smallNetwork()).onnx);
    expect(session.inputNames).toEqual(['input_1']);
    expect(session.outputNames).toEqual(['scores', 'pooled']);
    const results = await session.run({ input_1: new ort.Tensor('float32', new Float32Array(72).fill(0.5), [1, 6, 4, 3]) });
    expect(results.scores!.dims).toEqual([1, 3, 2, 2]);
    expect(results.pooled!.dims).toEqual([1, 2, 1, 2]);
  });

  it('writes the same bytes for the same model', () => {
    const digest = () => createHash('sha256').update(convertTfliteToOnnx(smallNetwork()).onnx).digest('hex');
    expect(digest()).toBe(digest());
  });

  it('reports the operators it found and the nodes it wrote: one transpose in, one per output', () => {
    const { report } = convertTfliteToOnnx(smallNetwork());
    expect(report.operators).toEqual({ CONV_2D: 1, LOGISTIC: 1, MAX_POOL_2D: 1 });
    expect(report.nodes).toEqual({ Transpose: 3, Conv: 1, Sigmoid: 1, MaxPool: 1 });
  });

  it('names every operator it has no mapping for', () => {
    const m = new TfliteModelBuilder();
    const x = m.input('x', [1, 4]);
    m.op(Op.SOFTMAX, [x], [m.output(m.tensor('y', [1, 4]))]);
    m.op(Op.FULLY_CONNECTED, [x], [m.output(m.tensor('z', [1, 4]))]);
    expect(() => convertTfliteToOnnx(m.build())).toThrow('unsupported TFLite operators: SOFTMAX, FULLY_CONNECTED');
  });

  it('refuses a file that is not a TFLite model', () => {
    expect(() => convertTfliteToOnnx(new TextEncoder().encode('\u0008\u0000\u0000\u0000ONNXsomething'))).toThrow('not a TFLite model');
  });
});
