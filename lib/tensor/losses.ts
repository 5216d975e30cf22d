/**
 * Losses with PyTorch's names, options and numbers (torch.nn.functional), each fused: one
 * forward pass in double, rounded to float32 once, and a closure that writes the inputs'
 * gradients directly. Each takes `reduction` ('mean' by default, 'sum', 'none'). The class
 * losses (crossEntropy, nllLoss, softmaxCrossEntropy) are in loss-class.ts.
 *
 * Labels are class indices: an Int32Array, or any array of integers (number[], Uint8Array...).
 * They are validated (count, integer, in [0, C)) before any kernel runs: RangeError otherwise.
 * An Int32Array is kept, not copied, for the backward: changing it in place before backward
 * (a DataLoader's next batch) makes backward throw, as for any saved input (version.ts).
 */
import { accumulateGrad } from './grad-buffers.js';
import { broadcastShapes } from './broadcast.js';
import { makeResult } from './graph.js';
import { fmtShape } from './shape.js';
import { checkTensor, type Tensor } from './tensor.js';
import { checkChoice, checkOptions, optionKeys, quote } from '../options.js';

/** Class indices, one per row. */
export type Labels = Int32Array | ArrayLike<number>;

/** How a loss reduces its per-element values, as PyTorch's `reduction`. */
export type Reduction = 'mean' | 'sum' | 'none';
const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** The options every loss takes. */
export interface LossOptions {
  /**
   * 'mean' averages the per-element losses (a scalar), 'sum' adds them (a scalar), 'none'
   * returns them unreduced, one per element (per row for the class losses). @defaultValue 'mean'
   */
  reduction?: Reduction;
}
export const LOSS_KEYS = optionKeys<LossOptions>()('reduction');

/** Options of {@link svmLoss}. */
export interface SvmLossOptions extends LossOptions {
  /** The margin by which the correct class's score should beat every other. @defaultValue 1 */
  delta?: number;
}
export const SVM_KEYS = optionKeys<SvmLossOptions>()('delta', 'reduction');

/** Options of {@link smoothL1Loss}. */
export interface SmoothL1Options extends LossOptions {
  /** Where the loss turns from quadratic to linear (>= 0; 0 gives the L1 loss). @defaultValue 1 */
  beta?: number;
}
export const SMOOTH_L1_KEYS = optionKeys<SmoothL1Options>()('beta', 'reduction');

/** Options of {@link huberLoss}. */
export interface HuberOptions extends LossOptions {
  /** Where the loss turns from quadratic to linear (> 0). @defaultValue 1 */
  delta?: number;
}
export const HUBER_KEYS = optionKeys<HuberOptions>()('delta', 'reduction');

/** Options of {@link binaryCrossEntropy}. */
export interface BceOptions extends LossOptions {
  /** A constant rescaling weight, broadcast to the input's shape (no gradient). @defaultValue none */
  weight?: Tensor;
}
export const BCE_KEYS = optionKeys<BceOptions>()('weight', 'reduction');

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BceWithLogitsOptions extends BceOptions {
  /**
   * The weight of the positive term, broadcast to the input's shape (usually one per class, the
   * last dim): > 1 raises recall, < 1 precision (no gradient). @defaultValue none (1)
   */
  posWeight?: Tensor;
}
export const BCE_LOGITS_KEYS = optionKeys<BceWithLogitsOptions>()('weight', 'posWeight', 'reduction');

/** @internal Checks the options' keys and returns the reduction. */
export function checkLossOptions(op: string, opts: LossOptions, keys: readonly string[]): Reduction {
  checkOptions(op, opts, keys);
  if (opts === undefined || opts.reduction === undefined) return 'mean';
  return checkChoice(op, 'reduction', opts.reduction, REDUCTIONS);
}

/**
 * @internal A loss's output from its per-element values: a scalar (their mean over `denom`, or
 * their sum, added in double in index order), or the values themselves in `shape` ('none').
 */
export function lossOutput(
  vals: Float64Array,
  shape: readonly number[],
  reduction: Reduction,
  denom: number,
): [Float32Array, number[]] {
  if (reduction === 'none') return [Float32Array.from(vals), [...shape]];
  let s = 0;
  for (let i = 0; i < vals.length; i++) s += vals[i];
  return [new Float32Array([reduction === 'mean' ? s / denom : s]), []];
}

/**
 * @internal The gradient reaching each element's loss is g[i] for 'none'; otherwise this
 * constant, the same for every element.
 */
