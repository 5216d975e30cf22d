/**
 * The Tensor methods (`x.add(y)`, `x.sum()`, `loss.backward()`), attached to the prototype here
 * so that tensor.ts need not import the ops that import it (TensorFlow.js attaches its chained
 * ops the same way). Declaration merging gives the class their types; lib/tensor/index.ts
 * imports this module, so anything that reaches Tensor through index.ts has them.
 */
import { backward } from './backward.js';
import * as lossClass from './loss-class.js';
import type * as losses from './losses.js';
import * as ops from './ops.js';
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import * as so from './shape-ops.js';
import { Tensor } from './tensor.js';
import { checkOptions, optionKeys } from '../options.js';

interface TensorMethods {
  /**
   * Backpropagates from this tensor. Without `grad` the tensor must have one element (the
   * seed is 1); otherwise `grad` has this tensor's shape. Gradients accumulate into the
   * `grad` of every leaf that requires grad. The graph's closures are freed as they run
   * unless `retainGraph`; a second backward through a freed graph throws.
   */
  backward(grad?: Tensor | Float32Array | null, opts?: { retainGraph?: boolean }): void;

  // ---- ops (see ops.ts, reduce.ts and losses.ts for the semantics) ----
  /** this + b, broadcasting like PyTorch; b may be a number (torch.add). */
  add(b: Tensor | number): Tensor;
  /** this - b, broadcasting; b may be a number (torch.sub). */
  sub(b: Tensor | number): Tensor;
  /** this * b element-wise, broadcasting; b may be a number (torch.mul). */
  mul(b: Tensor | number): Tensor;
  /** this / b element-wise, broadcasting; b may be a number (torch.div). */
  div(b: Tensor | number): Tensor;
  /** Element-wise maximum of this and b, broadcasting; on ties each side gets half the gradient (torch.maximum). */
  maximum(b: Tensor | number): Tensor;
  /** Element-wise minimum of this and b, broadcasting (torch.minimum). */
  minimum(b: Tensor | number): Tensor;
  /** Each element raised to exponent, a number or a tensor broadcast against this one (torch.pow). */
  pow(exponent: Tensor | number): Tensor;
  /** |x| element-wise (torch.abs). */
  abs(): Tensor;
  /** x * x element-wise (torch.square). */
  square(): Tensor;
  /** 1 / sqrt(x) element-wise (torch.rsqrt). */
  rsqrt(): Tensor;
  /** -1, 0 or 1 by sign, zero gradient (torch.sign). */
  sign(): Tensor;
  /** Rounded down, zero gradient (torch.floor). */
  floor(): Tensor;
  /** Rounded up, zero gradient (torch.ceil). */
  ceil(): Tensor;
  /** Rounded to nearest, halves to even, zero gradient (torch.round). */
  round(): Tensor;
  /** Limited to [min, max], either bound null or omitted (torch.clamp). */
  clamp(min?: number | null, max?: number | null): Tensor;
  /** Mask of this == b: a float32 tensor of 0 and 1 without grad (torch.eq). */
  eq(b: Tensor | number): Tensor;
  /** Mask of this != b (float32 0/1, no grad; torch.ne). */
  ne(b: Tensor | number): Tensor;
  /** Mask of this < b (float32 0/1, no grad; torch.lt). */
  lt(b: Tensor | number): Tensor;
  /** Mask of this <= b (float32 0/1, no grad; torch.le). */
  le(b: Tensor | number): Tensor;
  /** Mask of this > b (float32 0/1, no grad; torch.gt). */
  gt(b: Tensor | number): Tensor;
  /** Mask of this >= b (float32 0/1, no grad; torch.ge). */
  ge(b: Tensor | number): Tensor;
  /** -this (torch.neg). */
  neg(): Tensor;
  /** e to the power of each element (torch.exp). */
  exp(): Tensor;
  /** Natural logarithm of each element (torch.log). */
  log(): Tensor;
  /** Square root of each element (torch.sqrt). */
  sqrt(): Tensor;
  /** max(0, x) element-wise (torch.relu). */
  relu(): Tensor;
  /** 1 / (1 + e^-x) element-wise (torch.sigmoid). */
  sigmoid(): Tensor;
  /** Hyperbolic tangent element-wise (torch.tanh). */
  tanh(): Tensor;
  /**
   * Matrix product with torch.matmul's rules: 1-D x 1-D is a dot product, 1-D operands act as a row (left) or column
   * (right) vector, [..., M, K] x [..., K, N] -> [..., M, N] with broadcast batch dims.
   */
  matmul(b: Tensor): Tensor;
  /** this W^T + b, this [N, in], W [out, in]. */
  linear(W: Tensor, b?: Tensor | null): Tensor;
  /** The same elements in a new shape (a copy); one dimension may be -1 to be inferred (torch.reshape). */
  reshape(shape: readonly number[]): Tensor;
  /** With no dims, the transpose of a 2-D tensor (torch.t); else dims dim0 and dim1 swapped, any rank (torch.transpose). */
  transpose(dim0?: number, dim1?: number): Tensor;
  /** The dims reordered: output dim i is this tensor's dim dims[i] (torch.permute; a copy). */
  permute(dims: readonly number[]): Tensor;
  /** Broadcast to shape; -1 keeps a dim (torch.expand; a copy). */
  expand(shape: readonly number[]): Tensor;
  /** Without dim every size-1 dim removed, else dim if its size is 1 (torch.squeeze). */
  squeeze(dim?: number): Tensor;
  /** A size-1 dim inserted at dim (torch.unsqueeze). */
  unsqueeze(dim: number): Tensor;
  /** Dims startDim..endDim merged (torch.flatten); with no arguments [N, ...] -> [N, rest] (see shape-ops flatten). */
  flatten(startDim?: number, endDim?: number): Tensor;
  /** `length` slices along dim from start (torch.narrow; a copy). */
  narrow(dim: number, start: number, length: number): Tensor;
  /** Pieces along dim of splitSize slices, or of the listed sizes (torch.split). */
  split(splitSize: number | readonly number[], dim?: number): Tensor[];
  /** `chunks` pieces along dim (torch.chunk). */
  chunk(chunks: number, dim?: number): Tensor[];
  /** The slices along dim at the given indices (torch.index_select). */
  indexSelect(dim: number, index: Int32Array | readonly number[] | Tensor): Tensor;
  /** Values picked along dim by an index tensor of integers (torch.gather). */
  gather(dim: number, index: Tensor): Tensor;
  /** Same as transpose() (2-D). */
  readonly T: Tensor;
  /** Sum of all elements (dim omitted or null), along dim, or over a list of dims; keepdim default false (torch.sum). */
  sum(dim?: red.Dims, keepdim?: boolean): Tensor;
  /** Mean of all elements (dim omitted or null), along dim, or over a list of dims; keepdim default false (torch.mean). */
  mean(dim?: red.Dims, keepdim?: boolean): Tensor;
  /**
   * Max of all elements (dim omitted or null), or along dim; keepdim default false. Values only, unlike torch.max(dim),
   * which also returns indices (see maxWithIndices and argmax).
   */
  max(dim?: number | null, keepdim?: boolean): Tensor;
  /** Min of all elements (dim omitted or null), or along dim; values only (see minWithIndices and argmin). */
  min(dim?: number | null, keepdim?: boolean): Tensor;
  /** Max over dims (all by default), the gradient split evenly among ties (torch.amax). */
  amax(dim?: red.Dims, keepdim?: boolean): Tensor;
  /** Min over dims (all by default), the gradient split evenly among ties (torch.amin). */
  amin(dim?: red.Dims, keepdim?: boolean): Tensor;
  /** Product of all elements or along one dim (torch.prod). */
  prod(dim?: number | null, keepdim?: boolean): Tensor;
  /** Variance over dims, correction 1 by default (torch.var). */
  var(dim?: red.Dims, opts?: red.VarOptions): Tensor;
  /** Standard deviation over dims, correction 1 by default (torch.std). */
  std(dim?: red.Dims, opts?: red.VarOptions): Tensor;
  /** log(sum(exp(x))) over dims, computed stably (torch.logsumexp). */
  logsumexp(dim?: red.Dims, keepdim?: boolean): Tensor;
  /** Indices of the minima along dim (default -1; null for the flat index), first on ties (torch.argmin). */
  argmin(dim?: number | null): Int32Array;
  /** Indices of the maxima along dim (default -1, the last; null for the flat index), the first one on ties (torch.argmax). */
  argmax(dim?: number | null): Int32Array;
  /** Softmax along dim (default -1, the last): exp(x) / sum(exp(x)), computed stably (torch.softmax). */
  softmax(dim?: number): Tensor;
  /** log(softmax(x)) along dim (default -1), computed stably (torch.log_softmax). */
  logSoftmax(dim?: number): Tensor;
  // ---- losses (see losses.ts and loss-class.ts) ----
  /** Cross-entropy of these logits [N, C] against labels, the lecture's name (see crossEntropy). */
  softmaxCrossEntropy(labels: losses.Labels, opts?: losses.LossOptions): Tensor;
  /**
   * Cross-entropy of these logits [N, C] or [N, C, d1, ...] against class indices or a tensor
   * of probabilities, with PyTorch's options (torch.nn.functional.cross_entropy; see crossEntropy).
   */
  crossEntropy(target: losses.Labels | Tensor, opts?: lossClass.CrossEntropyOptions): Tensor;
}

