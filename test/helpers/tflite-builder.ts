// Builds small TFLite models for the converter's op-level tests: a forward-writing FlatBuffers
// encoder (each table's vtable just before it, children after it) and the TFLite schema's tables.
// Field ids follow tensorflow/lite/schema/schema.fbs, written out here independently of the reader.

type Scalar = { kind: 'int8' | 'uint8' | 'bool' | 'int32' | 'uint32' | 'float32'; value: number };
type Reference =
  | { kind: 'table'; value: FlatTableSpec }
  | { kind: 'string'; value: string }
  | { kind: 'tables'; value: FlatTableSpec[] }
  | { kind: 'int32s'; value: number[] }
  | { kind: 'float32s'; value: number[] }
  | { kind: 'int64s'; value: number[] }
  | { kind: 'bytes'; value: Uint8Array };
type Field = Scalar | Reference;
/** A table as its fields by field id; undefined ids are absent (default). */
export type FlatTableSpec = Array<Field | undefined>;

const SCALAR_SIZE: Record<Scalar['kind'], number> = { int8: 1, uint8: 1, bool: 1, int32: 4, uint32: 4, float32: 4 };

export const int8 = (value: number): Field => ({ kind: 'int8', value });
export const uint8 = (value: number): Field => ({ kind: 'uint8', value });
export const bool = (value: boolean): Field => ({ kind: 'bool', value: value ? 1 : 0 });
export const int32 = (value: number): Field => ({ kind: 'int32', value });
export const uint32 = (value: number): Field => ({ kind: 'uint32', value });
export const float32 = (value: number): Field => ({ kind: 'float32', value });
const table = (value: FlatTableSpec): Field => ({ kind: 'table', value });
const string = (value: string): Field => ({ kind: 'string', value });
const tables = (value: FlatTableSpec[]): Field => ({ kind: 'tables', value });
const int32s = (value: number[]): Field => ({ kind: 'int32s', value });
const bytes = (value: Uint8Array): Field => ({ kind: 'bytes', value });

