// The pure-TypeScript backend: the living specification of every kernel in kernel-table.ts, and the
// fallback wherever the native addon does not load.
//
// Dimensions: gemm's C is M x N, op(A) M x K, op(B) K x N (ts-gemm.ts); softmax logits, probs,
// dlogits and bias x, y, dy are N x C, labels has N entries, bias/dbias C; elementwise and
// optimizer kernels work on n contiguous elements.
//
// Storage is float32; arithmetic runs in JS doubles unless said otherwise. The optimizer steps
// round every elementwise intermediate to float32 (Math.fround) in PyTorch's order, like the
// native kernels (native/kernels/optim.cc), so both follow torch.optim step by step.
//
// Every kernel's arguments are checked first, as the addon checks them, from the same table
// (kernel-table.ts, check.ts): the same errors, and nothing is written when a check fails. The
// functions below see only arguments that passed: unused optional buffers are null, labels are
// in range (a private copy when they live in shared memory), and calls whose table entry says
// they are empty never reach them.
import type { Kernels } from './types.js';
import { KERNEL_NAMES, type KernelFunctions } from './kernel-table.js';
import { gemmTs } from './ts-gemm.js';
import { embedding, embeddingBackward, layerNorm, layerNormBackward } from './ts-layers.js';
import { batchNormTrain, batchNormEval, batchNormBackward } from './ts-norm.js';
import * as conv from './ts-conv.js';
import * as chk from './check.js';

const f = Math.fround;

// Row scratch for softmax: exp(x - max) in double, so exp runs once per element.
let rowExp = new Float64Array(1024);
// Column sums for biasGrad.
let colSum = new Float64Array(1024);

function gemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  B: Float32Array,
  beta: number,
  C: Float32Array,
): void {
  gemmTs(transA, transB, M, N, K, alpha, A, B, beta, C);
}

// probs[n, :] = softmax(logits[n, :]); returns mean_n (logsumexp(logits[n]) - logits[n, label]).
function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Int32Array,
  N: number,
  C: number,
  probs: Float32Array,
): number {
  if (rowExp.length < C) rowExp = new Float64Array(C);
  const e = rowExp;
  let loss = 0;
  for (let n = 0, o = 0; n < N; n++, o += C) {
    // Subtract the row max so exp cannot overflow: the largest term is exp(0) = 1, the sum is
    // in [1, C] and its log is finite. Differences are doubles (x - max may exceed float range).
    let mx = -Infinity;
    for (let c = 0; c < C; c++) if (logits[o + c] > mx) mx = logits[o + c];
    let sum = 0;
    for (let c = 0; c < C; c++) sum += e[c] = Math.exp(logits[o + c] - mx);
    const inv = 1 / sum;
    for (let c = 0; c < C; c++) probs[o + c] = e[c] * inv;
    // -log p[label] = log(sum) - (x[label] - max): never forms p, which may underflow to 0.
    loss += Math.log(sum) - (logits[o + labels[n]] - mx);
  }
  return N > 0 ? loss / N : 0;
}

// dlogits = (probs - onehot(labels)) / N; dlogits may be probs (each element read once, first).
function softmaxCrossEntropyBackward(
  probs: Float32Array,
  labels: Int32Array,
  N: number,
  C: number,
  dlogits: Float32Array,
): void {
  const scale = 1 / N;
  for (let n = 0, o = 0; n < N; n++, o += C) {
    const label = o + labels[n];
    for (let i = o; i < o + C; i++) dlogits[i] = (probs[i] - (i === label ? 1 : 0)) * scale;
  }
}

// y[n, c] = x[n, c] + bias[c]; y may be x.
function biasAdd(x: Float32Array, bias: Float32Array, N: number, C: number, y: Float32Array): void {
  for (let n = 0, o = 0; n < N; n++, o += C) {
    for (let c = 0; c < C; c++) y[o + c] = x[o + c] + bias[c];
  }
}

// dbias[c] (+)= sum_n dy[n, c]: sums in double, n ascending, rounded to float once.
function biasGrad(dy: Float32Array, N: number, C: number, dbias: Float32Array, accumulate: boolean): void {
  if (colSum.length < C) colSum = new Float64Array(C);
  const acc = colSum;
  for (let c = 0; c < C; c++) acc[c] = accumulate ? dbias[c] : 0;
  for (let n = 0, o = 0; n < N; n++, o += C) {
    for (let c = 0; c < C; c++) acc[c] += dy[o + c];
  }
  for (let c = 0; c < C; c++) dbias[c] = acc[c];
}

