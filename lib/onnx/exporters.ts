/**
 * ONNX exporters of nodegrad's layers, one function a class, in the order of lib/nn/layers.ts.
 * Each emits what PyTorch's exporter emits for the same torch.nn layer in eval mode, so the
 * files look familiar in Netron and to ONNX tooling. A new layer adds its function here (see
 * CONTRIBUTING.md, "Exporting a module to ONNX").
 */
import { AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d } from '../nn/conv.js';
import { Dropout2d } from '../nn/dropout2d.js';
import { Embedding } from '../nn/embedding.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { Dropout, Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh } from '../nn/layers.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/norm.js';
import { INT64 } from './proto.js';
import { type OnnxExportContext, type OnnxValue, registerExporter } from './registry.js';

// Gemm computes x W^T + b with W in PyTorch's [out, in] layout (as torch.onnx emits it); nodegrad's
// Linear takes only [N, in] inputs, which is what Gemm takes.
registerExporter(Linear, (m, x, ctx) => {
  const inputs = [x.name, ctx.weight('weight', m.weight)];
  if (m.bias !== null) inputs.push(ctx.weight('bias', m.bias));
  return ctx.node('Gemm', inputs, { transB: { i: 1 } });
});

registerExporter(ReLU, (_m, x, ctx) => ctx.node('Relu', [x.name]));
registerExporter(Sigmoid, (_m, x, ctx) => ctx.node('Sigmoid', [x.name]));
registerExporter(Tanh, (_m, x, ctx) => ctx.node('Tanh', [x.name]));

// Flatten keeps inputs of at most 2 dimensions (batch included) as they are; ONNX's Flatten
// would turn [N] into [N, 1].
registerExporter(Flatten, (_m, x, ctx) =>
  x.shape.length <= 1 ? x.name : ctx.node('Flatten', [x.name], { axis: { i: 1 } }),
);

// An exported model is for inference, where dropout is the identity (PyTorch's exporter in eval
// mode leaves it out too).
registerExporter(Dropout, (_m, x) => x.name);
registerExporter(Dropout2d, (_m, x) => x.name);

// LayerNormalization exists from opset 17; below it, the same arithmetic as torch.onnx's
// decomposition: (x - mean) / sqrt(var + eps) over the last dims, then the affine part.
registerExporter(LayerNorm, (m, x, ctx) => {
  const k = m.normalizedShape.length;
  const axes = Array.from({ length: k }, (_, i) => i - k);
  const ones = (): string =>
    ctx.constant('ones', new Float32Array(m.normalizedShape.reduce((a, b) => a * b, 1)).fill(1), m.normalizedShape);
  if (ctx.opset >= 17) {
    const inputs = [x.name, m.weight !== null ? ctx.weight('weight', m.weight) : ones()];
    if (m.bias !== null) inputs.push(ctx.weight('bias', m.bias));
    return ctx.node('LayerNormalization', inputs, { axis: { i: -k }, epsilon: { f: m.eps } });
  }
  const mean = ctx.node('ReduceMean', [x.name], { axes: { ints: axes }, keepdims: { i: 1 } });
  const d = ctx.node('Sub', [x.name, mean]);
  const variance = ctx.node('ReduceMean', [ctx.node('Mul', [d, d])], { axes: { ints: axes }, keepdims: { i: 1 } });
  const eps = ctx.constant('eps', Float32Array.of(m.eps), []);
  let y = ctx.node('Div', [d, ctx.node('Sqrt', [ctx.node('Add', [variance, eps])])]);
  if (m.weight !== null) y = ctx.node('Mul', [y, ctx.weight('weight', m.weight)]);
  if (m.bias !== null) y = ctx.node('Add', [y, ctx.weight('bias', m.bias)]);
  return y;
});

// nodegrad's indices are float32 tensors of integers, so the graph input stays float and is cast
// to int64 for Gather. maxNorm renormalises rows of the weight as it reads them, which a static
// graph cannot do.
registerExporter(Embedding, (m, x, ctx) => {
  if (m.maxNorm !== null)
    throw new RangeError('Embedding with maxNorm has no ONNX form (it rewrites the weight rows it reads)');
  const indices = ctx.node('Cast', [x.name], { to: { i: INT64 } });
  return ctx.node('Gather', [ctx.weight('weight', m.weight), indices], { axis: { i: 0 } });
});

/** A Size2 (a number or [h, w]) as [h, w]. */
const pair = (v: number | readonly number[]): [number, number] =>
  typeof v === 'number' ? [v, v] : [v[0] as number, v[1] as number];

