/**
 * batchNorm: torch.nn.functional.batch_norm on the backend's kernels (batchNormTrain,
 * batchNormEval, batchNormBackward), with the chain rule beside the forward.
 */
import { kernels } from '../backend/index.js';
import { accumulateGrad } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { fmtShape } from './shape.js';
import { checkTensor, type Tensor } from './tensor.js';
import { markModified } from './version.js';

function checkChannelVector(op: string, name: string, t: Tensor | null, C: number): void {
  if (t === null) return;
  checkTensor(t, op, name);
  if (t.shape.length !== 1 || t.shape[0] !== C) {
    throw new RangeError(`${op}: ${name} must have shape [${C}] (one value per channel), got ${fmtShape(t.shape)}`);
  }
}

/**
 * Batch normalisation over dimension 1 (the channels) of x, [N, C] or [N, C, ...] (e.g. [N, C,
 * H, W]), with torch.nn.functional.batch_norm's arguments: y = (x - mean) / sqrt(var + eps) *
 * weight + bias per channel. In training the mean and the biased variance are the batch's (over
 * N and the trailing dimensions), and runningMean / runningVar, when given, are updated in
 * place: r = (1 - momentum) * r + momentum * batch statistic (the unbiased variance for
 * runningVar). Otherwise the running statistics are used, and must be given. weight and bias
 * may be null (1 and 0).
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  training = false,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  const op = 'batchNorm';
  checkTensor(x, op, 'x');
  if (x.shape.length < 2) throw new RangeError(`${op}: x must be [N, C] or [N, C, ...], got ${fmtShape(x.shape)}`);
  const [N, C] = x.shape;
  const L = x.shape.slice(2).reduce((a, b) => a * b, 1);
  checkChannelVector(op, 'runningMean', runningMean ?? null, C);
  checkChannelVector(op, 'runningVar', runningVar ?? null, C);
  checkChannelVector(op, 'weight', weight ?? null, C);
  checkChannelVector(op, 'bias', bias ?? null, C);
  if (typeof training !== 'boolean') throw new TypeError(`${op}: training must be a boolean, got ${typeof training}`);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))
    throw new RangeError(`${op}: momentum must be a number in [0, 1], got ${String(momentum)}`);
  if (typeof eps !== 'number' || !(eps >= 0))
    throw new RangeError(`${op}: eps must be a number >= 0, got ${String(eps)}`);
  const track = runningMean != null && runningVar != null;
  if ((runningMean == null) !== (runningVar == null))
    throw new TypeError(`${op}: runningMean and runningVar must both be tensors or both be null`);
  if (!training && !track) throw new TypeError(`${op}: runningMean and runningVar are needed when training is false`);
  if (training && N * L <= 1) {
    throw new RangeError(
      `${op}: expected more than 1 value per channel when training, got input shape ${fmtShape(x.shape)}`,
    );
  }
  // the kernels take weight and bias together: the missing one is the identity's
  const affine = weight != null || bias != null;
  const w = affine ? (weight?.data ?? new Float32Array(C).fill(1)) : null;
  const b = affine ? (bias?.data ?? new Float32Array(C)) : null;

  const k = kernels();
  const y = new Float32Array(N * C * L);
  const invstd = new Float32Array(C);
  let mean: Float32Array;
  if (training) {
    mean = new Float32Array(C);
    const rm = track ? runningMean!.data : null;
    const rv = track ? runningVar!.data : null;
    k.batchNormTrain(x.data, w, b, rm, rv, N, C, L, momentum, eps, affine, track, y, mean, invstd);
    if (track) {
      markModified(runningMean!.data);
      markModified(runningVar!.data);
    }
  } else {
    k.batchNormEval(x.data, runningMean!.data, runningVar!.data, w, b, N, C, L, eps, affine, y, invstd);
    // a copy: the backward must see the statistics this forward used
    mean = runningMean!.data.slice();
  }
  const parents = [x];
  if (weight != null) parents.push(weight);
  if (bias != null) parents.push(bias);
  return makeResult(
    y,
    x.shape,
    op,
    parents,
    (g) => {
      const dw = affine ? new Float32Array(C) : null;
      const db = affine ? new Float32Array(C) : null;
      // dx overwrites g, which this closure owns
      kernels().batchNormBackward(g, x.data, w, mean, invstd, N, C, L, affine, training, g, dw, db);
      accumulateGrad(x, g, true);
      if (weight != null) accumulateGrad(weight, dw!, true);
      if (bias != null) accumulateGrad(bias, db!, true);
    },
    weight != null ? [x.data, weight.data] : [x.data],
  );
}
