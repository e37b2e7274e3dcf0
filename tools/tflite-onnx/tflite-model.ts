// Reads a TFLite model (schema tensorflow/lite/schema/schema.fbs, file identifier "TFL3") into
// plain objects. Field ids are the declaration order of each table in that schema; a union takes
// two ids (its type tag, then its value).
import { FlatTable } from './flatbuffer.ts';

export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
} as const;
export type TensorType = (typeof TensorType)[keyof typeof TensorType];

/** The builtin operators this tool names; the code of any other op is still read, and reported by number. */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU_N1_TO_1: 20,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  SOFTMAX: 25,
  TANH: 28,
  CUSTOM: 32,
  PAD: 34,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  PRELU: 54,
  TRANSPOSE_CONV: 67,
  RESIZE_NEAREST_NEIGHBOR: 97,
  LEAKY_RELU: 98,
  ABS: 101,
  HARD_SWISH: 117,
} as const;
export type BuiltinOperator = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];

export function operatorName(code: number): string {
  const entry = Object.entries(BuiltinOperator).find(([, value]) => value === code);
  return entry ? entry[0] : `builtin op ${code}`;
}

/** A builtin operator's name, or a custom operator's own code (MediaPipe's Convolution2DTransposeBias). */
export function operatorLabel(op: Pick<TfliteOperator, 'builtinCode' | 'customCode'>): string {
  return op.builtinCode === BuiltinOperator.CUSTOM && op.customCode ? `CUSTOM ${op.customCode}` : operatorName(op.builtinCode);
}

export const Padding = { SAME: 0, VALID: 1 } as const;
export type Padding = (typeof Padding)[keyof typeof Padding];

export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;
export type Activation = (typeof Activation)[keyof typeof Activation];

export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  /** Constant contents, or null for an activation (buffer 0 or an empty buffer). */
  data: Uint8Array | null;
  quantization: Quantization | null;
}

export interface TfliteOperator {
  builtinCode: number;
  customCode: string | null;
  version: number;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  /** The BuiltinOptions union value; read with the option readers below. */
  options: FlatTable | null;
  /** A custom operator's options, in whatever encoding that operator defines. */
  customOptions: Uint8Array | null;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteModel {
  version: number;
  description: string;
  subgraphs: TfliteSubgraph[];
}

// Buffers written past 2 GiB live after the flatbuffer, addressed by offset and size.
function readBuffer(buffer: FlatTable): Uint8Array | null {
  const data = buffer.vectorBytes(0, 1);
  if (data && data.byteLength > 0) return data;
  const offset = Number(buffer.uint64(1));
  const size = Number(buffer.uint64(2));
  if (offset > 1 && size > 0) return buffer.bytes.subarray(offset, offset + size);
  return null;
}

function readQuantization(table: FlatTable | null): Quantization | null {
  if (!table) return null;
  const scale = table.float32s(2);
  if (scale.length === 0) return null;
  return { scale, zeroPoint: table.int64s(3), quantizedDimension: table.int32(6) };
}

export function readTfliteModel(bytes: Uint8Array): TfliteModel {
  const identifier = FlatTable.fileIdentifier(bytes);
  if (identifier !== 'TFL3') throw new Error(`not a TFLite model (file identifier "${identifier}", expected "TFL3")`);
  const model = FlatTable.root(bytes);
  const buffers = model.tables(4).map(readBuffer);
  const operatorCodes = model.tables(1).map((code) => {
    const deprecated = code.int8(0);
    const extended = code.int32(3);
    // Old files fill only the byte-sized code; newer ones keep both, the int32 one is authoritative.
    return { builtinCode: Math.max(deprecated, extended), customCode: code.string(1), version: code.int32(2, 1) };
  });
  const subgraphs = model.tables(2).map((subgraph): TfliteSubgraph => {
    const tensors = subgraph.tables(0).map((tensor, index): TfliteTensor => ({
      index,
      name: tensor.string(3) ?? `tensor_${index}`,
      shape: tensor.int32s(0),
      type: tensor.int8(1),
      data: buffers[tensor.uint32(2)] ?? null,
      quantization: readQuantization(tensor.table(4)),
    }));
    const operators = subgraph.tables(3).map((operator): TfliteOperator => {
      const code = operatorCodes[operator.uint32(0)];
      if (!code) throw new Error(`operator refers to missing operator code ${operator.uint32(0)}`);
      return { ...code, inputs: operator.int32s(1), outputs: operator.int32s(2), options: operator.union(4).value, customOptions: operator.vectorBytes(5, 1) };
    });
    return { name: subgraph.string(4) ?? '', tensors, inputs: subgraph.int32s(1), outputs: subgraph.int32s(2), operators };
  });
  return { version: model.uint32(0), description: model.string(3) ?? '', subgraphs };
}

// Builtin options, one reader per options table; an absent table means every field takes its default.

export interface Conv2DOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  activation: Activation;
  dilationW: number;
  dilationH: number;
}