class ForwardWriter {
  private buffer = new Uint8Array(1024);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(size: number, alignment: number): number {
    this.length = Math.ceil(this.length / alignment) * alignment;
    const at = this.length;
    this.length += size;
    if (this.length > this.buffer.byteLength) {
      const grown = new Uint8Array(Math.max(this.length, this.buffer.byteLength * 2));
      grown.set(this.buffer);
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    return at;
  }

  private patchOffset(at: number, target: number): void {
    this.view.setUint32(at, target - at, true);
  }

  writeRoot(root: FlatTableSpec, identifier: string): Uint8Array {
    const rootOffset = this.reserve(8, 4);
    for (let i = 0; i < 4; i++) this.buffer[rootOffset + 4 + i] = identifier.charCodeAt(i);
    this.patchOffset(rootOffset, this.writeTable(root));
    return this.buffer.slice(0, this.length);
  }

  private writeTable(spec: FlatTableSpec): number {
    // Lay out the inline part: a 4-byte vtable offset, then each present field at its alignment.
    const layout: Array<{ id: number; at: number; size: number }> = [];
    let size = 4;
    spec.forEach((field, id) => {
      if (!field) return;
      const fieldSize = field.kind in SCALAR_SIZE ? SCALAR_SIZE[field.kind as Scalar['kind']] : 4;
      size = Math.ceil(size / fieldSize) * fieldSize;
      layout.push({ id, at: size, size: fieldSize });
      size += fieldSize;
    });
    size = Math.ceil(size / 4) * 4;
    const vtableSize = 4 + spec.length * 2;
    const vtable = this.reserve(vtableSize, 2);
    const tableAt = this.reserve(size, 4);
    this.view.setUint16(vtable, vtableSize, true);
    this.view.setUint16(vtable + 2, size, true);
    for (const { id, at } of layout) this.view.setUint16(vtable + 4 + id * 2, at, true);
    this.view.setInt32(tableAt, tableAt - vtable, true);
    for (const { id, at } of layout) {
      const field = spec[id]!;
      const position = tableAt + at;
      switch (field.kind) {
        case 'int8':
        case 'bool':
          this.view.setInt8(position, field.value);
          break;
        case 'uint8':
          this.view.setUint8(position, field.value);
          break;
        case 'int32':
          this.view.setInt32(position, field.value, true);
          break;
        case 'uint32':
          this.view.setUint32(position, field.value, true);
          break;
        case 'float32':
          this.view.setFloat32(position, field.value, true);
          break;
        default:
          this.patchOffset(position, this.writeReference(field));
      }
    }
    return tableAt;
  }

  private writeReference(field: Reference): number {
    switch (field.kind) {
      case 'table':
        return this.writeTable(field.value);
      case 'string': {
        const encoded = new TextEncoder().encode(field.value);
        const at = this.reserve(4 + encoded.length + 1, 4);
        this.view.setUint32(at, encoded.length, true);
        this.buffer.set(encoded, at + 4);
        return at;
      }
      case 'bytes': {
        // Buffer data is 16-byte aligned in real files; keep that so the element data is aligned too.
        this.length = Math.ceil((this.length + 4) / 16) * 16 - 4;
        const at = this.reserve(4 + field.value.byteLength, 4);
        this.view.setUint32(at, field.value.byteLength, true);
        this.buffer.set(field.value, at + 4);
        return at;
      }
      case 'int32s':
      case 'float32s': {
        const at = this.reserve(4 + field.value.length * 4, 4);
        this.view.setUint32(at, field.value.length, true);
        field.value.forEach((value, i) =>
          field.kind === 'int32s' ? this.view.setInt32(at + 4 + i * 4, value, true) : this.view.setFloat32(at + 4 + i * 4, value, true),
        );
        return at;
      }
      case 'int64s': {
        this.length = Math.ceil((this.length + 4) / 8) * 8 - 4;
        const at = this.reserve(4 + field.value.length * 8, 4);
        this.view.setUint32(at, field.value.length, true);
        field.value.forEach((value, i) => this.view.setBigInt64(at + 4 + i * 8, BigInt(value), true));
        return at;
      }
      case 'tables': {
        const at = this.reserve(4 + field.value.length * 4, 4);
        this.view.setUint32(at, field.value.length, true);
        field.value.forEach((spec, i) => this.patchOffset(at + 4 + i * 4, this.writeTable(spec)));
        return at;
      }
    }
  }
}

/** IEEE 754 single → half precision bits, rounding to nearest even (normal range only). */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (value === 0) return sign;
  if (exponent <= 0 || exponent >= 31) throw new Error(`${value} is outside the normal fp16 range`);
  let half = sign | (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
  return half;
}

/** Union tags of tflite.BuiltinOptions (1-based declaration order) used by the tests. */
export const BuiltinOptionsType = {
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ResizeBilinearOptions: 15,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  SubOptions: 28,
  TransposeConvOptions: 49,
  ResizeNearestNeighborOptions: 74,
} as const;

export interface OptionsSpec {
  type: number;
  fields: FlatTableSpec;
}

interface TensorSpec {
  name: string;
  shape: number[];
  type: number;
  data: Uint8Array | null;
}

interface OperatorSpec {
  code: number;
  inputs: number[];
  outputs: number[];
  options: OptionsSpec | null;
}

const FLOAT32 = 0;
const FLOAT16 = 1;
const INT32 = 2;

/** A one-subgraph TFLite model assembled tensor by tensor and op by op. */
export class TfliteModelBuilder {
  private readonly tensors: TensorSpec[] = [];
  private readonly operators: OperatorSpec[] = [];
  private readonly inputs: number[] = [];
  private readonly outputs: number[] = [];

  private add(spec: TensorSpec): number {
    this.tensors.push(spec);
    return this.tensors.length - 1;
  }

  input(name: string, shape: number[]): number {
    const index = this.add({ name, shape, type: FLOAT32, data: null });
    this.inputs.push(index);
    return index;
  }

  /** An intermediate float32 tensor; mark the graph's results with `output`. */
  tensor(name: string, shape: number[]): number {
    return this.add({ name, shape, type: FLOAT32, data: null });
  }

  output(index: number): number {
    this.outputs.push(index);
    return index;
  }

  float32Constant(name: string, shape: number[], values: ArrayLike<number>): number {
    return this.add({ name, shape, type: FLOAT32, data: new Uint8Array(Float32Array.from(values).buffer) });
  }

  /** fp16 weights, as MediaPipe ships them (read through a DEQUANTIZE op). */
  float16Constant(name: string, shape: number[], values: ArrayLike<number>): number {
    return this.add({ name, shape, type: FLOAT16, data: new Uint8Array(Uint16Array.from(Array.from(values, floatToHalf)).buffer) });
  }

  int32Constant(name: string, shape: number[], values: ArrayLike<number>): number {
    return this.add({ name, shape, type: INT32, data: new Uint8Array(Int32Array.from(values).buffer) });
  }

  op(code: number, inputs: number[], outputs: number[], options: OptionsSpec | null = null): this {
    this.operators.push({ code, inputs, outputs, options });
    return this;
  }