// Conv with PyTorch's weight layout ([outC, inC/groups, kH, kW] is ONNX's too); 'same' padding as
// explicit pads, the odd one at the bottom and right as torch puts it.
registerExporter(Conv2d, (m, x, ctx) => {
  const [kH, kW] = m.kernelSize;
  const o = m.options;
  const [dH, dW] = pair(o.dilation);
  let pads: number[];
  if (o.padding === 'valid') pads = [0, 0, 0, 0];
  else if (o.padding === 'same') {
    const th = dH * (kH - 1),
      tw = dW * (kW - 1);
    pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  } else {
    const [pH, pW] = pair(o.padding);
    pads = [pH, pW, pH, pW];
  }
  const inputs = [x.name, ctx.weight('weight', m.weight)];
  if (m.bias !== null) inputs.push(ctx.weight('bias', m.bias));
  return ctx.node('Conv', inputs, {
    kernel_shape: { ints: [kH, kW] },
    strides: { ints: pair(o.stride) },
    pads: { ints: pads },
    dilations: { ints: [dH, dW] },
    group: { i: o.groups },
  });
});

registerExporter(MaxPool2d, (m, x, ctx) => {
  const o = m.options;
  const [pH, pW] = pair(o.padding ?? 0);
  return ctx.node('MaxPool', [x.name], {
    kernel_shape: { ints: pair(m.kernelSize) },
    strides: { ints: pair(o.stride ?? m.kernelSize) },
    pads: { ints: [pH, pW, pH, pW] },
    dilations: { ints: pair(o.dilation ?? 1) },
    ceil_mode: { i: o.ceilMode === true ? 1 : 0 },
  });
});

registerExporter(AvgPool2d, (m, x, ctx) => {
  const o = m.options;
  if (o.divisorOverride !== undefined && o.divisorOverride !== null)
    throw new RangeError('AvgPool2d with divisorOverride has no ONNX form (AveragePool divides by the window)');
  const [pH, pW] = pair(o.padding ?? 0);
  return ctx.node('AveragePool', [x.name], {
    kernel_shape: { ints: pair(m.kernelSize) },
    strides: { ints: pair(o.stride ?? m.kernelSize) },
    pads: { ints: [pH, pW, pH, pW] },
    ceil_mode: { i: o.ceilMode === true ? 1 : 0 },
    count_include_pad: { i: (o.countIncludePad ?? true) ? 1 : 0 },
  });
});

// ONNX has no adaptive pooling: an output of 1 x 1 is GlobalAveragePool, and an output that
// divides the input evenly is an AveragePool with fixed windows; other sizes have uneven windows.
registerExporter(AdaptiveAvgPool2d, (m, x, ctx) => {
  const [H, W] = x.shape.slice(-2) as [number, number];
  const [oh, ow] = typeof m.outputSize === 'number' ? [m.outputSize, m.outputSize] : m.outputSize;
  const Ho = oh ?? H,
    Wo = ow ?? W;
  if (Ho === 1 && Wo === 1) return ctx.node('GlobalAveragePool', [x.name]);
  if (H % Ho !== 0 || W % Wo !== 0)
    throw new RangeError(
      `AdaptiveAvgPool2d from ${H}x${W} to ${Ho}x${Wo} has uneven windows, which ONNX's pooling cannot express`,
    );
  const k = [H / Ho, W / Wo];
  return ctx.node('AveragePool', [x.name], { kernel_shape: { ints: k }, strides: { ints: k } });
});

// BatchNorm in its eval form: the running statistics, as torch.onnx exports a model in eval mode.
// Without running statistics a batch is normalised by its own, which BatchNormalization's
// inference form cannot express.
function batchNormExporter(m: BatchNorm1d | BatchNorm2d, x: OnnxValue, ctx: OnnxExportContext): string {
  if (m.runningMean === null || m.runningVar === null)
    throw new RangeError(
      `${m.constructor.name} without running statistics (trackRunningStats: false) has no ONNX inference form`,
    );
  const c = m.runningMean.shape[0];
  const scale =
    m.weight !== null ? ctx.weight('weight', m.weight) : ctx.constant('ones', new Float32Array(c).fill(1), [c]);
  const shift = m.bias !== null ? ctx.weight('bias', m.bias) : ctx.constant('zeros', new Float32Array(c), [c]);
  const inputs = [
    x.name,
    scale,
    shift,
    ctx.weight('running_mean', m.runningMean),
    ctx.weight('running_var', m.runningVar),
  ];
  return ctx.node('BatchNormalization', inputs, { epsilon: { f: m.eps } });
}
registerExporter(BatchNorm1d, batchNormExporter);
registerExporter(BatchNorm2d, batchNormExporter);

registerExporter(Sequential, (m, x, ctx) => {
  let y = x;
  for (const [name, child] of m.namedChildren()) y = ctx.module(name, child, y);
  return y.name;
});
