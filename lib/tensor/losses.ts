/**
 * Losses, each a mean over the batch returned as a scalar tensor (shape []), each fused: one
 * forward pass and a closure that writes the input's gradient directly.
 *
 * Labels are class indices: an Int32Array, or any array of integers (number[], Uint8Array...).
 * They are validated (count, integer, in [0, C)) before any kernel runs: RangeError otherwise.
 * An Int32Array is kept, not copied, for the backward: changing it in place before backward
 * (a DataLoader's next batch) makes backward throw, as for any saved input (version.ts).
 */
import { kernels } from '../backend/index.js';
import { accumulateGrad, gradScratch } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { fmtShape } from './shape.js';
import { checkTensor, type Tensor } from './tensor.js';
import { checkChoice, checkOptions, optionKeys } from '../options.js';

/** Class indices, one per row. */
export type Labels = Int32Array | ArrayLike<number>;

/**
 * PyTorch's `reduction`, where code ported from it passes one: each loss here is a mean, so only
 * 'mean' is accepted; 'sum' and 'none' are refused rather than silently giving the mean.
 */
export interface LossOptions {
  /** Only 'mean' (the default) is accepted. @defaultValue 'mean' */
  reduction?: 'mean';
}
export const LOSS_KEYS = optionKeys<LossOptions>()('reduction');
export const SVM_KEYS = optionKeys<Parameters<typeof svmLoss>[2]>()('delta', 'reduction');

function checkLossOptions(op: string, opts: LossOptions, keys: readonly string[]): void {
  checkOptions(op, opts, keys);
  if (opts.reduction !== undefined) checkChoice(op, 'reduction', opts.reduction, ['mean']);
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
 * Mean over rows of -log softmax(logits)[n, labels[n]] (natural log), on the backend's fused
 * softmaxCrossEntropy kernels. Gradient: (softmax - onehot) / N.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Labels, opts: LossOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  checkLossOptions(op, opts, LOSS_KEYS);
  checkTensor(logits, op, 'logits');
  const [N, C] = check2d(logits, op, 'logits');
  const lab = toLabels(labels, N, C, op);
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

/**
 * The multiclass SVM (hinge) loss: mean over rows of sum over j != y of
 * max(0, s_j - s_y + delta). A margin of exactly 0 passes no gradient.
 */
export function svmLoss(scores: Tensor, labels: Labels, opts: { delta?: number } & LossOptions = {}): Tensor {
  const op = 'svmLoss';
  checkLossOptions(op, opts, SVM_KEYS);
  checkTensor(scores, op, 'scores');
  const [N, C] = check2d(scores, op, 'scores');
  const delta = opts.delta ?? 1;
  if (typeof delta !== 'number' || !Number.isFinite(delta))
    throw new RangeError(`${op}: delta must be a finite number, got ${delta}`);
  const lab = toLabels(labels, N, C, op);
  const s = scores.data;
  let total = 0;
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const sy = s[row + lab[n]];
    for (let j = 0; j < C; j++) {
      if (j === lab[n]) continue;
      // float32 margin, as the forward of a float32 framework computes it
      const m = Math.fround(Math.fround(s[row + j] - sy) + delta);
      if (m > 0) total += m;
    }
  }
  return makeResult(
    new Float32Array([total / N]),
    [],
    op,
    [scores],
    (g) => {
      const ds = new Float32Array(N * C);
      const w = g[0] / N;
      for (let n = 0; n < N; n++) {
        const row = n * C;
        const y = lab[n];
        const sy = s[row + y];
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

/** Mean of (pred - target)^2 over all elements; shapes must match. */
export function mseLoss(pred: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const op = 'mseLoss';
  checkLossOptions(op, opts, LOSS_KEYS);
  checkSame(op, pred, target, 'pred', 'target');
  const p = pred.data,
    t = target.data,
    n = p.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = p[i] - t[i];
    s += d * d;
  }
  return makeResult(
    new Float32Array([s / n]),
    [],
    op,
    [pred, target],
    (g) => {
      const w = (2 * g[0]) / n;
      const dp = new Float32Array(n);
      for (let i = 0; i < n; i++) dp[i] = w * (p[i] - t[i]);
      if (target.requiresGrad) {
        const dt = new Float32Array(n);
        for (let i = 0; i < n; i++) dt[i] = -dp[i];
        accumulateGrad(target, dt, true);
      }
      if (pred.requiresGrad) accumulateGrad(pred, dp, true);
    },
    [p, t],
  );
}

/**
 * Mean over all elements of the binary cross-entropy of sigmoid(logits) against targets in
 * [0, 1], computed stably as max(x, 0) - x t + log(1 + exp(-|x|)). Gradients:
 * (sigmoid(x) - t) / n for the logits, -x / n for the targets.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor, opts: LossOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  checkLossOptions(op, opts, LOSS_KEYS);
  checkSame(op, logits, targets, 'logits', 'targets');
  const x = logits.data,
    t = targets.data,
    n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    s += Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return makeResult(
    new Float32Array([s / n]),
    [],
    op,
    [logits, targets],
    (g) => {
      const w = g[0] / n;
      if (targets.requiresGrad) {
        const dt = new Float32Array(n);
        for (let i = 0; i < n; i++) dt[i] = -w * x[i];
        accumulateGrad(targets, dt, true);
      }
      if (logits.requiresGrad) {
        const dx = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const v = x[i];
          let sig: number;
          if (v >= 0) sig = 1 / (1 + Math.exp(-v));
          else {
            const e = Math.exp(v);
            sig = e / (1 + e);
          }
          dx[i] = w * (sig - t[i]);
        }
        accumulateGrad(logits, dx, true);
      }
    },
    [x, t],
  );
}
