// Reading TFLite flatbuffers: defaults for absent fields, both operator-code fields, fp16 data.
import { describe, expect, it } from 'vitest';
import { int32, int8, TfliteModelBuilder, BuiltinOptionsType, conv2dOptions, Padding } from '../../test/helpers/tflite-builder.ts';
import { halfToFloat, permute } from './tensor-data.ts';
import { BuiltinOperator, conv2dOptions as readConv2dOptions, readTfliteModel } from './tflite-model.ts';

function oneConv(options: Parameters<TfliteModelBuilder['op']>[3]): TfliteModelBuilder {
  const m = new TfliteModelBuilder();
  m.op(BuiltinOperator.CONV_2D, [m.input('x', [1, 4, 4, 1]), m.float32Constant('w', [1, 1, 1, 1], [1]), -1], [m.output(m.tensor('y', [1, 4, 4, 1]))], options);
  return m;
}

describe('readTfliteModel', () => {
  it('reads tensors, graph inputs and outputs, constants and operators', () => {
    const model = readTfliteModel(oneConv(conv2dOptions({ padding: Padding.VALID, stride: [2, 3], dilation: [4, 5] })).build());
    const [graph] = model.subgraphs;
    expect(model.version).toBe(3);
    expect(graph!.tensors.map((t) => [t.name, t.shape, t.data?.byteLength ?? null])).toEqual([
      ['x', [1, 4, 4, 1], null],
      ['w', [1, 1, 1, 1], 4],
      ['y', [1, 4, 4, 1], null],
    ]);
    expect([graph!.inputs, graph!.outputs]).toEqual([[0], [2]]);
    expect(graph!.operators[0]!.inputs).toEqual([0, 1, -1]);
    expect(readConv2dOptions(graph!.operators[0]!.options)).toEqual({ padding: Padding.VALID, strideW: 3, strideH: 2, activation: 0, dilationW: 5, dilationH: 4 });
  });

  it('gives absent option fields their schema defaults (dilation 1), also past the end of a short vtable', () => {
    const model = readTfliteModel(oneConv({ type: BuiltinOptionsType.Conv2DOptions, fields: [int8(Padding.SAME), int32(1), int32(1)] }).build());
    expect(readConv2dOptions(model.subgraphs[0]!.operators[0]!.options)).toMatchObject({ dilationW: 1, dilationH: 1, activation: 0 });
  });

  it('takes the operator code from deprecated_builtin_code in files that have only that', () => {
    expect(readTfliteModel(oneConv(null).build({ legacyOperatorCodes: true })).subgraphs[0]!.operators[0]!.builtinCode).toBe(BuiltinOperator.CONV_2D);
    expect(readTfliteModel(oneConv(null).build()).subgraphs[0]!.operators[0]!.builtinCode).toBe(BuiltinOperator.CONV_2D);
  });
});

describe('constant data', () => {
  it('widens IEEE half precision: normal, subnormal, signed zero, infinity', () => {
    expect([0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000, 0x7c00].map(halfToFloat)).toEqual([1, -2, 0.333251953125, 65504, 2 ** -24, -0, Infinity]);
  });

  it('permutes axes (OHWI → OIHW)', () => {
    // [O=2, H=1, W=2, I=3], values = their own flat index
    const permuted = permute({ shape: [2, 1, 2, 3], values: Float32Array.from({ length: 12 }, (_, i) => i) }, [0, 3, 1, 2]);
    expect(permuted.shape).toEqual([2, 3, 1, 2]);
    expect(Array.from(permuted.values as Float32Array)).toEqual([0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]);
  });
});