// y[n, c] = max(x[n, c] + bias[c], 0): biasAdd then relu in one pass; y may be x.
function biasRelu(x: Float32Array, bias: Float32Array, N: number, C: number, y: Float32Array): void {
  for (let n = 0, o = 0; n < N; n++, o += C) {
    for (let c = 0; c < C; c++) {
      // float32 sum first (as biasAdd stores it), then `s <= 0 ? 0 : s` (as relu)
      const s = Math.fround(x[o + c] + bias[c]);
      y[o + c] = s <= 0 ? 0 : s;
    }
  }
}

// dx = dy where y > 0 else 0; dbias (+)= sum_n dx[n, :] in double, n ascending, rounded once
// (reluBackward then biasGrad in one pass); dx may be dy.
function biasReluBackward(
  dy: Float32Array,
  y: Float32Array,
  N: number,
  C: number,
  dx: Float32Array,
  dbias: Float32Array,
  accumulate: boolean,
): void {
  if (colSum.length < C) colSum = new Float64Array(C);
  const acc = colSum;
  for (let c = 0; c < C; c++) acc[c] = accumulate ? dbias[c] : 0;
  for (let n = 0, o = 0; n < N; n++, o += C) {
    for (let c = 0; c < C; c++) {
      const r = y[o + c] > 0 ? dy[o + c] : 0;
      dx[o + c] = r;
      acc[c] += r;
    }
  }
  for (let c = 0; c < C; c++) dbias[c] = acc[c];
}

// y = max(x, 0); y may be x. `x <= 0 ? 0 : x`: NaN propagates (like torch.relu), -0 becomes +0.
function relu(x: Float32Array, n: number, y: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = v <= 0 ? 0 : v;
  }
}