export function conv2dOptions(table: FlatTable | null): Conv2DOptions {
  return {
    padding: (table?.int8(0) ?? 0) as Padding,
    strideW: table?.int32(1) ?? 0,
    strideH: table?.int32(2) ?? 0,
    activation: (table?.int8(3) ?? 0) as Activation,
    dilationW: table?.int32(4, 1) ?? 1,
    dilationH: table?.int32(5, 1) ?? 1,
  };
}

export interface DepthwiseConv2DOptions extends Conv2DOptions {
  depthMultiplier: number;
}

export function depthwiseConv2dOptions(table: FlatTable | null): DepthwiseConv2DOptions {
  return {
    padding: (table?.int8(0) ?? 0) as Padding,
    strideW: table?.int32(1) ?? 0,
    strideH: table?.int32(2) ?? 0,
    depthMultiplier: table?.int32(3) ?? 0,
    activation: (table?.int8(4) ?? 0) as Activation,
    dilationW: table?.int32(5, 1) ?? 1,
    dilationH: table?.int32(6, 1) ?? 1,
  };
}

export interface Pool2DOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  filterWidth: number;
  filterHeight: number;
  activation: Activation;
}

export function pool2dOptions(table: FlatTable | null): Pool2DOptions {
  return {
    padding: (table?.int8(0) ?? 0) as Padding,
    strideW: table?.int32(1) ?? 0,
    strideH: table?.int32(2) ?? 0,
    filterWidth: table?.int32(3) ?? 0,
    filterHeight: table?.int32(4) ?? 0,
    activation: (table?.int8(5) ?? 0) as Activation,
  };
}

export interface TransposeConvOptions {
  padding: Padding;
  strideW: number;
  strideH: number;
  activation: Activation;
}

export function transposeConvOptions(table: FlatTable | null): TransposeConvOptions {
  return {
    padding: (table?.int8(0) ?? 0) as Padding,
    strideW: table?.int32(1) ?? 0,
    strideH: table?.int32(2) ?? 0,
    activation: (table?.int8(3) ?? 0) as Activation,
  };
}

/**
 * MediaPipe's Convolution2DTransposeBias keeps its options as a raw C struct, TfLiteTransposeConvParams:
 * int32 padding (TfLitePadding: 1 same, 2 valid), int32 stride width, int32 stride height; no activation.
 */
export function convolution2DTransposeBiasOptions(bytes: Uint8Array | null): TransposeConvOptions {
  if (!bytes || bytes.byteLength < 12) throw new Error('Convolution2DTransposeBias needs 12 bytes of options');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const padding = view.getInt32(0, true);
  if (padding !== 1 && padding !== 2) throw new Error(`Convolution2DTransposeBias has unknown padding ${padding}`);
  return { padding: padding === 1 ? Padding.SAME : Padding.VALID, strideW: view.getInt32(4, true), strideH: view.getInt32(8, true), activation: Activation.NONE };
}

/** AddOptions, SubOptions, MulOptions and DivOptions all hold the fused activation as field 0. */
export function fusedActivation(table: FlatTable | null): Activation {
  return (table?.int8(0) ?? 0) as Activation;
}

export function concatenationOptions(table: FlatTable | null): { axis: number; activation: Activation } {
  return { axis: table?.int32(0) ?? 0, activation: (table?.int8(1) ?? 0) as Activation };
}

export interface ResizeOptions {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

export function resizeBilinearOptions(table: FlatTable | null): ResizeOptions {
  return { alignCorners: table?.bool(2) ?? false, halfPixelCenters: table?.bool(3) ?? false };
}

export function resizeNearestNeighborOptions(table: FlatTable | null): ResizeOptions {
  return { alignCorners: table?.bool(0) ?? false, halfPixelCenters: table?.bool(1) ?? false };
}
