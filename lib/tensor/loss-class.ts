/**
 * The classification losses over a class dimension: crossEntropy (PyTorch's, with all its
 * options), nllLoss, and softmaxCrossEntropy (the lecture's name for the plain case).
 *
 * Layout, as PyTorch's: input [N, C] or [N, C, d1, ...], C classes along dim 1. With
 * D = d1 * ... (1 for [N, C]) there are M = N D positions; position p = n D + k holds its
 * class c at n C D + c D + k. Class targets are M indices (row-major over [N, d1, ...]);
 * probability targets are a float tensor shaped like the input.
 *
 * The plain case (mean, class indices, [N, C], no weight, no smoothing, nothing ignored) runs
 * the backend's fused softmax-cross-entropy kernel; the rest one fused loop in double.
 */
import { kernels } from '../backend/index.js';
import { accumulateGrad, gradScratch } from './grad-buffers.js';
import { makeResult } from './graph.js';
import {
  checkLossOptions,
  LOSS_KEYS,
  lossOutput,
  toLabels,
  upstreamScale,
  type Labels,
  type LossOptions,
} from './losses.js';
import { fmtShape } from './shape.js';
import { checkTensor, Tensor } from './tensor.js';
import { optionKeys, quote } from '../options.js';

/** Options of {@link nllLoss}. */
export interface NllLossOptions extends LossOptions {
  /**
   * One weight per class (length C; constants, no gradient): each position's loss is scaled by
   * its target class's weight, and 'mean' divides by the sum of those weights (PyTorch's
   * weighted mean), not by the count. @defaultValue none (every class 1)
   */
  weight?: Tensor | ArrayLike<number>;
  /**
   * A target equal to this contributes neither loss nor gradient and does not count in the
   * mean (padding tokens, unlabelled pixels); any integer outside [0, C). @defaultValue -100
   */
  ignoreIndex?: number;
}
export const NLL_KEYS = optionKeys<NllLossOptions>()('weight', 'ignoreIndex', 'reduction');

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends NllLossOptions {
  /**
   * In [0, 1]: the target becomes (1 - labelSmoothing) of the given class (or distribution)
   * plus labelSmoothing spread evenly over the C classes. @defaultValue 0
   */
  labelSmoothing?: number;
}
export const CROSS_ENTROPY_KEYS = optionKeys<CrossEntropyOptions>()(
  'weight',
  'ignoreIndex',
  'labelSmoothing',
  'reduction',
);

/** Sizes of an [N, C, d1, ...] input: N, C, D (= d1 * ...) and the shape of per-position results. */
function classLayout(x: Tensor, op: string, name: string): { N: number; C: number; D: number; posShape: number[] } {
  checkTensor(x, op, name);
  const s = x.shape;
  if (s.length < 2 || s.some((d) => d < 1)) {
    throw new RangeError(`${op}: ${name} must be [N, C] or [N, C, d1, ...] with every size >= 1, got ${fmtShape(s)}`);
  }
  let D = 1;
  for (let i = 2; i < s.length; i++) D *= s[i];
  return { N: s[0], C: s[1], D, posShape: [s[0], ...s.slice(2)] };
}

/** Class targets for M positions: integers in [0, C) or equal to ignoreIndex. */
function classTargets(labels: Labels, M: number, C: number, ignoreIndex: number, op: string): Int32Array {
  if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${op}: target must be an Int32Array or an array of integers, or a Tensor of probabilities`);
  }
  if (labels.length !== M)
    throw new RangeError(`${op}: expected ${M} targets (one per position), got ${labels.length}`);
  const isI32 = labels instanceof Int32Array;
  const out = isI32 ? labels : new Int32Array(M);
  for (let i = 0; i < M; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || ((v < 0 || v >= C) && v !== ignoreIndex)) {
      throw new RangeError(
        `${op}: target[${i}] = ${v} is not a class index in [0, ${C}) nor ignoreIndex (${ignoreIndex})`,
      );
    }
    if (!isI32) out[i] = v;
  }
  return out;
}

function classWeights(op: string, weight: NllLossOptions['weight'], C: number): Float64Array | null {
  if (weight === undefined) return null;
  const w = weight instanceof Tensor ? weight.data : weight;
  if (w === null || typeof w !== 'object' || w.length !== C) {
    throw new RangeError(
      `${op}: weight must be a Tensor or an array of ${C} numbers (one per class), got ${quote(weight)}`,
    );
  }
  const out = Float64Array.from(w);
  for (let c = 0; c < C; c++) {
    if (!Number.isFinite(out[c])) throw new RangeError(`${op}: weight[${c}] = ${out[c]} is not finite`);
  }
  return out;
}

function checkIgnoreIndex(op: string, v: unknown): number {
  if (v === undefined) return -100;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${op}: ignoreIndex must be an integer, got ${quote(v)}`);
  return v;
}

