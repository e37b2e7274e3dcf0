// One entry per TFLite builtin operator: how it becomes ONNX nodes. Spatial operators work in
// NCHW; element-wise ones work in whichever layout their input already has (see OpContext).
import type { Attribute } from './onnx-proto.ts';
import { explicitPads, NCHW_POSITION_OF_NHWC_AXIS, TO_NCHW } from './layout.ts';
import type { OpContext, OpMapping } from './op-context.ts';
import { permute, type Constant } from './tensor-data.ts';
import {
  Activation,
  BuiltinOperator,
  concatenationOptions,
  conv2dOptions,
  depthwiseConv2dOptions,
  fusedActivation,
  pool2dOptions,
  resizeBilinearOptions,
  resizeNearestNeighborOptions,
  transposeConvOptions,
  convolution2DTransposeBiasOptions,
  type Conv2DOptions,
  type TransposeConvOptions,
  type ResizeOptions,
} from './tflite-model.ts';

function requireConstant(context: OpContext, position: number, what: string): Constant {
  const constant = context.constant(position);
  if (!constant) throw new Error(`${what} must be a constant`);
  return constant;
}

/** An ONNX Conv over input 0 (as NCHW) with the given weights, input 2 as the bias if present. */
function convolution(context: OpContext, weights: Constant, group: number, options: Conv2DOptions): void {
  const [, , kernelH, kernelW] = weights.shape as [number, number, number, number];
  const kernel: [number, number] = [kernelH, kernelW];
  const stride: [number, number] = [options.strideH, options.strideW];
  const dilation: [number, number] = [options.dilationH, options.dilationW];
  const inputs = [context.value(0, 'nchw'), context.initializer(`${context.input(1).name}_oihw`, weights)];
  if (context.hasInput(2)) inputs.push(context.value(2, 'native'));
  const attributes: Attribute[] = [
    { name: 'kernel_shape', type: 'ints', value: kernel },
    { name: 'strides', type: 'ints', value: stride },
    { name: 'dilations', type: 'ints', value: dilation },
    { name: 'pads', type: 'ints', value: explicitPads(options.padding, context.input(0).shape, kernel, stride, dilation) },
    { name: 'group', type: 'int', value: group },
  ];
  context.produce(0, 'nchw', options.activation, (output) => context.node('Conv', inputs, [output], attributes));
}

function conv2d(context: OpContext): void {
  const filter = requireConstant(context, 1, 'the filter'); // [O, H, W, I] → [O, I, H, W]
  const inputChannels = context.input(0).shape[3]!;
  convolution(context, permute(filter, [0, 3, 1, 2]), inputChannels / filter.shape[3]!, conv2dOptions(context.op.options));
}

function depthwiseConv2d(context: OpContext): void {
  // One group per input channel: [1, H, W, C · multiplier] → [C · multiplier, 1, H, W].
  const filter = requireConstant(context, 1, 'the filter');
  convolution(context, permute(filter, [3, 0, 1, 2]), context.input(0).shape[3]!, depthwiseConv2dOptions(context.op.options));
}

/** Where a transposed convolution's tensors sit among the operator's inputs. */
interface TransposedInputs {
  input: number;
  filter: number;
  bias: number;
}

/** An ONNX ConvTranspose to the TFLite output's exact size; filter [O, H, W, I] → [I, O, H, W]. */
function transposedConvolution(context: OpContext, at: TransposedInputs, options: TransposeConvOptions): void {
  const [, outHeight, outWidth] = context.output(0).shape as [number, number, number, number];
  const filter = requireConstant(context, at.filter, 'the filter');
  const [, kernelH, kernelW] = filter.shape as [number, number, number, number];
  const [, inHeight, inWidth] = context.input(at.input).shape as [number, number, number, number];
  // TFLite pads as the forward convolution from the output size would; ONNX then needs the end
  // padding (or output_padding, when the end is short) that makes the output exactly that size.
  const [padTop, padLeft] = explicitPads(options.padding, context.output(0).shape, [kernelH, kernelW], [options.strideH, options.strideW]);
  const ends = [
    options.strideH * (inHeight - 1) + kernelH - padTop! - outHeight,
    options.strideW * (inWidth - 1) + kernelW - padLeft! - outWidth,
  ];
  const inputs = [context.value(at.input, 'nchw'), context.initializer(`${context.input(at.filter).name}_iohw`, permute(filter, [3, 0, 1, 2]))];
  if (context.hasInput(at.bias)) inputs.push(context.value(at.bias, 'native'));
  const attributes: Attribute[] = [
    { name: 'kernel_shape', type: 'ints', value: [kernelH, kernelW] },
    { name: 'strides', type: 'ints', value: [options.strideH, options.strideW] },
    { name: 'pads', type: 'ints', value: [padTop!, padLeft!, ...ends.map((end) => Math.max(end, 0))] },
    { name: 'output_padding', type: 'ints', value: ends.map((end) => Math.max(-end, 0)) },
  ];
  context.produce(0, 'nchw', options.activation, (output) => context.node('ConvTranspose', inputs, [output], attributes));
}

