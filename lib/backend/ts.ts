// The pure-TypeScript backend: the living specification of every kernel in types.ts, and the
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
// Every kernel checks its arguments first, as the addon does (check.ts): the same errors, and
// nothing is written when a check fails.
import type { Kernels } from './types.js';
import { gemmTs } from './ts-gemm.js';
import * as chk from './check.js';

const f = Math.fround;

// Row scratch for softmax: exp(x - max) in double, so exp runs once per element.
let rowExp = new Float64Array(1024);
// Column sums for biasGrad.
let colSum = new Float64Array(1024);

function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  alpha: number, A: Float32Array, B: Float32Array, beta: number, C: Float32Array,
): void {
  const fn = 'gemm';
  chk.count(fn, arguments.length, 10);
  chk.bool(fn, 'transA', transA);
  chk.bool(fn, 'transB', transB);
  chk.size(fn, 'M', M);
  chk.size(fn, 'N', N);
  chk.size(fn, 'K', K);
  chk.num(fn, 'alpha', alpha);
  chk.f32(fn, 'A', A);
  chk.f32(fn, 'B', B);
  chk.num(fn, 'beta', beta);
  chk.f32(fn, 'C', C);
  chk.need(fn, 'A', A, 'M*K', M * K);
  chk.need(fn, 'B', B, 'K*N', K * N);
  chk.need(fn, 'C', C, 'M*N', M * N);
  chk.disjoint(fn, 'C', C, M * N, 'A', A, M * K);
  chk.disjoint(fn, 'C', C, M * N, 'B', B, K * N);
  gemmTs(transA, transB, M, N, K, alpha, A, B, beta, C);
}