export const BACKWARD_KEYS = optionKeys<Parameters<TensorMethods['backward']>[1]>()('retainGraph');

declare module './tensor.js' {
  interface Tensor extends TensorMethods {}
}

const methods: TensorMethods & ThisType<Tensor> = {
  backward(grad, opts = {}) {
    checkOptions('backward', opts, BACKWARD_KEYS);
    backward(this, grad ?? null, opts.retainGraph === true);
  },
  add(b) {
    return ops.add(this, b);
  },
  sub(b) {
    return ops.sub(this, b);
  },
  mul(b) {
    return ops.mul(this, b);
  },
  div(b) {
    return ops.div(this, b);
  },
  maximum(b) {
    return ops.maximum(this, b);
  },
  minimum(b) {
    return ops.minimum(this, b);
  },
  pow(exponent) {
    return ew.pow(this, exponent);
  },
  abs() {
    return ew.abs(this);
  },
  square() {
    return ew.square(this);
  },
  rsqrt() {
    return ew.rsqrt(this);
  },
  sign() {
    return ew.sign(this);
  },
  floor() {
    return ew.floor(this);
  },
  ceil() {
    return ew.ceil(this);
  },
  round() {
    return ew.round(this);
  },
  clamp(min, max) {
    return ew.clamp(this, min, max);
  },
  eq(b) {
    return ew.eq(this, b);
  },
  ne(b) {
    return ew.ne(this, b);
  },
  lt(b) {
    return ew.lt(this, b);
  },
  le(b) {
    return ew.le(this, b);
  },
  gt(b) {
    return ew.gt(this, b);
  },
  ge(b) {
    return ew.ge(this, b);
  },
  neg() {
    return ops.neg(this);
  },
  exp() {
    return ops.exp(this);
  },
  log() {
    return ops.log(this);
  },
  sqrt() {
    return ops.sqrt(this);
  },
  relu() {
    return ops.relu(this);
  },
  sigmoid() {
    return ops.sigmoid(this);
  },
  tanh() {
    return ops.tanh(this);
  },
  matmul(b) {
    return ops.matmul(this, b);
  },
  linear(W, b) {
    return ops.linear(this, W, b);
  },
  reshape(shape) {
    return ops.reshape(this, shape);
  },
  transpose(dim0, dim1) {
    return so.transpose(this, dim0, dim1);
  },
  permute(dims) {
    return so.permute(this, dims);
  },
  expand(shape) {
    return so.expand(this, shape);
  },
  squeeze(dim) {
    return so.squeeze(this, dim);
  },
  unsqueeze(dim) {
    return so.unsqueeze(this, dim);
  },
  flatten(startDim, endDim) {
    return so.flatten(this, startDim, endDim);
  },
  narrow(dim, start, length) {
    return so.narrow(this, dim, start, length);
  },
  split(splitSize, dim) {
    return so.split(this, splitSize, dim);
  },
  chunk(chunks, dim) {
    return so.chunk(this, chunks, dim);
  },
  indexSelect(dim, index) {
    return so.indexSelect(this, dim, index);
  },
  gather(dim, index) {
    return so.gather(this, dim, index);
  },
  get T() {
    return ops.transpose(this);
  },
  sum(dim, keepdim = false) {
    return red.sum(this, dim, keepdim);
  },
  mean(dim, keepdim = false) {
    return red.mean(this, dim, keepdim);
  },
  max(dim, keepdim = false) {
    return red.max(this, dim, keepdim);
  },
  argmax(dim = -1) {
    return red.argmax(this, dim);
  },
  argmin(dim = -1) {
    return red.argmin(this, dim);
  },
  min(dim, keepdim = false) {
    return red.min(this, dim, keepdim);
  },
  amax(dim, keepdim = false) {
    return red.amax(this, dim, keepdim);
  },
  amin(dim, keepdim = false) {
    return red.amin(this, dim, keepdim);
  },
  prod(dim, keepdim = false) {
    return red.prod(this, dim, keepdim);
  },
  var(dim, opts) {
    return red.variance(this, dim, opts);
  },
  std(dim, opts) {
    return red.std(this, dim, opts);
  },
  logsumexp(dim, keepdim = false) {
    return red.logsumexp(this, dim, keepdim);
  },
  softmax(dim = -1) {
    return red.softmax(this, dim);
  },
  logSoftmax(dim = -1) {
    return red.logSoftmax(this, dim);
  },
  // ---- losses ----
  softmaxCrossEntropy(labels, opts) {
    return lossClass.softmaxCrossEntropy(this, labels, opts);
  },
  crossEntropy(target, opts) {
    return lossClass.crossEntropy(this, target, opts);
  },
};

// Non-enumerable, as class methods are, so tensors enumerate and compare as before.
for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(methods))) {
  Object.defineProperty(Tensor.prototype, name, { ...desc, enumerable: false });
}
