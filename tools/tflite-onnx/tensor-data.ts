// Constant tensors as the converter handles them: values decoded from TFLite buffers, permuted
// for ONNX layouts, and written back out as little-endian raw bytes.
import { TensorType, type TfliteTensor } from './tflite-model.ts';
import { OnnxDataType } from './onnx-proto.ts';

export interface Constant {
  shape: number[];
  values: Float32Array | Int32Array | BigInt64Array;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** IEEE 754 half precision to single precision. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Decodes a constant TFLite tensor; fp16 data is widened to fp32 (what DEQUANTIZE does). */
export function decodeConstant(tensor: TfliteTensor): Constant | null {
  if (!tensor.data) return null;
  const copy = tensor.data.slice(); // aligned, and independent of the model's bytes
  const view = new DataView(copy.buffer);
  const count = elementCount(tensor.shape);
  switch (tensor.type) {
    case TensorType.FLOAT32:
      return { shape: tensor.shape, values: new Float32Array(copy.buffer, 0, count) };
    case TensorType.FLOAT16:
      return { shape: tensor.shape, values: Float32Array.from({ length: count }, (_, i) => halfToFloat(view.getUint16(i * 2, true))) };
    case TensorType.INT32:
      return { shape: tensor.shape, values: new Int32Array(copy.buffer, 0, count) };
    case TensorType.INT64:
      return { shape: tensor.shape, values: new BigInt64Array(copy.buffer, 0, count) };
    default:
      throw new Error(`constant ${tensor.name} has TFLite type ${tensor.type}, which this converter does not read`);
  }
}

/** Reorders the axes of a constant: output axis k is input axis perm[k]. */
export function permute(constant: Constant, perm: readonly number[]): Constant {
  const { shape, values } = constant;
  if (perm.length !== shape.length) throw new Error(`permutation ${perm} does not fit shape ${shape}`);
  const outShape = perm.map((axis) => shape[axis]);
  const inStrides = shape.map((_, axis) => elementCount(shape.slice(axis + 1)));
  const out = new (values.constructor as new (length: number) => Constant['values'])(values.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let flat = 0; flat < values.length; flat++) {
    let source = 0;
    for (let k = 0; k < perm.length; k++) source += index[k] * inStrides[perm[k]];
    out[flat] = values[source];
    for (let k = outShape.length - 1; k >= 0; k--) {
      if (++index[k] < outShape[k]) break;
      index[k] = 0;
    }
  }
  return { shape: outShape, values: out };
}

export function onnxDataType(values: Constant['values']): OnnxDataType {
  if (values instanceof Float32Array) return OnnxDataType.FLOAT;
  if (values instanceof Int32Array) return OnnxDataType.INT32;
  return OnnxDataType.INT64;
}

/** Little-endian bytes of the values, independent of the host's byte order. */
export function rawBytes(values: Constant['values']): Uint8Array {
  const out = new Uint8Array(values.length * values.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  values.forEach((value: number | bigint, i: number) => {
    if (values instanceof Float32Array) view.setFloat32(i * 4, value as number, true);
    else if (values instanceof Int32Array) view.setInt32(i * 4, value as number, true);
    else view.setBigInt64(i * 8, value as bigint, true);
  });
  return out;
}