// probs[n, :] = softmax(logits[n, :]); returns mean_n (logsumexp(logits[n]) - logits[n, label]).
function softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, N: number, C: number, probs: Float32Array): number {
  const fn = 'softmaxCrossEntropy';
  chk.count(fn, arguments.length, 5);
  chk.f32(fn, 'logits', logits);
  chk.i32(fn, 'labels', labels);
  chk.size(fn, 'N', N);
  chk.size(fn, 'C', C);
  chk.f32(fn, 'probs', probs);
  chk.need(fn, 'logits', logits, 'N*C', N * C);
  chk.need(fn, 'labels', labels, 'N', N);
  chk.need(fn, 'probs', probs, 'N*C', N * C);
  chk.disjoint(fn, 'probs', probs, N * C, 'logits', logits, N * C);
  chk.disjoint(fn, 'probs', probs, N * C, 'labels', labels, N);
  chk.labelsInRange(fn, labels, N, C);
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
function softmaxCrossEntropyBackward(probs: Float32Array, labels: Int32Array, N: number, C: number, dlogits: Float32Array): void {
  const fn = 'softmaxCrossEntropyBackward';
  chk.count(fn, arguments.length, 5);
  chk.f32(fn, 'probs', probs);
  chk.i32(fn, 'labels', labels);
  chk.size(fn, 'N', N);
  chk.size(fn, 'C', C);
  chk.f32(fn, 'dlogits', dlogits);
  chk.need(fn, 'probs', probs, 'N*C', N * C);
  chk.need(fn, 'labels', labels, 'N', N);
  chk.need(fn, 'dlogits', dlogits, 'N*C', N * C);
  chk.sameOrDisjoint(fn, 'dlogits', dlogits, 'probs', probs, N * C);
  chk.disjoint(fn, 'dlogits', dlogits, N * C, 'labels', labels, N);
  chk.labelsInRange(fn, labels, N, C);
  const scale = 1 / N;
  for (let n = 0, o = 0; n < N; n++, o += C) {
    const label = o + labels[n];
    for (let i = o; i < o + C; i++) dlogits[i] = (probs[i] - (i === label ? 1 : 0)) * scale;
  }
}

// The checks of biasAdd and biasRelu: (x, bias, N, C, y), y may be x.
function checkBiasForward(fn: string, argc: number, x: Float32Array, bias: Float32Array, N: number, C: number, y: Float32Array): void {
  chk.count(fn, argc, 5);
  chk.f32(fn, 'x', x);
  chk.f32(fn, 'bias', bias);
  chk.size(fn, 'N', N);
  chk.size(fn, 'C', C);
  chk.f32(fn, 'y', y);
  chk.need(fn, 'x', x, 'N*C', N * C);
  chk.need(fn, 'bias', bias, 'C', C);
  chk.need(fn, 'y', y, 'N*C', N * C);
  chk.sameOrDisjoint(fn, 'y', y, 'x', x, N * C);
  chk.disjoint(fn, 'y', y, N * C, 'bias', bias, C);
}

// y[n, c] = x[n, c] + bias[c]; y may be x.
function biasAdd(x: Float32Array, bias: Float32Array, N: number, C: number, y: Float32Array): void {
  checkBiasForward('biasAdd', arguments.length, x, bias, N, C, y);
  for (let n = 0, o = 0; n < N; n++, o += C) {
    for (let c = 0; c < C; c++) y[o + c] = x[o + c] + bias[c];
  }
}

// dbias[c] (+)= sum_n dy[n, c]: sums in double, n ascending, rounded to float once.
function biasGrad(dy: Float32Array, N: number, C: number, dbias: Float32Array, accumulate: boolean): void {
  const fn = 'biasGrad';
  chk.count(fn, arguments.length, 5);
  chk.f32(fn, 'dy', dy);
  chk.size(fn, 'N', N);
  chk.size(fn, 'C', C);
  chk.f32(fn, 'dbias', dbias);
  chk.bool(fn, 'accumulate', accumulate);
  chk.need(fn, 'dy', dy, 'N*C', N * C);
  chk.need(fn, 'dbias', dbias, 'C', C);
  chk.disjoint(fn, 'dbias', dbias, C, 'dy', dy, N * C);
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
  checkBiasForward('biasRelu', arguments.length, x, bias, N, C, y);
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
  dy: Float32Array, y: Float32Array, N: number, C: number, dx: Float32Array, dbias: Float32Array, accumulate: boolean,
): void {
  const fn = 'biasReluBackward';
  chk.count(fn, arguments.length, 7);
  chk.f32(fn, 'dy', dy);
  chk.f32(fn, 'y', y);
  chk.size(fn, 'N', N);
  chk.size(fn, 'C', C);
  chk.f32(fn, 'dx', dx);
  chk.f32(fn, 'dbias', dbias);
  chk.bool(fn, 'accumulate', accumulate);
  chk.need(fn, 'dy', dy, 'N*C', N * C);
  chk.need(fn, 'y', y, 'N*C', N * C);
  chk.need(fn, 'dx', dx, 'N*C', N * C);
  chk.need(fn, 'dbias', dbias, 'C', C);
  chk.sameOrDisjoint(fn, 'dx', dx, 'dy', dy, N * C);
  chk.disjoint(fn, 'dx', dx, N * C, 'y', y, N * C);
  chk.disjoint(fn, 'dbias', dbias, C, 'dy', dy, N * C);
  chk.disjoint(fn, 'dbias', dbias, C, 'y', y, N * C);
  chk.disjoint(fn, 'dbias', dbias, C, 'dx', dx, N * C);
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
  const fn = 'relu';
  chk.count(fn, arguments.length, 3);
  chk.f32(fn, 'x', x);
  chk.size(fn, 'n', n);
  chk.f32(fn, 'y', y);
  chk.need(fn, 'x', x, 'n', n);
  chk.need(fn, 'y', y, 'n', n);
  chk.sameOrDisjoint(fn, 'y', y, 'x', x, n);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = v <= 0 ? 0 : v;
  }
}

