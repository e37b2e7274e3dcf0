// TFLite → ONNX conversion of one subgraph. The ONNX graph keeps the TFLite graph's input and
// output names, shapes and NHWC layout; inside, 4-D activations live in NCHW (what ONNX Conv and
// pooling expect). Each TFLite tensor may have an ONNX value in either layout; a Transpose is
// inserted the first time a layout is asked for that does not exist yet, so a chain of NCHW ops
// carries no transposes at all.
import { broadcastNchw, TO_NCHW, TO_NHWC, type Layout } from './layout.ts';
import { encodeModel, OnnxDataType, type Attribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.ts';
import type { OpContext } from './op-context.ts';
import { CUSTOM_OP_MAPPINGS, OP_MAPPINGS } from './ops.ts';
import { decodeConstant, onnxDataType, rawBytes, type Constant } from './tensor-data.ts';
import { Activation, BuiltinOperator, operatorLabel, readTfliteModel, TensorType, type TfliteOperator, type TfliteSubgraph, type TfliteTensor } from './tflite-model.ts';

// Opset 14 is the first with HardSwish; IR version 7 is the one that opset belongs to.
export const OPSET_VERSION = 14;
export const IR_VERSION = 7;
const PRODUCER = 'faceserver-tflite-onnx';
const PRODUCER_VERSION = '1';

class SubgraphConverter {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly names = new Set<string>();
  /** ONNX value names of each TFLite tensor, by layout. */
  private readonly values = new Map<number, Partial<Record<Layout, string>>>();
  /** Constant contents by tensor index: decoded from buffers, or folded (DEQUANTIZE); null = activation. */
  private readonly constants = new Map<number, Constant | null>();
  /** Initializers made once and shared, by key. */
  private readonly shared = new Map<string, string>();

  constructor(private readonly subgraph: TfliteSubgraph) {
    // The graph's own inputs and outputs keep their TFLite names exactly.
    for (const index of [...subgraph.inputs, ...subgraph.outputs]) this.uniqueName(this.tensor(index).name);
    for (const index of subgraph.inputs) this.values.set(index, { native: this.tensor(index).name });
  }

  tensor(index: number): TfliteTensor {
    const tensor = this.subgraph.tensors[index];
    if (!tensor) throw new Error(`tensor index ${index} out of range`);
    return tensor;
  }

  /** `base`, or `base_1`, `base_2`, … when taken; the name is then taken. */
  uniqueName(base: string): string {
    let name = base;
    for (let n = 1; this.names.has(name); n++) name = `${base}_${n}`;
    this.names.add(name);
    return name;
  }

  private nameFor(index: number, layout: Layout): string {
    const tensor = this.tensor(index);
    const isGraphOutput = this.subgraph.outputs.includes(index) && layout === 'native';
    return isGraphOutput ? tensor.name : this.uniqueName(layout === 'native' ? tensor.name : `${tensor.name}_nchw`);
  }

  constantOf(index: number): Constant | null {
    if (!this.constants.has(index)) this.constants.set(index, decodeConstant(this.tensor(index)));
    return this.constants.get(index) ?? null;
  }

  valueOf(index: number, layout: Layout): string {
    const constant = this.constantOf(index);
    if (constant) {
      const base = layout === 'native' ? this.tensor(index).name : `${this.tensor(index).name}_nchw`;
      return this.sharedInitializer(`tensor ${index} ${layout}`, base, () => (layout === 'nchw' ? broadcastNchw(constant) : constant));
    }
    const existing = this.values.get(index);
    if (!existing) throw new Error(`tensor ${this.tensor(index).name} is used before any operator produces it`);
    const wanted = existing[layout];
    if (wanted) return wanted;
    if (this.tensor(index).shape.length !== 4) throw new Error(`tensor ${this.tensor(index).name} is not 4-D, it has no NCHW form`);
    const from = layout === 'nchw' ? existing.native! : existing.nchw!;
    const name = this.nameFor(index, layout);
    this.addNode('Transpose', [from], [name], [{ name: 'perm', type: 'ints', value: [...(layout === 'nchw' ? TO_NCHW : TO_NHWC)] }]);
    existing[layout] = name;
    return name;
  }

  hasNchw(index: number): boolean {
    return this.values.get(index)?.nchw !== undefined;
  }

  /** Claims the ONNX name under which an operator writes tensor `index` in `layout`. */
  define(index: number, layout: Layout): string {
    const tensor = this.tensor(index);
    if (layout === 'nchw' && tensor.shape.length !== 4) throw new Error(`tensor ${tensor.name} is not 4-D, it has no NCHW form`);
    const name = this.nameFor(index, layout);
    this.values.set(index, { [layout]: name });
    return name;
  }

  fold(index: number, constant: Constant): void {
    this.constants.set(index, constant);
  }

  addNode(opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = []): void {
    this.nodes.push({ opType, name: outputs[0]!, inputs, outputs, attributes });
  }

  addInitializer(base: string, constant: Constant): string {
    const name = this.uniqueName(base);
    this.initializers.push({ name, dataType: onnxDataType(constant.values), dims: constant.shape, raw: rawBytes(constant.values) });
    return name;
  }

  /** The initializer made under `key` the first time it is asked for (a constant input, Clip bounds). */
  sharedInitializer(key: string, base: string, constant: () => Constant): string {
    let name = this.shared.get(key);
    if (!name) {
      name = this.addInitializer(base, constant());
      this.shared.set(key, name);
    }
    return name;
  }

  convertOperator(op: TfliteOperator): void {
    mappingOf(op)!(new OperatorContext(this, op));
  }

  graphIo(indices: number[]): OnnxValueInfo[] {
    return indices.map((index) => {
      const tensor = this.tensor(index);
      if (tensor.type !== TensorType.FLOAT32) throw new Error(`graph input/output ${tensor.name} is not float32`);
      return { name: tensor.name, elemType: OnnxDataType.FLOAT, shape: tensor.shape };
    });
  }

  finish(name: string) {
    // Ask for every graph output in NHWC: this adds the closing transposes.
    for (const index of this.subgraph.outputs) this.valueOf(index, 'native');
    return {
      name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.graphIo(this.subgraph.inputs),
      outputs: this.graphIo(this.subgraph.outputs),
    };
  }
}

const ACTIVATION_NODES: Record<Activation, ((context: OpContext, input: string, output: string) => void) | null> = {
  [Activation.NONE]: null,
  [Activation.RELU]: (context, input, output) => context.node('Relu', [input], [output]),
  [Activation.RELU_N1_TO_1]: (context, input, output) =>
    context.node('Clip', [input, context.float('clip_min_-1', -1), context.float('clip_max_1', 1)], [output]),
  [Activation.RELU6]: (context, input, output) =>
    context.node('Clip', [input, context.float('clip_min_0', 0), context.float('clip_max_6', 6)], [output]),
  [Activation.TANH]: (context, input, output) => context.node('Tanh', [input], [output]),
  [Activation.SIGN_BIT]: () => {
    throw new Error('fused activation SIGN_BIT is not supported');
  },
};

class OperatorContext implements OpContext {
  constructor(
    private readonly converter: SubgraphConverter,
    readonly op: TfliteOperator,
  ) {}

  private inputIndex(position: number): number {
    const index = this.op.inputs[position];
    if (index === undefined || index < 0) throw new Error(`${operatorLabel(this.op)} has no input ${position}`);
    return index;
  }

  private outputIndex(position: number): number {
    const index = this.op.outputs[position];
    if (index === undefined) throw new Error(`${operatorLabel(this.op)} has no output ${position}`);
    return index;
  }

  input(position: number): TfliteTensor {
    return this.converter.tensor(this.inputIndex(position));
  }

  output(position: number): TfliteTensor {
    return this.converter.tensor(this.outputIndex(position));
  }

  hasInput(position: number): boolean {
    return (this.op.inputs[position] ?? -1) >= 0;
  }

  constant(position: number): Constant | null {
    return this.converter.constantOf(this.inputIndex(position));
  }

  value(position: number, layout: Layout): string {
    return this.converter.valueOf(this.inputIndex(position), layout);
  }

  preferredLayout(): Layout {
    if (this.output(0).shape.length !== 4) return 'native';
    const inputs = this.op.inputs.filter((index) => index >= 0 && !this.converter.constantOf(index));
    return inputs.some((index) => this.converter.hasNchw(index)) ? 'nchw' : 'native';
  }

  produce(position: number, layout: Layout, activation: Activation, emit: (output: string) => void): void {
    const index = this.outputIndex(position);
    const activationNode = ACTIVATION_NODES[activation];
    if (!activationNode) {
      emit(this.converter.define(index, layout));
      return;
    }
    const beforeActivation = this.converter.uniqueName(`${this.output(position).name}_before_activation`);
    emit(beforeActivation);
    activationNode(this, beforeActivation, this.converter.define(index, layout));
  }

  fold(position: number, constant: Constant): void {
    this.converter.fold(this.outputIndex(position), constant);
  }

  node(opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = []): void {
    this.converter.addNode(opType, inputs, outputs, attributes);
  }

  initializer(base: string, constant: Constant): string {
    return this.converter.addInitializer(base, constant);
  }

  int64s(base: string, values: number[]): string {
    return this.converter.addInitializer(base, { shape: [values.length], values: BigInt64Array.from(values, BigInt) });
  }

  float(base: string, value: number): string {
    return this.converter.sharedInitializer(`float ${base}`, base, () => ({ shape: [], values: Float32Array.of(value) }));
  }
}

export interface ConversionReport {
  /** Operator counts of the TFLite graph, by name. */
  operators: Record<string, number>;
  /** Node counts of the ONNX graph, by op type. */
  nodes: Record<string, number>;
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function mappingOf(op: TfliteOperator) {
  return op.builtinCode === BuiltinOperator.CUSTOM ? CUSTOM_OP_MAPPINGS[op.customCode ?? ''] : OP_MAPPINGS[op.builtinCode];
}

/** Converts the main subgraph of a TFLite model; throws naming every operator it has no mapping for. */
export function convertTfliteToOnnx(tflite: Uint8Array): { onnx: Uint8Array; report: ConversionReport } {
  const model = readTfliteModel(tflite);
  const subgraph = model.subgraphs[0];
  if (!subgraph) throw new Error('the TFLite model has no subgraph');
  const operators = countBy(subgraph.operators, operatorLabel);
  const unsupported = [...new Set(subgraph.operators.filter((op) => !mappingOf(op)).map(operatorLabel))];
  if (unsupported.length > 0) throw new Error(`unsupported TFLite operators: ${unsupported.join(', ')}`);

  const converter = new SubgraphConverter(subgraph);
  for (const op of subgraph.operators) {
    try {
      converter.convertOperator(op);
    } catch (error) {
      const outputs = op.outputs.map((index) => subgraph.tensors[index]?.name).join(', ');
      throw new Error(`${operatorLabel(op)} → ${outputs}: ${(error as Error).message}`);
    }
  }
  const graph = converter.finish(subgraph.name || model.description || 'tflite');
  const onnx = encodeModel({
    irVersion: IR_VERSION,
    opsetVersion: OPSET_VERSION,
    producerName: PRODUCER,
    producerVersion: PRODUCER_VERSION,
    docString: `converted from TFLite: ${model.description}`,
    graph,
  });
  return { onnx, report: { operators, nodes: countBy(graph.nodes, (node) => node.opType) } };
}