// dx = dy where y > 0, else 0; dx may be dy.
function reluBackward(dy: Float32Array, y: Float32Array, n: number, dx: Float32Array): void {
  for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

// The optimizer steps below follow torch.optim (1.13, single-tensor form). Each elementwise
// step is a float32 operation in PyTorch's order, rounded as PyTorch's CPU kernels and the
// native ones (native/kernels/optim.cc) round it:
//   x.add(y, alpha=a)           fused: f(x + a * y)
//   x.addcmul(t1, t2, value=v)  fused: f(x + f(v * t1) * t2)
//   x.addcdiv(t1, t2, value=v)  f(x + f(f(v * t1) / t2)), each operation rounded
//   x.mul(a), sqrt, x + eps     one rounding each
// The product of two floats is exact in a double, so f(x + a * b) is a float32 fma (one
// rounding of the exact x + a * b) but for rare double roundings, as in the native scalar
// kernels; f(a * b) is the float32 product. Scalar coefficients are computed in double and cast
// to float once.
//
// Each step's loop is its own function and reads its coefficients from `coef` before the loop.
// With the coefficients computed in the same function as the loop, TurboFan left their pure
// computation (Math.pow, sqrt, divisions) where it is used, inside the loop body, whenever it
// compiled the whole function (rather than only the loop, on-stack): Adam's step then took
// ~20 ms instead of ~2.5 ms for 200k elements. Typed-array loads stay where they are.
const coef = new Float64Array(16);

// SGD: g = grad + wd * param; buf = first ? g : momentum * buf + (1 - dampening) * g;
// g = nesterov ? g + momentum * buf : buf; param -= lr * g.
function sgdStep(
  param: Float32Array,
  grad: Float32Array,
  buf: Float32Array | null,
  n: number,
  lr: number,
  momentum: number,
  dampening: number,
  weightDecay: number,
  nesterov: boolean,
  first: boolean,
): void {
  const c = coef;
  c[0] = f(weightDecay);
  c[1] = f(momentum);
  c[2] = f(1 - dampening);
  c[3] = f(-lr);
  sgdLoop(param, grad, buf, n, weightDecay !== 0, nesterov, first);
}

function sgdLoop(
  param: Float32Array,
  grad: Float32Array,
  b: Float32Array | null,
  n: number,
  decay: boolean,
  nesterov: boolean,
  first: boolean,
): void {
  const c = coef;
  const wd = c[0],
    mom = c[1],
    oneMinusDamp = c[2],
    negLr = c[3];
  for (let i = 0; i < n; i++) {
    let g = grad[i];
    if (decay) g = f(g + wd * param[i]); // add(param, alpha=wd)
    if (b !== null) {
      // The first step copies g into the buffer (no dampening), as torch.clone(d_p) does.
      const bi = first ? g : f(f(b[i] * mom) + oneMinusDamp * g); // mul_(mom).add_(g, alpha=1-d)
      b[i] = bi;
      g = nesterov ? f(g + mom * bi) : bi; // add(buf, alpha=mom)
    }
    param[i] = param[i] + negLr * g; // add_(g, alpha=-lr): the store rounds once
  }
}

// Adam / AdamW: see kernels.h adam_step.
// amsgrad is read through vmax: the checker passes null exactly when amsgrad is false.
function adamStep(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array | null,
  n: number,
  step: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  decoupled: boolean,
  _amsgrad: boolean,
): void {
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const c = coef;
  c[0] = f(-(lr / bc1)); // -step_size
  c[1] = f(Math.sqrt(bc2));
  c[2] = f(beta1);
  c[3] = f(beta2);
  c[4] = f(1 - beta1);
  c[5] = f(1 - beta2);
  c[6] = f(weightDecay);
  c[7] = f(1 - lr * weightDecay);
  c[8] = f(eps);
  adamLoop(param, grad, m, v, vmax, n, decoupled, !decoupled && weightDecay !== 0);
}

function adamLoop(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vm: Float32Array | null,
  n: number,
  decoupled: boolean,
  coupled: boolean,
): void {
  const c = coef;
  const negStepSize = c[0],
    bc2Sqrt = c[1],
    b1 = c[2],
    b2 = c[3],
    oneMinusB1 = c[4],
    oneMinusB2 = c[5];
  const wd = c[6],
    decay = c[7],
    feps = c[8];
  for (let i = 0; i < n; i++) {
    let p = param[i];
    let g = grad[i];
    if (decoupled)
      p = f(p * decay); // AdamW: param.mul_(1 - lr * weight_decay)
    else if (coupled) g = f(g + wd * p); // add(param, alpha=wd)
    const mi = f(f(m[i] * b1) + oneMinusB1 * g); // mul_(b1).add_(g, alpha=1-b1)
    const vi = f(f(v[i] * b2) + f(oneMinusB2 * g) * g); // mul_(b2).addcmul_(g, g, value=1-b2)
    m[i] = mi;
    v[i] = vi;
    let vv = vi;
    if (vm !== null) {
      const old = vm[i];
      vv = old > vi || vi !== vi ? old : vi; // torch.maximum, NaN aside (fmax: the non-NaN one)
      vm[i] = vv;
    }
    const denom = f(f(f(Math.sqrt(vv)) / bc2Sqrt) + feps);
    param[i] = p + f(f(negStepSize * mi) / denom); // addcdiv_(m, denom, value=-step_size)
  }
}

// Adagrad: g = grad + wd * param; sum += g * g; param -= clr * g / (sqrt(sum) + eps).
function adagradStep(
  param: Float32Array,
  grad: Float32Array,
  sum: Float32Array,
  n: number,
  clr: number,
  eps: number,
  weightDecay: number,
): void {
  const c = coef;
  c[0] = f(weightDecay);
  c[1] = f(-clr);
  c[2] = f(eps);
  adagradLoop(param, grad, sum, n, weightDecay !== 0);
}

function adagradLoop(param: Float32Array, grad: Float32Array, sum: Float32Array, n: number, decay: boolean): void {
  const c = coef;
  const wd = c[0],
    negClr = c[1],
    feps = c[2];
  for (let i = 0; i < n; i++) {
    let g = grad[i];
    if (decay) g = f(g + wd * param[i]); // add(param, alpha=wd)
    const s = f(sum[i] + g * g); // addcmul_(g, g, value=1)
    sum[i] = s;
    const std = f(f(Math.sqrt(s)) + feps);
    param[i] = param[i] + f(f(negClr * g) / std); // addcdiv_(g, std, value=-clr)
  }
}

// RMSprop: see kernels.h rmsprop_step.
// centered is read through gavg: the checker passes null exactly when centered is false.
function rmspropStep(
  param: Float32Array,
  grad: Float32Array,
  sq: Float32Array,
  gavg: Float32Array | null,
  buf: Float32Array | null,
  n: number,
  lr: number,
  alpha: number,
  eps: number,
  weightDecay: number,
  momentum: number,
  _centered: boolean,
): void {
  const c = coef;
  c[0] = f(weightDecay);
  c[1] = f(alpha);
  c[2] = f(1 - alpha);
  c[3] = f(eps);
  c[4] = f(momentum);
  c[5] = f(-lr);
  rmspropLoop(param, grad, sq, gavg, buf, n, weightDecay !== 0);
}

function rmspropLoop(
  param: Float32Array,
  grad: Float32Array,
  sq: Float32Array,
  ga: Float32Array | null,
  b: Float32Array | null,
  n: number,
  decay: boolean,
): void {
  const c = coef;
  const wd = c[0],
    a = c[1],
    oneMinusA = c[2],
    feps = c[3],
    mom = c[4],
    negLr = c[5];
  for (let i = 0; i < n; i++) {
    let g = grad[i];
    if (decay) g = f(g + wd * param[i]); // add(param, alpha=wd)
    const s = f(f(sq[i] * a) + f(oneMinusA * g) * g); // mul_(a).addcmul_(g, g, value=1-a)
    sq[i] = s;
    let avg: number;
    if (ga !== null) {
      const gi = f(f(ga[i] * a) + oneMinusA * g); // mul_(a).add_(g, alpha=1-a)
      ga[i] = gi;
      avg = f(f(Math.sqrt(f(s - gi * gi))) + feps); // addcmul(gavg, gavg, value=-1).sqrt_()
    } else {
      avg = f(f(Math.sqrt(s)) + feps);
    }
    if (b !== null) {
      const bi = f(f(b[i] * mom) + f(g / avg)); // buf.mul_(momentum).addcdiv_(g, avg)
      b[i] = bi;
      param[i] = param[i] + negLr * bi; // add_(buf, alpha=-lr): the store rounds once
    } else {
      param[i] = param[i] + f(f(negLr * g) / avg); // addcdiv_(g, avg, value=-lr)
    }
  }
}

function getNumThreads(): number {
  chk.count('getNumThreads', arguments.length, 0);
  return 1;
}

// Accepts what the addon accepts (an integer from 1 to 256) and ignores it: TS runs on one thread.
function setNumThreads(n: number): void {
  chk.count('setNumThreads', arguments.length, 1);
  chk.integer('setNumThreads', 'threads', n, 1, 256);
}

function simd(): null {
  chk.count('simd', arguments.length, 0);
  return null;
}

// The implementations, each behind the checks its table entry declares (check.ts).
const implementations: KernelFunctions = {
  gemm,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
  biasAdd,
  biasGrad,
  biasRelu,
  biasReluBackward,
  relu,
  reluBackward,
  sgdStep,
  adamStep,
  adagradStep,
  rmspropStep,
  layerNorm,
  layerNormBackward,
  embedding,
  embeddingBackward,
  batchNormTrain,
  batchNormEval,
  batchNormBackward,
  conv2d: conv.conv2d,
  conv2dBackwardInput: conv.conv2dBackwardInput,
  conv2dBackwardParams: conv.conv2dBackwardParams,
  maxPool2d: conv.maxPool2d,
  maxPool2dBackward: conv.maxPool2dBackward,
  avgPool2d: conv.avgPool2d,
  avgPool2dBackward: conv.avgPool2dBackward,
  adaptiveAvgPool2d: conv.adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward: conv.adaptiveAvgPool2dBackward,
};
const checkedKernels = Object.fromEntries(
  KERNEL_NAMES.map((name) => [name, chk.checked(name, implementations[name])]),
) as KernelFunctions;

export const tsKernels: Kernels = {
  name: 'ts',
  ...checkedKernels,
  getNumThreads,
  setNumThreads,
  simd,
};