// dx = dy where y > 0, else 0; dx may be dy.
function reluBackward(dy: Float32Array, y: Float32Array, n: number, dx: Float32Array): void {
  const fn = 'reluBackward';
  chk.count(fn, arguments.length, 4);
  chk.f32(fn, 'dy', dy);
  chk.f32(fn, 'y', y);
  chk.size(fn, 'n', n);
  chk.f32(fn, 'dx', dx);
  chk.need(fn, 'dy', dy, 'n', n);
  chk.need(fn, 'y', y, 'n', n);
  chk.need(fn, 'dx', dx, 'n', n);
  chk.sameOrDisjoint(fn, 'dx', dx, 'dy', dy, n);
  chk.disjoint(fn, 'dx', dx, n, 'y', y, n);
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
  param: Float32Array, grad: Float32Array, buf: Float32Array | null, n: number,
  lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, first: boolean,
): void {
  const fn = 'sgdStep';
  chk.count(fn, arguments.length, 10);
  chk.f32(fn, 'param', param);
  chk.f32(fn, 'grad', grad);
  chk.size(fn, 'n', n);
  chk.num(fn, 'lr', lr);
  chk.num(fn, 'momentum', momentum);
  chk.num(fn, 'dampening', dampening);
  chk.num(fn, 'weightDecay', weightDecay);
  chk.bool(fn, 'nesterov', nesterov);
  chk.bool(fn, 'first', first);
  const useBuf = momentum !== 0;
  const b = chk.optF32(fn, 'buf', buf, useBuf, 'momentum != 0');
  chk.need(fn, 'param', param, 'n', n);
  chk.need(fn, 'grad', grad, 'n', n);
  if (b !== null) chk.need(fn, 'buf', b, 'n', n);
  chk.disjoint(fn, 'param', param, n, 'grad', grad, n);
  chk.disjoint(fn, 'buf', b, n, 'param', param, n);
  chk.disjoint(fn, 'buf', b, n, 'grad', grad, n);

  const c = coef;
  c[0] = f(weightDecay);
  c[1] = f(momentum);
  c[2] = f(1 - dampening);
  c[3] = f(-lr);
  sgdLoop(param, grad, b, n, weightDecay !== 0, nesterov, first);
}

