/** The tensor API: the Tensor class, factories, differentiable ops, losses and gradcheck. */
// First, so that every importer of this module gets tensors with their methods attached.
import './methods.js';

export { Tensor } from './tensor.js';
export type { BackwardFn, NestedArray } from './tensor.js';
export { tensor, zeros, ones, full, zerosLike, onesLike, randn, rand, arange } from './create.js';
export type { TensorOptions, RandomOptions } from './create.js';
export { noGrad, isGradEnabled, makeResult, needsGrad } from './graph.js';
export { markModified, versionOf } from './version.js';
export { accumulateGrad, gradTarget } from './grad-buffers.js';
export { fmtShape } from './shape.js';
export {
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  neg,
  exp,
  log,
  sqrt,
  relu,
  sigmoid,
  tanh,
  matmul,
  linear,
  linearRelu,
  reshape,
} from './ops.js';
export {
  pow,
  abs,
  square,
  rsqrt,
  sign,
  floor,
  ceil,
  round,
  clamp,
  where,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
} from './elementwise.js';
export {
  permute,
  transpose,
  expand,
  squeeze,
  unsqueeze,
  flatten,
  narrow,
  cat,
  stack,
  split,
  chunk,
  indexSelect,
  gather,
  pad,
} from './shape-ops.js';
export {
  sum,
  mean,
  max,
  min,
  amax,
  amin,
  prod,
  variance,
  std,
  logsumexp,
  argmax,
  argmin,
  maxWithIndices,
  minWithIndices,
  softmax,
  logSoftmax,
} from './reduce.js';
export type { Dims, VarOptions, ValuesIndices } from './reduce.js';
export { broadcastShapes } from './broadcast.js';
export {
  svmLoss,
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  toLabels,
} from './losses.js';
export type {
  Labels,
  LossOptions,
  Reduction,
  SvmLossOptions,
  SmoothL1Options,
  HuberOptions,
  BceOptions,
  BceWithLogitsOptions,
} from './losses.js';
export { crossEntropy, nllLoss, softmaxCrossEntropy } from './loss-class.js';
export type { CrossEntropyOptions, NllLossOptions } from './loss-class.js';
export { layerNorm, embedding, dropout2d } from './layer-ops.js';
export type { NormalizedShape, EmbeddingOptions, Indices } from './layer-ops.js';
export { batchNorm } from './batch-norm.js';
export { conv2d, conv2dRelu } from './conv.js';
export type { Conv2dOptions, Size2 } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d } from './pool.js';
export type { MaxPool2dOptions, AvgPool2dOptions } from './pool.js';
export { gradcheck } from './gradcheck.js';
export type { GradcheckOptions, GradcheckResult, GradcheckWorst } from './gradcheck.js';
