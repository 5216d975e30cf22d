/**
 * ONNX exporters of nodegrad's layers, one function a class, in the order of lib/nn/layers.ts.
 * Each emits what PyTorch's exporter emits for the same torch.nn layer in eval mode, so the
 * files look familiar in Netron and to ONNX tooling. A new layer adds its function here (see
 * CONTRIBUTING.md, "Exporting a module to ONNX").
 */
import { Dropout, Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh } from '../nn/layers.js';
import { registerExporter } from './registry.js';

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

registerExporter(Sequential, (m, x, ctx) => {
  let y = x;
  for (const [name, child] of m.namedChildren()) y = ctx.module(name, child, y);
  return y.name;
});