function sgdLoop(
  param: Float32Array, grad: Float32Array, b: Float32Array | null, n: number,
  decay: boolean, nesterov: boolean, first: boolean,
): void {
  const c = coef;
  const wd = c[0], mom = c[1], oneMinusDamp = c[2], negLr = c[3];
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
function adamStep(
  param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, n: number,
  step: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
  decoupled: boolean, amsgrad: boolean,
): void {
  const fn = 'adamStep';
  chk.count(fn, arguments.length, 14);
  chk.f32(fn, 'param', param);
  chk.f32(fn, 'grad', grad);
  chk.f32(fn, 'm', m);
  chk.f32(fn, 'v', v);
  chk.size(fn, 'n', n);
  chk.integer(fn, 'step', step, 1, Number.MAX_SAFE_INTEGER);
  chk.num(fn, 'lr', lr);
  chk.num(fn, 'beta1', beta1);
  chk.num(fn, 'beta2', beta2);
  chk.num(fn, 'eps', eps);
  chk.num(fn, 'weightDecay', weightDecay);
  chk.bool(fn, 'decoupled', decoupled);
  chk.bool(fn, 'amsgrad', amsgrad);
  const vm = chk.optF32(fn, 'vmax', vmax, amsgrad, 'amsgrad is true');
  chk.need(fn, 'param', param, 'n', n);
  chk.need(fn, 'grad', grad, 'n', n);
  chk.need(fn, 'm', m, 'n', n);
  chk.need(fn, 'v', v, 'n', n);
  if (vm !== null) chk.need(fn, 'vmax', vm, 'n', n);
  chk.disjoint(fn, 'param', param, n, 'grad', grad, n);
  chk.disjoint(fn, 'm', m, n, 'param', param, n);
  chk.disjoint(fn, 'm', m, n, 'grad', grad, n);
  chk.disjoint(fn, 'v', v, n, 'param', param, n);
  chk.disjoint(fn, 'v', v, n, 'grad', grad, n);
  chk.disjoint(fn, 'v', v, n, 'm', m, n);
  chk.disjoint(fn, 'vmax', vm, n, 'param', param, n);
  chk.disjoint(fn, 'vmax', vm, n, 'grad', grad, n);
  chk.disjoint(fn, 'vmax', vm, n, 'm', m, n);
  chk.disjoint(fn, 'vmax', vm, n, 'v', v, n);

  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
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
  adamLoop(param, grad, m, v, vm, n, decoupled, !decoupled && weightDecay !== 0);
}

function adamLoop(
  param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, vm: Float32Array | null, n: number,
  decoupled: boolean, coupled: boolean,
): void {
  const c = coef;
  const negStepSize = c[0], bc2Sqrt = c[1], b1 = c[2], b2 = c[3], oneMinusB1 = c[4], oneMinusB2 = c[5];
  const wd = c[6], decay = c[7], feps = c[8];
  for (let i = 0; i < n; i++) {
    let p = param[i];
    let g = grad[i];
    if (decoupled) p = f(p * decay); // AdamW: param.mul_(1 - lr * weight_decay)
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
  param: Float32Array, grad: Float32Array, sum: Float32Array, n: number,
  clr: number, eps: number, weightDecay: number,
): void {
  const fn = 'adagradStep';
  chk.count(fn, arguments.length, 7);
  chk.f32(fn, 'param', param);
  chk.f32(fn, 'grad', grad);
  chk.f32(fn, 'sum', sum);
  chk.size(fn, 'n', n);
  chk.num(fn, 'clr', clr);
  chk.num(fn, 'eps', eps);
  chk.num(fn, 'weightDecay', weightDecay);
  chk.need(fn, 'param', param, 'n', n);
  chk.need(fn, 'grad', grad, 'n', n);
  chk.need(fn, 'sum', sum, 'n', n);
  chk.disjoint(fn, 'param', param, n, 'grad', grad, n);
  chk.disjoint(fn, 'sum', sum, n, 'param', param, n);
  chk.disjoint(fn, 'sum', sum, n, 'grad', grad, n);

  const c = coef;
  c[0] = f(weightDecay);
  c[1] = f(-clr);
  c[2] = f(eps);
  adagradLoop(param, grad, sum, n, weightDecay !== 0);
}

function adagradLoop(param: Float32Array, grad: Float32Array, sum: Float32Array, n: number, decay: boolean): void {
  const c = coef;
  const wd = c[0], negClr = c[1], feps = c[2];
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
function rmspropStep(
  param: Float32Array, grad: Float32Array, sq: Float32Array, gavg: Float32Array | null, buf: Float32Array | null,
  n: number, lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean,
): void {
  const fn = 'rmspropStep';
  chk.count(fn, arguments.length, 12);
  chk.f32(fn, 'param', param);
  chk.f32(fn, 'grad', grad);
  chk.f32(fn, 'sq', sq);
  chk.size(fn, 'n', n);
  chk.num(fn, 'lr', lr);
  chk.num(fn, 'alpha', alpha);
  chk.num(fn, 'eps', eps);
  chk.num(fn, 'weightDecay', weightDecay);
  chk.num(fn, 'momentum', momentum);
  chk.bool(fn, 'centered', centered);
  const ga = chk.optF32(fn, 'gavg', gavg, centered, 'centered is true');
  const useBuf = momentum > 0;
  const b = chk.optF32(fn, 'buf', buf, useBuf, 'momentum > 0');
  chk.need(fn, 'param', param, 'n', n);
  chk.need(fn, 'grad', grad, 'n', n);
  chk.need(fn, 'sq', sq, 'n', n);
  if (ga !== null) chk.need(fn, 'gavg', ga, 'n', n);
  if (b !== null) chk.need(fn, 'buf', b, 'n', n);
  chk.disjoint(fn, 'param', param, n, 'grad', grad, n);
  chk.disjoint(fn, 'sq', sq, n, 'param', param, n);
  chk.disjoint(fn, 'sq', sq, n, 'grad', grad, n);
  chk.disjoint(fn, 'gavg', ga, n, 'param', param, n);
  chk.disjoint(fn, 'gavg', ga, n, 'grad', grad, n);
  chk.disjoint(fn, 'gavg', ga, n, 'sq', sq, n);
  chk.disjoint(fn, 'buf', b, n, 'param', param, n);
  chk.disjoint(fn, 'buf', b, n, 'grad', grad, n);
  chk.disjoint(fn, 'buf', b, n, 'sq', sq, n);
  chk.disjoint(fn, 'buf', b, n, 'gavg', ga, n);

  const c = coef;
  c[0] = f(weightDecay);
  c[1] = f(alpha);
  c[2] = f(1 - alpha);
  c[3] = f(eps);
  c[4] = f(momentum);
  c[5] = f(-lr);
  rmspropLoop(param, grad, sq, ga, b, n, weightDecay !== 0);
}

function rmspropLoop(
  param: Float32Array, grad: Float32Array, sq: Float32Array, ga: Float32Array | null, b: Float32Array | null,
  n: number, decay: boolean,
): void {
  const c = coef;
  const wd = c[0], a = c[1], oneMinusA = c[2], feps = c[3], mom = c[4], negLr = c[5];
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

export const tsKernels: Kernels = {
  name: 'ts',
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
  getNumThreads,
  setNumThreads,
  simd,
};