/**
 * The negative log-likelihood loss of log-probabilities `input` ([N, C] or [N, C, d1, ...])
 * against class indices (torch.nn.functional.nll_loss): -weight[y] input[y] per position,
 * reduced ('none' gives shape [N, d1, ...]). The gradient is -weight[y] at the target class,
 * 0 elsewhere. A 'mean' with every target ignored is NaN, as torch's.
 */
export function nllLoss(input: Tensor, target: Labels, opts: NllLossOptions = {}): Tensor {
  const op = 'nllLoss';
  const reduction = checkLossOptions(op, opts, NLL_KEYS);
  const { N, C, D, posShape } = classLayout(input, op, 'input');
  const ignore = checkIgnoreIndex(op, opts.ignoreIndex);
  const w = classWeights(op, opts.weight, C);
  const M = N * D;
  const lab = classTargets(target, M, C, ignore, op);
  const x = input.data;
  const vals = new Float64Array(M);
  let wsum = 0;
  for (let p = 0; p < M; p++) {
    const y = lab[p];
    if (y === ignore) continue;
    const wy = w === null ? 1 : w[y];
    wsum += wy;
    vals[p] = -wy * x[((p / D) | 0) * C * D + y * D + (p % D)];
  }
  const [data, shape] = lossOutput(vals, posShape, reduction, wsum);
  return makeResult(
    data,
    shape,
    op,
    [input],
    (g) => {
      const dx = new Float32Array(x.length);
      const c = upstreamScale(g, reduction, wsum);
      for (let p = 0; p < M; p++) {
        const y = lab[p];
        if (y === ignore) continue;
        dx[((p / D) | 0) * C * D + y * D + (p % D)] = -(w === null ? 1 : w[y]) * (reduction === 'none' ? g[p] : c);
      }
      accumulateGrad(input, dx, true);
    },
    [lab],
  );
}

/**
 * The cross-entropy of logits `input` ([N, C] or [N, C, d1, ...], classes along dim 1)
 * against `target` (torch.nn.functional.cross_entropy), reduced ('none' gives [N, d1, ...]):
 *
 * - class indices (M = N d1 ... integers): -weight[y] log softmax(x)[y] per position, with
 *   labelSmoothing e: (1 - e) times that plus e / C times -sum_c weight[c] log softmax(x)[c].
 *   'mean' divides by the sum of weight[y] over the positions not ignored (their count without
 *   weights), as PyTorch.
 * - probabilities (a Tensor shaped like input, each position a distribution over classes):
 *   -sum_c weight[c] t'[c] log softmax(x)[c] with t' = (1 - e) t + e / C; 'mean' divides by
 *   the number of positions. ignoreIndex is refused. The targets get a gradient too.
 *
 * The input's gradient is softmax(x) times the target weights' sum minus those weights.
 */
export function crossEntropy(input: Tensor, target: Labels | Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return classCrossEntropy('crossEntropy', input, target, opts, CROSS_ENTROPY_KEYS);
}

