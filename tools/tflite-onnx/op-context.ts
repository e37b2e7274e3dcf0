// The interface between the converter and the per-operator mappings in ops.ts.
import type { Layout } from './layout.ts';
import type { Attribute } from './onnx-proto.ts';
import type { Constant } from './tensor-data.ts';
import type { Activation, TfliteOperator, TfliteTensor } from './tflite-model.ts';

/** What an op mapping sees: the operator, its tensors, and ways to read and emit ONNX values. */
export interface OpContext {
  readonly op: TfliteOperator;
  /** The TFLite tensor of input or output position `position`. */
  input(position: number): TfliteTensor;
  output(position: number): TfliteTensor;
  hasInput(position: number): boolean;
  /** Constant contents of an input (a weights buffer, or a value folded at conversion time). */
  constant(position: number): Constant | null;
  /** The ONNX value name of an input in a layout; constants become initializers in that layout. */
  value(position: number, layout: Layout): string;
  /** NCHW when the output is 4-D and some non-constant input already exists in NCHW, else native. */
  preferredLayout(): Layout;
  /** Emits the nodes producing output `position` in `layout`, with a TFLite fused activation after them. */
  produce(position: number, layout: Layout, activation: Activation, emit: (output: string) => void): void;
  /** Records output `position` as a constant computed at conversion time (no node). */
  fold(position: number, constant: Constant): void;
  node(opType: string, inputs: string[], outputs: string[], attributes?: Attribute[]): void;
  /** An initializer holding `constant`, named after `base`. */
  initializer(base: string, constant: Constant): string;
  int64s(base: string, values: number[]): string;
  float(base: string, value: number): string;
}

export type OpMapping = (context: OpContext) => void;

