/**
 * The regression losses fit() names ('mse', 'l1', 'huber'): the mean over every element of
 * pred vs target (same shape), PyTorch's default reduction. mse is the tensor layer's mseLoss;
 * l1 and huber live here until the tensor layer has them (then fit should use those).
 */
import { type Tensor, makeResult, accumulateGrad, mseLoss } from '../tensor/index.js';

/** A loss of predictions against float targets of the same shape, a scalar out. */
export type RegressionLossFn = (output: Tensor, target: Tensor) => Tensor;

/**
 * An elementwise loss mean(f(pred - target)) from f and its derivative f'; gradients flow to
 * pred (f'(d) / n) and, when it wants them, to target (-f'(d) / n).
 */
function meanOf(op: string, f: (d: number) => number, df: (d: number) => number): RegressionLossFn {
  return (pred, target) => {
    if (pred.shape.length !== target.shape.length || pred.shape.some((s, i) => s !== target.shape[i]))
      throw new RangeError(
        `${op}: pred [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] must have the same shape`,
      );
    const p = pred.data;
    const t = target.data;
    const n = p.length;
    if (n === 0) throw new RangeError(`${op}: pred is empty`);
    let s = 0;
    for (let i = 0; i < n; i++) s += f(p[i] - t[i]);
    return makeResult(
      new Float32Array([s / n]),
      [],
      op,
      [pred, target],
      (g) => {
        const dp = new Float32Array(n);
        for (let i = 0; i < n; i++) dp[i] = (g[0] * df(p[i] - t[i])) / n;
        if (target.requiresGrad)
          accumulateGrad(
            target,
            dp.map((v) => -v),
            true,
          );
        if (pred.requiresGrad) accumulateGrad(pred, dp, true);
      },
      [p, t],
    );
  };
}

/** mean |pred - target|; the gradient at 0 is 0, as PyTorch's sign(). */
export const l1: RegressionLossFn = meanOf('l1Loss', Math.abs, (d) => Math.sign(d));

/** PyTorch's huberLoss with delta = 1: d^2 / 2 where |d| < 1, |d| - 1/2 beyond. */
export const huber: RegressionLossFn = meanOf(
  'huberLoss',
  (d) => (Math.abs(d) < 1 ? 0.5 * d * d : Math.abs(d) - 0.5),
  (d) => (Math.abs(d) < 1 ? d : Math.sign(d)),
);

/** mean (pred - target)^2. */
export const mse: RegressionLossFn = (pred, target) => mseLoss(pred, target);