export function upstreamScale(g: Float32Array, reduction: Reduction, denom: number): number {
  if (reduction === 'none') return Number.NaN;
  return reduction === 'mean' ? g[0] / denom : g[0];
}

function finiteOption(op: string, name: string, v: unknown, dflt: number, min: number, strict: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (strict ? v <= min : v < min)) {
    throw new RangeError(`${op}: ${name} must be a finite number ${strict ? '>' : '>='} ${min}, got ${quote(v)}`);
  }
  return v;
}

function check2d(x: Tensor, op: string, name: string): [number, number] {
  if (x.shape.length !== 2 || x.shape[0] < 1 || x.shape[1] < 1) {
    throw new RangeError(`${op}: ${name} must be [N, C] with N, C >= 1, got ${fmtShape(x.shape)}`);
  }
  return [x.shape[0], x.shape[1]];
}

/** Validates labels for N rows of C classes; returns them as an Int32Array (no copy if already one). */
export function toLabels(labels: Labels, N: number, C: number, op: string): Int32Array {
  if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${op}: labels must be an Int32Array or an array of integers`);
  }
  if (labels.length !== N) throw new RangeError(`${op}: expected ${N} labels (one per row), got ${labels.length}`);
  const isI32 = labels instanceof Int32Array;
  const out = isI32 ? labels : new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) {
      throw new RangeError(`${op}: labels[${i}] = ${v} is not a class index in [0, ${C})`);
    }
    if (!isI32) out[i] = v;
  }
  return out;
}

/**
 * The multiclass SVM (hinge) loss of the CS231n lecture: per row, the sum over j != y of
 * max(0, s_j - s_y + delta), reduced over the rows ('none' gives one value per row, [N]). A
 * margin of exactly 0 passes no gradient.
 */
export function svmLoss(scores: Tensor, labels: Labels, opts: SvmLossOptions = {}): Tensor {
  const op = 'svmLoss';
  const reduction = checkLossOptions(op, opts, SVM_KEYS);
  checkTensor(scores, op, 'scores');
  const [N, C] = check2d(scores, op, 'scores');
  const delta = opts.delta ?? 1;
  if (typeof delta !== 'number' || !Number.isFinite(delta))
    throw new RangeError(`${op}: delta must be a finite number, got ${delta}`);
  const lab = toLabels(labels, N, C, op);
  const s = scores.data;
  const vals = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const sy = s[row + lab[n]];
    for (let j = 0; j < C; j++) {
      if (j === lab[n]) continue;
      // float32 margin, as the forward of a float32 framework computes it
      const m = Math.fround(Math.fround(s[row + j] - sy) + delta);
      if (m > 0) vals[n] += m;
    }
  }
  const [data, shape] = lossOutput(vals, [N], reduction, N);
  return makeResult(
    data,
    shape,
    op,
    [scores],
    (g) => {
      const ds = new Float32Array(N * C);
      const c = upstreamScale(g, reduction, N);
      for (let n = 0; n < N; n++) {
        const row = n * C;
        const y = lab[n];
        const sy = s[row + y];
        const w = reduction === 'none' ? g[n] : c;
        let count = 0;
        for (let j = 0; j < C; j++) {
          if (j === y) continue;
          if (Math.fround(Math.fround(s[row + j] - sy) + delta) > 0) {
            ds[row + j] = w;
            count++;
          }
        }
        ds[row + y] = -count * w;
      }
      accumulateGrad(scores, ds, true);
    },
    [s, lab],
  );
}

function checkSame(op: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  checkTensor(a, op, an);
  checkTensor(b, op, bn);
  const sa = a.shape,
    sb = b.shape;
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw new RangeError(`${op}: ${an} ${fmtShape(sa)} and ${bn} ${fmtShape(sb)} must have the same shape`);
  }
  if (a.data.length === 0) throw new RangeError(`${op}: ${an} is empty`);
}

/**
 * A constant tensor broadcast to `shape` (PyTorch's rules; it may not grow `shape`), as a flat
 * row-major buffer of shape's size.
 */
function expandConstant(op: string, name: string, w: Tensor, shape: readonly number[]): Float32Array {
  checkTensor(w, op, name);
  const b = broadcastShapes(w.shape, shape, op);
  if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw new RangeError(`${op}: ${name} ${fmtShape(w.shape)} does not broadcast to the input's ${fmtShape(shape)}`);
  }
  const nd = shape.length;
  const off = nd - w.shape.length;
  const strides = new Array<number>(nd).fill(0);
  for (let i = nd - 1, st = 1; i >= off; i--) {
    const d = w.shape[i - off];
    strides[i] = d === 1 ? 0 : st;
    st *= d;
  }
  let n = 1;
  for (const d of shape) n *= d;
  const out = new Float32Array(n);
  const idx = new Array<number>(nd).fill(0);
  for (let k = 0, src = 0; k < n; k++) {
    out[k] = w.data[src];
    // odometer over the output's indices, moving src by the weight's strides
    for (let i = nd - 1; i >= 0; i--) {
      src += strides[i];
      if (++idx[i] < shape[i]) break;
      src -= strides[i] * shape[i];
      idx[i] = 0;
    }
  }
  return out;
}

