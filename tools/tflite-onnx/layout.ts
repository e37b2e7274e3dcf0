// NHWC (TFLite) ↔ NCHW (ONNX Conv, pooling, Resize) bookkeeping and TFLite's padding rule.
import { permute, type Constant } from './tensor-data.ts';
import { Padding } from './tflite-model.ts';

/** The layout an ONNX value holds a TFLite tensor in: as TFLite has it, or (4-D only) NCHW. */
export type Layout = 'native' | 'nchw';

/** Transpose permutations NHWC → NCHW and back. */
export const TO_NCHW = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1] as const;

/** Where each NHWC axis sits in NCHW. */
export const NCHW_POSITION_OF_NHWC_AXIS = [0, 2, 3, 1] as const;

/**
 * A constant that broadcasts against an NHWC tensor, reshaped to broadcast the same way against
 * the NCHW one: left-padded to 4-D, then transposed.
 */
export function broadcastNchw(constant: Constant): Constant {
  if (constant.shape.length > 4) throw new Error(`a ${constant.shape.length}-D constant cannot broadcast against a 4-D tensor`);
  const shape = [...new Array<number>(4 - constant.shape.length).fill(1), ...constant.shape];
  return permute({ shape, values: constant.values }, TO_NCHW);
}

/**
 * ONNX pads [top, left, bottom, right] for TFLite SAME/VALID padding of an NHWC input: SAME gives
 * ceil(size / stride) outputs, with the odd padding cell at the end.
 */
export function explicitPads(
  padding: Padding,
  inputShape: readonly number[],
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number] = [1, 1],
): number[] {
  if (padding === Padding.VALID) return [0, 0, 0, 0];
  const before: number[] = [];
  const after: number[] = [];
  for (const axis of [0, 1]) {
    const size = inputShape[axis + 1]!;
    const outputs = Math.ceil(size / stride[axis]!);
    const span = (kernel[axis]! - 1) * dilation[axis]! + 1;
    const total = Math.max((outputs - 1) * stride[axis]! + span - size, 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return [...before, ...after];
}