function transposeConv(context: OpContext): void {
  // Inputs: output shape (int32 [4]), filter [O, H, W, I], input, optional bias.
  transposedConvolution(context, { input: 2, filter: 1, bias: 3 }, transposeConvOptions(context.op.options));
}

/** MediaPipe's custom op (selfie segmentation's last layer): input, filter [O, H, W, I], bias. */
function convolution2DTransposeBias(context: OpContext): void {
  transposedConvolution(context, { input: 0, filter: 1, bias: 2 }, convolution2DTransposeBiasOptions(context.op.customOptions));
}

function pool2d(onnxOp: 'MaxPool' | 'AveragePool'): OpMapping {
  return (context) => {
    const options = pool2dOptions(context.op.options);
    const kernel: [number, number] = [options.filterHeight, options.filterWidth];
    const stride: [number, number] = [options.strideH, options.strideW];
    // AveragePool's default count_include_pad=0 matches TFLite, which averages only real cells.
    const attributes: Attribute[] = [
      { name: 'kernel_shape', type: 'ints', value: kernel },
      { name: 'strides', type: 'ints', value: stride },
      { name: 'pads', type: 'ints', value: explicitPads(options.padding, context.input(0).shape, kernel, stride) },
    ];
    const input = context.value(0, 'nchw');
    context.produce(0, 'nchw', options.activation, (output) => context.node(onnxOp, [input], [output], attributes));
  };
}

/** Element-wise ops with NumPy broadcasting; `activation` reads the op's fused activation, if it has one. */
function elementwise(onnxOp: string, activation: (context: OpContext) => Activation = () => Activation.NONE): OpMapping {
  return (context) => {
    const layout = context.preferredLayout();
    const inputs = context.op.inputs.map((_, position) => context.value(position, layout));
    context.produce(0, layout, activation(context), (output) => context.node(onnxOp, inputs, [output]));
  };
}

const withFusedActivation = (context: OpContext): Activation => fusedActivation(context.op.options);

function clip(min: number, max: number): OpMapping {
  return (context) => {
    const layout = context.preferredLayout();
    const inputs = [context.value(0, layout), context.float(`clip_min_${min}`, min), context.float(`clip_max_${max}`, max)];
    context.produce(0, layout, Activation.NONE, (output) => context.node('Clip', inputs, [output]));
  };
}

function dequantize(context: OpContext): void {
  // fp16 weights stored to halve the file: fold to fp32 constants at conversion time.
  const constant = context.constant(0);
  if (!constant) throw new Error('only constant inputs are supported');
  if (!(constant.values instanceof Float32Array)) throw new Error('only fp16 → fp32 is supported');
  context.fold(0, constant);
}

function pad(context: OpContext): void {
  const paddings = requireConstant(context, 1, 'the paddings'); // [rank, 2]: before, after per axis
  const rank = paddings.shape[0]!;
  const pairs = Array.from({ length: rank }, (_, axis) => [Number(paddings.values[axis * 2]), Number(paddings.values[axis * 2 + 1])]);
  const layout = context.preferredLayout();
  const ordered = layout === 'nchw' ? TO_NCHW.map((axis) => pairs[axis]!) : pairs;
  const pads = context.int64s(`${context.input(1).name}_onnx`, [...ordered.map((pair) => pair[0]!), ...ordered.map((pair) => pair[1]!)]);
  const input = context.value(0, layout);
  context.produce(0, layout, Activation.NONE, (output) => context.node('Pad', [input, pads], [output]));
}

function reshape(context: OpContext): void {
  // The output tensor's static shape is authoritative (new_shape may hold -1).
  const shape = context.int64s(`${context.output(0).name}_shape`, context.output(0).shape);
  const input = context.value(0, 'native');
  context.produce(0, 'native', Activation.NONE, (output) => context.node('Reshape', [input, shape], [output]));
}