/**
 * A loss of two same-shaped tensors, element by element: `f(i)` is element i's loss, `dx(i)`
 * and `dt(i)` its derivatives with respect to input[i] and target[i]. Fused: one pass forward,
 * one pass per input that needs a gradient.
 */
function pointwiseLoss(
  op: string,
  reduction: Reduction,
  input: Tensor,
  target: Tensor,
  f: (i: number) => number,
  dx: (i: number) => number,
  dt: (i: number) => number,
  saved: readonly ArrayBufferView[],
): Tensor {
  const n = input.data.length;
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = f(i);
  const [data, shape] = lossOutput(vals, input.shape, reduction, n);
  return makeResult(
    data,
    shape,
    op,
    [input, target],
    (g) => {
      const c = upstreamScale(g, reduction, n);
      const each = reduction === 'none';
      for (const [t, d] of [
        [target, dt],
        [input, dx],
      ] as const) {
        if (!t.requiresGrad) continue;
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = (each ? g[i] : c) * d(i);
        accumulateGrad(t, out, true);
      }
    },
    saved,
  );
}

/** The mean squared error: (input - target)^2 per element, reduced; shapes must match (torch.nn.functional.mse_loss). */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const op = 'mseLoss';
  const reduction = checkLossOptions(op, opts, LOSS_KEYS);
  checkSame(op, input, target, 'pred', 'target');
  const p = input.data,
    t = target.data;
  return pointwiseLoss(
    op,
    reduction,
    input,
    target,
    (i) => (p[i] - t[i]) * (p[i] - t[i]),
    (i) => 2 * (p[i] - t[i]),
    (i) => -2 * (p[i] - t[i]),
    [p, t],
  );
}

/**
 * The mean absolute error: |input - target| per element, reduced; shapes must match. Where
 * input equals target the gradient is 0, as torch.sign gives (torch.nn.functional.l1_loss).
 */
export function l1Loss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const op = 'l1Loss';
  const reduction = checkLossOptions(op, opts, LOSS_KEYS);
  checkSame(op, input, target, 'input', 'target');
  const p = input.data,
    t = target.data;
  return pointwiseLoss(
    op,
    reduction,
    input,
    target,
    (i) => Math.abs(p[i] - t[i]),
    (i) => Math.sign(p[i] - t[i]),
    (i) => -Math.sign(p[i] - t[i]),
    [p, t],
  );
}

/**
 * PyTorch's smooth L1 loss: with z = |input - target|, 0.5 z^2 / beta where z < beta, else
 * z - 0.5 beta; beta = 0 gives the L1 loss (torch.nn.functional.smooth_l1_loss). It is the
 * Huber loss divided by beta.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: SmoothL1Options = {}): Tensor {
  const op = 'smoothL1Loss';
  const reduction = checkLossOptions(op, opts, SMOOTH_L1_KEYS);
  checkSame(op, input, target, 'input', 'target');
  const beta = finiteOption(op, 'beta', opts.beta, 1, 0, false);
  return robustLoss(op, reduction, input, target, beta, 1 / beta, 1);
}

/**
 * The Huber loss: with z = |input - target|, 0.5 z^2 where z < delta, else
 * delta (z - 0.5 delta) (torch.nn.functional.huber_loss).
 */
export function huberLoss(input: Tensor, target: Tensor, opts: HuberOptions = {}): Tensor {
  const op = 'huberLoss';
  const reduction = checkLossOptions(op, opts, HUBER_KEYS);
  checkSame(op, input, target, 'input', 'target');
  const delta = finiteOption(op, 'delta', opts.delta, 1, 0, true);
  return robustLoss(op, reduction, input, target, delta, 1, delta);
}

/**
 * Quadratic within `k` of the target, linear beyond: 0.5 d^2 q where |d| < k, else
 * s (|d| - 0.5 k). Smooth L1 is q = 1/beta, s = 1; Huber q = 1, s = delta. With k = 0 it is
 * |d| and its gradient sign(d) (0 at d = 0), as torch.
 */