/**
 * The lecture's name for {@link crossEntropy} with class indices: mean (or `reduction`) over
 * the rows of logits [N, C] of -log softmax(logits)[n, labels[n]] (natural log). The mean runs
 * on the backend's fused kernels. Gradient: (softmax - onehot) / N.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Labels, opts: LossOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  checkLossOptions(op, opts, LOSS_KEYS);
  checkTensor(logits, op, 'logits');
  if (logits.shape.length !== 2 || logits.shape[0] < 1 || logits.shape[1] < 1) {
    throw new RangeError(`${op}: logits must be [N, C] with N, C >= 1, got ${fmtShape(logits.shape)}`);
  }
  // an Int32Array from here on, so classTargets below neither copies it nor finds it wrong
  const lab = toLabels(labels, logits.shape[0], logits.shape[1], op);
  return classCrossEntropy(op, logits, lab, opts, LOSS_KEYS);
}

function classCrossEntropy(
  op: string,
  input: Tensor,
  target: Labels | Tensor,
  opts: CrossEntropyOptions,
  keys: readonly string[],
): Tensor {
  const reduction = checkLossOptions(op, opts, keys);
  const { N, C, D, posShape } = classLayout(input, op, 'input');
  const eps = opts.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) {
    throw new RangeError(`${op}: labelSmoothing must be a number in [0, 1], got ${quote(eps)}`);
  }
  const w = classWeights(op, opts.weight, C);
  const M = N * D;
  const probs = target instanceof Tensor;
  let lab: Int32Array | null = null;
  let ignore = -100;
  if (probs) {
    if (opts.ignoreIndex !== undefined) throw new RangeError(`${op}: ignoreIndex applies to class-index targets only`);
    if (target.shape.length !== input.shape.length || target.shape.some((d, i) => d !== input.shape[i])) {
      if (target.shape.length === posShape.length && target.shape.every((d, i) => d === posShape[i])) {
        throw new TypeError(
          `${op}: a Tensor target holds probabilities shaped like the input ${fmtShape(input.shape)}; ` +
            'pass class indices as an Int32Array or an array of integers',
        );
      }
      throw new RangeError(
        `${op}: probability target ${fmtShape(target.shape)} must have the input's shape ${fmtShape(input.shape)}`,
      );
    }
  } else {
    ignore = checkIgnoreIndex(op, opts.ignoreIndex);
    lab = classTargets(target, M, C, ignore, op);
    if (reduction === 'mean' && D === 1 && w === null && eps === 0 && !lab.includes(ignore)) {
      return fusedCrossEntropy(op, input, lab, N, C);
    }
  }
  const x = input.data;
  const t = probs ? target.data : null;
  const CD = C * D;
  const wc = (c: number): number => (w === null ? 1 : w[c]);
  let wAll = 0;
  for (let c = 0; c < C; c++) wAll += wc(c);
  // log softmax over the classes at every position, kept for the backward
  const logp = new Float64Array(x.length);
  const vals = new Float64Array(M);
  let denom = probs ? M : 0;
  for (let p = 0; p < M; p++) {
    const base = ((p / D) | 0) * CD + (p % D);
    // subtract the max so exp cannot overflow
    let mx = -Infinity;
    for (let c = 0, i = base; c < C; c++, i += D) if (x[i] > mx) mx = x[i];
    let sum = 0;
    for (let c = 0, i = base; c < C; c++, i += D) sum += Math.exp(x[i] - mx);
    const lse = mx + Math.log(sum);
    for (let c = 0, i = base; c < C; c++, i += D) logp[i] = x[i] - lse;
    let v = 0;
    if (t !== null) {
      for (let c = 0, i = base; c < C; c++, i += D) v -= wc(c) * ((1 - eps) * t[i] + eps / C) * logp[i];
    } else {
      const y = lab![p];
      if (y === ignore) continue;
      denom += wc(y);
      v = -(1 - eps) * wc(y) * logp[base + y * D];
      if (eps > 0) {
        let s = 0;
        for (let c = 0, i = base; c < C; c++, i += D) s -= wc(c) * logp[i];
        v += (eps / C) * s;
      }
    }
    vals[p] = v;
  }
  const [data, shape] = lossOutput(vals, posShape, reduction, denom);
  const parents = probs ? [input, target] : [input];
  // backward reads logp (its own) and the targets, not the input's data
  const saved: ArrayBufferView[] = probs ? [t!] : [lab!];
  return makeResult(
    data,
    shape,
    op,
    parents,
    (g) => {
      const c0 = upstreamScale(g, reduction, denom);
      const dx = input.requiresGrad ? new Float32Array(x.length) : null;
      const dt = probs && target.requiresGrad ? new Float32Array(x.length) : null;
      for (let p = 0; p < M; p++) {
        const base = ((p / D) | 0) * CD + (p % D);
        const gp = reduction === 'none' ? g[p] : c0;
        const y = t === null ? lab![p] : -1;
        if (y === ignore) continue;
        // the loss is -sum_c a_c logp_c with a_c the weighted smoothed target, so
        // dx_c = gp (softmax_c sum_j a_j - a_c)
        let asum = 0;
        if (t !== null) {
          for (let c = 0, i = base; c < C; c++, i += D) asum += wc(c) * ((1 - eps) * t[i] + eps / C);
        } else asum = (1 - eps) * wc(y) + (eps / C) * wAll;
        for (let c = 0, i = base; c < C; c++, i += D) {
          const a =
            t !== null ? wc(c) * ((1 - eps) * t[i] + eps / C) : (c === y ? (1 - eps) * wc(y) : 0) + (eps / C) * wc(c);
          if (dx !== null) dx[i] = gp * (Math.exp(logp[i]) * asum - a);
          if (dt !== null) dt[i] = -gp * (1 - eps) * wc(c) * logp[i];
        }
      }
      if (dt !== null) accumulateGrad(target as Tensor, dt, true);
      if (dx !== null) accumulateGrad(input, dx, true);
    },
    saved,
  );
}

/** The plain case on the backend's fused kernels: mean over N rows, gradient (softmax - onehot) / N. */
function fusedCrossEntropy(op: string, logits: Tensor, lab: Int32Array, N: number, C: number): Tensor {
  const probs = new Float32Array(N * C);
  const loss = kernels().softmaxCrossEntropy(logits.data, lab, N, C, probs);
  return makeResult(
    new Float32Array([loss]),
    [],
    op,
    [logits],
    (g) => {
      const dl = gradScratch(N * C); // every element is written
      kernels().softmaxCrossEntropyBackward(probs, lab, N, C, dl);
      const s = g[0];
      if (s !== 1) for (let i = 0; i < dl.length; i++) dl[i] *= s;
      accumulateGrad(logits, dl, true);
    },
    [lab],
  );
}
