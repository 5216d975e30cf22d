/** The tensor API: the Tensor class, factories, differentiable ops, losses and gradcheck. */
export {
  Tensor, tensor, zeros, ones, full, zerosLike, onesLike, randn, rand, arange,
  noGrad, isGradEnabled, makeResult, accumulateGrad, gradTarget, needsGrad, fmtShape,
} from './tensor.js';
export type { BackwardFn, NestedArray, TensorOptions, RandomOptions } from './tensor.js';
export {
  add, sub, mul, div, maximum, minimum, neg, exp, log, sqrt, pow, relu, sigmoid, tanh,
  matmul, linear, linearRelu, reshape, flatten, transpose,
} from './ops.js';
export { sum, mean, max, argmax, softmax, logSoftmax } from './reduce.js';
export { broadcastShapes } from './broadcast.js';
export {
  softmaxCrossEntropy, svmLoss, mseLoss, binaryCrossEntropyWithLogits, toLabels,
} from './losses.js';
export type { Labels } from './losses.js';
export { gradcheck } from './gradcheck.js';
export type { GradcheckOptions, GradcheckResult, GradcheckWorst } from './gradcheck.js';