function robustLoss(
  op: string,
  reduction: Reduction,
  input: Tensor,
  target: Tensor,
  k: number,
  q: number,
  s: number,
): Tensor {
  const p = input.data,
    t = target.data;
  const grad = (i: number): number => {
    const d = p[i] - t[i];
    if (d < -k) return -s;
    if (d > k) return s;
    return k === 0 ? 0 : d * q;
  };
  return pointwiseLoss(
    op,
    reduction,
    input,
    target,
    (i) => {
      const z = Math.abs(p[i] - t[i]);
      return z < k ? 0.5 * z * z * q : s * (z - 0.5 * k);
    },
    grad,
    (i) => -grad(i),
    [p, t],
  );
}

/** log(v) clamped below at -100, as torch's binary_cross_entropy, so a probability of 0 or 1 gives a finite loss. */
function clampedLog(v: number): number {
  return Math.max(Math.log(v), -100);
}

/**
 * The binary cross-entropy of probabilities `input` in [0, 1] against `target` in [0, 1]:
 * -weight (t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch does
 * (torch.nn.functional.binary_cross_entropy). Its input gradient divides by
 * max(p (1 - p), 1e-12), as torch's. Prefer {@link binaryCrossEntropyWithLogits}, which is
 * stable where the sigmoid saturates.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  const op = 'binaryCrossEntropy';
  const reduction = checkLossOptions(op, opts, BCE_KEYS);
  checkSame(op, input, target, 'input', 'target');
  const p = input.data,
    t = target.data;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] >= 0 && p[i] <= 1)) throw new RangeError(`${op}: input[${i}] = ${p[i]} is not a probability in [0, 1]`);
  }
  const w = opts.weight === undefined ? null : expandConstant(op, 'weight', opts.weight, input.shape);
  const wi = (i: number): number => (w === null ? 1 : w[i]);
  return pointwiseLoss(
    op,
    reduction,
    input,
    target,
    (i) => -wi(i) * (t[i] * clampedLog(p[i]) + (1 - t[i]) * clampedLog(1 - p[i])),
    (i) => (wi(i) * (p[i] - t[i])) / Math.max(p[i] * (1 - p[i]), 1e-12),
    (i) => -wi(i) * (clampedLog(p[i]) - clampedLog(1 - p[i])),
    [p, t],
  );
}

/** sigmoid(v), without overflow for either sign. */
function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/**
 * The binary cross-entropy of sigmoid(input) against targets in [0, 1], computed stably from
 * the logits (torch.nn.functional.binary_cross_entropy_with_logits): per element
 * weight ((1 - t) x + (1 + (posWeight - 1) t) log(1 + exp(-x))), log(1 + exp(-x)) formed as
 * max(-x, 0) + log1p(exp(-|x|)). Gradients: weight ((1 + (pw - 1) t) sigmoid(x) - pw t) for
 * the logits, weight ((pw - 1) log(1 + exp(-x)) - x) for the targets.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const reduction = checkLossOptions(op, opts, BCE_LOGITS_KEYS);
  checkSame(op, input, target, 'logits', 'targets');
  const x = input.data,
    t = target.data;
  const w = opts.weight === undefined ? null : expandConstant(op, 'weight', opts.weight, input.shape);
  const pw = opts.posWeight === undefined ? null : expandConstant(op, 'posWeight', opts.posWeight, input.shape);
  const wi = (i: number): number => (w === null ? 1 : w[i]);
  // log(1 + exp(-x)), never overflowing
  const softplusNeg = (v: number): number => Math.max(-v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  return pointwiseLoss(
    op,
    reduction,
    input,
    target,
    pw === null
      ? (i) => wi(i) * (Math.max(x[i], 0) - x[i] * t[i] + Math.log1p(Math.exp(-Math.abs(x[i]))))
      : (i) => wi(i) * ((1 - t[i]) * x[i] + (1 + (pw[i] - 1) * t[i]) * softplusNeg(x[i])),
    pw === null
      ? (i) => wi(i) * (sigmoid(x[i]) - t[i])
      : (i) => wi(i) * ((1 + (pw[i] - 1) * t[i]) * sigmoid(x[i]) - pw[i] * t[i]),
    pw === null ? (i) => -wi(i) * x[i] : (i) => wi(i) * ((pw[i] - 1) * softplusNeg(x[i]) - x[i]),
    [x, t],
  );
}