function concatenation(context: OpContext): void {
  const options = concatenationOptions(context.op.options);
  const rank = context.output(0).shape.length;
  const axis = options.axis < 0 ? options.axis + rank : options.axis;
  const layout = context.preferredLayout();
  const inputs = context.op.inputs.map((_, position) => context.value(position, layout));
  const onnxAxis = layout === 'nchw' ? NCHW_POSITION_OF_NHWC_AXIS[axis]! : axis;
  context.produce(0, layout, options.activation, (output) =>
    context.node('Concat', inputs, [output], [{ name: 'axis', type: 'int', value: onnxAxis }]),
  );
}

function resize(mode: 'linear' | 'nearest', readOptions: (context: OpContext) => ResizeOptions): OpMapping {
  return (context) => {
    const options = readOptions(context);
    const [batch, height, width, channels] = context.output(0).shape as [number, number, number, number];
    const sizes = context.int64s(`${context.output(0).name}_sizes`, [batch, channels, height, width]);
    const attributes: Attribute[] = [{ name: 'mode', type: 'string', value: mode }];
    if (mode === 'linear') {
      const transform = options.alignCorners ? 'align_corners' : options.halfPixelCenters ? 'half_pixel' : 'asymmetric';
      attributes.push({ name: 'coordinate_transformation_mode', type: 'string', value: transform });
    } else {
      // TFLite rounds half away from zero with align_corners and floors otherwise; with half-pixel
      // centres it floors (x + 0.5) · scale, which is ONNX half_pixel rounded half up.
      const transform = options.alignCorners ? 'align_corners' : options.halfPixelCenters ? 'half_pixel' : 'asymmetric';
      const rounding = options.alignCorners || options.halfPixelCenters ? 'round_prefer_ceil' : 'floor';
      attributes.push(
        { name: 'coordinate_transformation_mode', type: 'string', value: transform },
        { name: 'nearest_mode', type: 'string', value: rounding },
      );
    }
    const input = context.value(0, 'nchw');
    context.produce(0, 'nchw', Activation.NONE, (output) => context.node('Resize', [input, '', '', sizes], [output], attributes));
  };
}

/** Custom operators by their custom code. */
export const CUSTOM_OP_MAPPINGS: Partial<Record<string, OpMapping>> = {
  Convolution2DTransposeBias: convolution2DTransposeBias,
};

export const OP_MAPPINGS: Partial<Record<number, OpMapping>> = {
  [BuiltinOperator.CONV_2D]: conv2d,
  [BuiltinOperator.DEPTHWISE_CONV_2D]: depthwiseConv2d,
  [BuiltinOperator.TRANSPOSE_CONV]: transposeConv,
  [BuiltinOperator.MAX_POOL_2D]: pool2d('MaxPool'),
  [BuiltinOperator.AVERAGE_POOL_2D]: pool2d('AveragePool'),
  [BuiltinOperator.ADD]: elementwise('Add', withFusedActivation),
  [BuiltinOperator.SUB]: elementwise('Sub', withFusedActivation),
  [BuiltinOperator.MUL]: elementwise('Mul', withFusedActivation),
  [BuiltinOperator.DIV]: elementwise('Div', withFusedActivation),
  [BuiltinOperator.PRELU]: elementwise('PRelu'),
  [BuiltinOperator.ABS]: elementwise('Abs'),
  [BuiltinOperator.RELU]: elementwise('Relu'),
  [BuiltinOperator.RELU6]: clip(0, 6),
  [BuiltinOperator.RELU_N1_TO_1]: clip(-1, 1),
  [BuiltinOperator.TANH]: elementwise('Tanh'),
  [BuiltinOperator.LOGISTIC]: elementwise('Sigmoid'),
  [BuiltinOperator.HARD_SWISH]: elementwise('HardSwish'),
  [BuiltinOperator.DEQUANTIZE]: dequantize,
  [BuiltinOperator.PAD]: pad,
  [BuiltinOperator.RESHAPE]: reshape,
  [BuiltinOperator.CONCATENATION]: concatenation,
  [BuiltinOperator.RESIZE_BILINEAR]: resize('linear', (context) => resizeBilinearOptions(context.op.options)),
  [BuiltinOperator.RESIZE_NEAREST_NEIGHBOR]: resize('nearest', (context) => resizeNearestNeighborOptions(context.op.options)),
};
