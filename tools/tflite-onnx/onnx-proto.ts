// Protocol-buffers encoding of the ONNX messages this tool writes (field numbers from
// onnx/onnx.proto). Every message is built bottom-up as bytes; field order is fixed, so the same
// graph always encodes to the same bytes.

/** ONNX TensorProto.DataType values used here. */
export const OnnxDataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];

  private varint(value: bigint): void {
    // Negative int64 values travel as their 64-bit two's complement (ten bytes).
    let rest = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      let byte = Number(rest & 0x7fn);
      rest >>= 7n;
      if (rest !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (rest !== 0n);
    this.chunks.push(Uint8Array.from(bytes));
  }

  private key(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  int(field: number, value: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.chunks.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.varint(BigInt(value.byteLength));
    this.chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    const total = this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
}

export type Attribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'string'; value: string };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
}

export interface OnnxTensor {
  name: string;
  dataType: OnnxDataType;
  dims: number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataType;
  shape: number[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  graph: OnnxGraph;
}

// AttributeProto.AttributeType
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, ints: 7 } as const;

function encodeAttribute(attribute: Attribute): Uint8Array {
  const writer = new ProtoWriter().string(1, attribute.name);
  switch (attribute.type) {
    case 'float':
      writer.float(2, attribute.value);
      break;
    case 'int':
      writer.int(3, attribute.value);
      break;
    case 'string':
      writer.string(4, attribute.value);
      break;
    case 'ints':
      for (const value of attribute.value) writer.int(8, value);
      break;
  }
  return writer.int(20, ATTRIBUTE_TYPE[attribute.type]).finish();
}

function encodeNode(node: OnnxNode): Uint8Array {
  const writer = new ProtoWriter();
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  writer.string(3, node.name).string(4, node.opType);
  for (const attribute of node.attributes) writer.bytes(5, encodeAttribute(attribute));
  return writer.finish();
}

function encodeTensor(tensor: OnnxTensor): Uint8Array {
  const writer = new ProtoWriter();
  for (const dim of tensor.dims) writer.int(1, dim);
  return writer.int(2, tensor.dataType).string(8, tensor.name).bytes(9, tensor.raw).finish();
}

function encodeValueInfo(info: OnnxValueInfo): Uint8Array {
  const shape = new ProtoWriter();
  for (const dim of info.shape) shape.bytes(1, new ProtoWriter().int(1, dim).finish()); // Dimension.dim_value
  const tensorType = new ProtoWriter().int(1, info.elemType).bytes(2, shape.finish()).finish();
  const type = new ProtoWriter().bytes(1, tensorType).finish(); // TypeProto.tensor_type
  return new ProtoWriter().string(1, info.name).bytes(2, type).finish();
}

function encodeGraph(graph: OnnxGraph): Uint8Array {
  const writer = new ProtoWriter();
  for (const node of graph.nodes) writer.bytes(1, encodeNode(node));
  writer.string(2, graph.name);
  for (const tensor of graph.initializers) writer.bytes(5, encodeTensor(tensor));
  for (const input of graph.inputs) writer.bytes(11, encodeValueInfo(input));
  for (const output of graph.outputs) writer.bytes(12, encodeValueInfo(output));
  return writer.finish();
}

export function encodeModel(model: OnnxModel): Uint8Array {
  const opset = new ProtoWriter().string(1, '').int(2, model.opsetVersion).finish();
  return new ProtoWriter()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion)
    .string(6, model.docString)
    .bytes(7, encodeGraph(model.graph))
    .bytes(8, opset)
    .finish();
}