  /**
   * `legacyOperatorCodes` writes only OperatorCode.deprecated_builtin_code, as files from before
   * schema version 3a (TF 2.3) do.
   */
  build({ legacyOperatorCodes = false } = {}): Uint8Array {
    const codes = [...new Set(this.operators.map((op) => op.code))];
    // Buffer 0 is the empty sentinel every activation tensor points at.
    const buffers: FlatTableSpec[] = [[]];
    const tensorTables = this.tensors.map((tensor): FlatTableSpec => {
      let buffer = 0;
      if (tensor.data) {
        buffers.push([bytes(tensor.data)]);
        buffer = buffers.length - 1;
      }
      return [int32s(tensor.shape), int8(tensor.type), uint32(buffer), string(tensor.name)];
    });
    const operatorTables = this.operators.map((op): FlatTableSpec => [
      uint32(codes.indexOf(op.code)),
      int32s(op.inputs),
      int32s(op.outputs),
      op.options ? uint8(op.options.type) : undefined,
      op.options ? table(op.options.fields) : undefined,
    ]);
    // OperatorCode: deprecated_builtin_code (byte), custom_code, version, builtin_code (int32).
    const codeTables = codes.map((code): FlatTableSpec =>
      legacyOperatorCodes ? [int8(code)] : [int8(Math.min(code, 127)), undefined, int32(1), int32(code)],
    );
    const subgraph: FlatTableSpec = [tables(tensorTables), int32s(this.inputs), int32s(this.outputs), tables(operatorTables), string('main')];
    const model: FlatTableSpec = [uint32(3), tables(codeTables), tables([subgraph]), string('converter test model'), tables(buffers)];
    return new ForwardWriter().writeRoot(model, 'TFL3');
  }
}

// Builtin options tables (field ids from schema.fbs).

export const Padding = { SAME: 0, VALID: 1 } as const;
export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;

export function conv2dOptions(o: { padding: number; stride: [number, number]; activation?: number; dilation?: [number, number] }): OptionsSpec {
  const [strideH, strideW] = o.stride;
  const [dilationH, dilationW] = o.dilation ?? [1, 1];
  return {
    type: BuiltinOptionsType.Conv2DOptions,
    fields: [int8(o.padding), int32(strideW), int32(strideH), int8(o.activation ?? 0), int32(dilationW), int32(dilationH)],
  };
}

export function depthwiseConv2dOptions(o: { padding: number; stride: [number, number]; multiplier: number; activation?: number; dilation?: [number, number] }): OptionsSpec {
  const [strideH, strideW] = o.stride;
  const [dilationH, dilationW] = o.dilation ?? [1, 1];
  return {
    type: BuiltinOptionsType.DepthwiseConv2DOptions,
    fields: [int8(o.padding), int32(strideW), int32(strideH), int32(o.multiplier), int8(o.activation ?? 0), int32(dilationW), int32(dilationH)],
  };
}

export function transposeConvOptions(o: { padding: number; stride: [number, number]; activation?: number }): OptionsSpec {
  return { type: BuiltinOptionsType.TransposeConvOptions, fields: [int8(o.padding), int32(o.stride[1]), int32(o.stride[0]), int8(o.activation ?? 0)] };
}

export function pool2dOptions(o: { padding: number; stride: [number, number]; filter: [number, number]; activation?: number }): OptionsSpec {
  return {
    type: BuiltinOptionsType.Pool2DOptions,
    fields: [int8(o.padding), int32(o.stride[1]), int32(o.stride[0]), int32(o.filter[1]), int32(o.filter[0]), int8(o.activation ?? 0)],
  };
}

/** AddOptions, SubOptions and MulOptions: fused_activation_function only. */
export function activationOptions(type: number, activation: number): OptionsSpec {
  return { type, fields: [int8(activation)] };
}

export function concatenationOptions(axis: number, activation = 0): OptionsSpec {
  return { type: BuiltinOptionsType.ConcatenationOptions, fields: [int32(axis), int8(activation)] };
}

export function reshapeOptions(newShape: number[]): OptionsSpec {
  return { type: BuiltinOptionsType.ReshapeOptions, fields: [int32s(newShape)] };
}

export function resizeBilinearOptions(o: { alignCorners?: boolean; halfPixelCenters?: boolean }): OptionsSpec {
  // new_height and new_width (ids 0, 1) are deprecated and left absent.
  return { type: BuiltinOptionsType.ResizeBilinearOptions, fields: [undefined, undefined, bool(o.alignCorners ?? false), bool(o.halfPixelCenters ?? false)] };
}

export function resizeNearestNeighborOptions(o: { alignCorners?: boolean; halfPixelCenters?: boolean }): OptionsSpec {
  return { type: BuiltinOptionsType.ResizeNearestNeighborOptions, fields: [bool(o.alignCorners ?? false), bool(o.halfPixelCenters ?? false)] };
}
