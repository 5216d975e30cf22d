/**
 * The regression losses fit() names ('mse', 'l1', 'huber'): PyTorch's mseLoss, l1Loss and
 * huberLoss (delta 1) from the tensor layer, the mean over every element of pred vs target
 * (same shape), PyTorch's default reduction.
 */
import { type Tensor, huberLoss, l1Loss, mseLoss } from '../tensor/index.js';

/** A loss of predictions against float targets of the same shape, a scalar out. */
export type RegressionLossFn = (output: Tensor, target: Tensor) => Tensor;

/** mean |pred - target|; the gradient at 0 is 0, as PyTorch's sign(). */
export const l1: RegressionLossFn = (pred, target) => l1Loss(pred, target);

/** PyTorch's huberLoss with delta = 1: d^2 / 2 where |d| < 1, |d| - 1/2 beyond. */
export const huber: RegressionLossFn = (pred, target) => huberLoss(pred, target);

/** mean (pred - target)^2. */
export const mse: RegressionLossFn = (pred, target) => mseLoss(pred, target);
