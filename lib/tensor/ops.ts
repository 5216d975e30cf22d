/**
 * Differentiable ops. Each op checks shapes before any kernel runs, computes its output and,
 * right beside it, the closure applying the chain rule.
 *
 * Gradient closures follow one contract (see grad-buffers.ts): `g` is the output's gradient and
 * belongs to the closure, which may overwrite it and hand it once to `accumulateGrad(p, g,
 * true)`; any other buffer handed over as owned must be freshly allocated.
 *
 * matmul, linear and relu run on the active backend's kernels (native or TS); the other
 * elementwise ops have no kernel in the interface and run as plain typed-array loops here.
 */
import { kernels } from '../backend/index.js';
import { accumulateGrad, gradOut, gradTarget, uninitialized } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { fmtShape, stridedOffsets } from './shape.js';
import { checkTensor, Tensor } from './tensor.js';
import {
  addRow,
  binaryBroadcast,
  broadcastShapes,
  divRow,
  maxRow,
  maxShareRow,
  minRow,
  minShareRow,
  mulRow,
  negDivSqRow,
  type RowFn,
  subRow,
  sumToShapeInto,
} from './broadcast.js';

function asTensor(x: Tensor | number, op: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') return new Tensor(new Float32Array([x]), []);
  throw new TypeError(`${op}: operands must be Tensors or numbers, got ${x === null ? 'null' : typeof x}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Hands a gradient of outShape to t, summing over the dims t was broadcast along. */
function giveBroadcastGrad(t: Tensor, full: Float32Array, outShape: readonly number[], owned: boolean): void {
  if (t.data.length === full.length) {
    accumulateGrad(t, full, owned);
  } else {
    sumToShapeInto(full, outShape, t.shape, gradTarget(t).buf);
  }
}

function binary(
  op: string,
  a: Tensor | number,
  b: Tensor | number,
  row: RowFn,
): { A: Tensor; B: Tensor; y: Float32Array; shape: number[] } {
  const A = asTensor(a, op);
  const B = asTensor(b, op);
  const shape = sameShape(A.shape, B.shape) ? A.shape.slice() : broadcastShapes(A.shape, B.shape, op);
  const y = binaryBroadcast(A.data, A.shape, B.data, B.shape, shape, row);
  return { A, B, y, shape };
}

// ---- broadcasting binary ops -------------------------------------------------------------------

/** a + b with broadcasting; either may be a number. */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  const { A, B, y, shape } = binary('add', a, b, addRow);
  return makeResult(y, shape, 'add', [A, B], (g) => {
    if (B.requiresGrad) giveBroadcastGrad(B, g, shape, false);
    if (A.requiresGrad) giveBroadcastGrad(A, g, shape, true);
  });
}

/** a - b with broadcasting; either may be a number. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  const { A, B, y, shape } = binary('sub', a, b, subRow);
  return makeResult(y, shape, 'sub', [A, B], (g) => {
    if (A.requiresGrad) giveBroadcastGrad(A, g, shape, false);
    if (B.requiresGrad) {
      for (let i = 0; i < g.length; i++) g[i] = -g[i];
      giveBroadcastGrad(B, g, shape, true);
    }
  });
}

/** a * b with broadcasting; either may be a number. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  const { A, B, y, shape } = binary('mul', a, b, mulRow);
  return makeResult(
    y,
    shape,
    'mul',
    [A, B],
    (g) => {
      // dB = g * a first (it reads the original g), then dA = g * b in place
      if (B.requiresGrad) giveBroadcastGrad(B, binaryBroadcast(g, shape, A.data, A.shape, shape, mulRow), shape, true);
      if (A.requiresGrad)
        giveBroadcastGrad(A, binaryBroadcast(g, shape, B.data, B.shape, shape, mulRow, g), shape, true);
    },
    [A.data, B.data],
  );
}

/** a / b with broadcasting; either may be a number. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  const { A, B, y, shape } = binary('div', a, b, divRow);
  return makeResult(
    y,
    shape,
    'div',
    [A, B],
    (g) => {
      if (B.requiresGrad) {
        // dB = -g * a / b^2 (PyTorch's formula)
        const ga = binaryBroadcast(g, shape, A.data, A.shape, shape, mulRow);
        giveBroadcastGrad(B, binaryBroadcast(ga, shape, B.data, B.shape, shape, negDivSqRow, ga), shape, true);
      }
      if (A.requiresGrad)
        giveBroadcastGrad(A, binaryBroadcast(g, shape, B.data, B.shape, shape, divRow, g), shape, true);
    },
    [A.data, B.data],
  );
}

function extremum(op: string, a: Tensor | number, b: Tensor | number, row: RowFn, share: RowFn): Tensor {
  const { A, B, y, shape } = binary(op, a, b, row);
  return makeResult(
    y,
    shape,
    op,
    [A, B],
    (g) => {
      // a's share of the gradient is 1, 1/2 (ties) or 0; b gets the rest
      const wa = binaryBroadcast(A.data, A.shape, B.data, B.shape, shape, share);
      if (B.requiresGrad) {
        const gb = new Float32Array(g.length);
        for (let i = 0; i < g.length; i++) gb[i] = g[i] * (1 - wa[i]);
        giveBroadcastGrad(B, gb, shape, true);
      }
      if (A.requiresGrad) {
        for (let i = 0; i < g.length; i++) g[i] *= wa[i];
        giveBroadcastGrad(A, g, shape, true);
      }
    },
    [A.data, B.data],
  );
}

/** Elementwise max with broadcasting; on ties each side gets half the gradient (PyTorch). */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  return extremum('maximum', a, b, maxRow, maxShareRow);
}

/** Elementwise min with broadcasting; on ties each side gets half the gradient (PyTorch). */
export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  return extremum('minimum', a, b, minRow, minShareRow);
}

// ---- unary ops ---------------------------------------------------------------------------------

/** -x element-wise (torch.neg). */
export function neg(x: Tensor): Tensor {
  checkTensor(x, 'neg');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = -a[i];
  return makeResult(y, x.shape, 'neg', [x], (g) => {
    for (let i = 0; i < n; i++) g[i] = -g[i];
    accumulateGrad(x, g, true);
  });
}

/** e to the power of each element (torch.exp). */
export function exp(x: Tensor): Tensor {
  checkTensor(x, 'exp');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.exp(a[i]);
  return makeResult(y, x.shape, 'exp', [x], (g) => {
    for (let i = 0; i < n; i++) g[i] *= y[i];
    accumulateGrad(x, g, true);
  });
}

/** Natural log. */
export function log(x: Tensor): Tensor {
  checkTensor(x, 'log');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.log(a[i]);
  return makeResult(
    y,
    x.shape,
    'log',
    [x],
    (g) => {
      for (let i = 0; i < n; i++) g[i] /= a[i];
      accumulateGrad(x, g, true);
    },
    [a],
  );
}

/** Square root of each element (torch.sqrt); the gradient at 0 is infinite, as in torch. */
export function sqrt(x: Tensor): Tensor {
  checkTensor(x, 'sqrt');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sqrt(a[i]);
  return makeResult(y, x.shape, 'sqrt', [x], (g) => {
    for (let i = 0; i < n; i++) g[i] /= 2 * y[i];
    accumulateGrad(x, g, true);
  });
}

/** x ** exponent, exponent a number. */
export function pow(x: Tensor, exponent: number): Tensor {
  checkTensor(x, 'pow');
  if (typeof exponent !== 'number') throw new TypeError(`pow: exponent must be a number, got ${typeof exponent}`);
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  const p = exponent;
  if (p === 2) for (let i = 0; i < n; i++) y[i] = a[i] * a[i];
  else for (let i = 0; i < n; i++) y[i] = a[i] ** p;
  return makeResult(
    y,
    x.shape,
    'pow',
    [x],
    (g) => {
      // d/dx x^p = p x^(p-1); exactly 0 for p = 0 (x^-1 would make 0 * inf at x = 0)
      if (p === 0) g.fill(0);
      else if (p === 2) for (let i = 0; i < n; i++) g[i] *= 2 * a[i];
      else if (p === 1) {
        /* identity */
      } else for (let i = 0; i < n; i++) g[i] *= p * a[i] ** (p - 1);
      accumulateGrad(x, g, true);
    },
    [a],
  );
}

/** max(x, 0), on the backend's relu kernels; the gradient at 0 is 0 (as PyTorch). */
export function relu(x: Tensor): Tensor {
  checkTensor(x, 'relu');
  const n = x.data.length,
    y = new Float32Array(n);
  const k = kernels();
  k.relu(x.data, n, y);
  return makeResult(y, x.shape, 'relu', [x], (g) => {
    kernels().reluBackward(g, y, n, g);
    accumulateGrad(x, g, true);
  });
}

/** 1 / (1 + exp(-x)), computed without overflow for any x. */
export function sigmoid(x: Tensor): Tensor {
  checkTensor(x, 'sigmoid');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      y[i] = e / (1 + e);
    }
  }
  return makeResult(y, x.shape, 'sigmoid', [x], (g) => {
    for (let i = 0; i < n; i++) g[i] *= y[i] * (1 - y[i]);
    accumulateGrad(x, g, true);
  });
}

/** Hyperbolic tangent element-wise (torch.tanh). */
export function tanh(x: Tensor): Tensor {
  checkTensor(x, 'tanh');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.tanh(a[i]);
  return makeResult(y, x.shape, 'tanh', [x], (g) => {
    for (let i = 0; i < n; i++) g[i] *= 1 - y[i] * y[i];
    accumulateGrad(x, g, true);
  });
}

// ---- matrix ops ----------------------------------------------------------------------------------

/**
 * Matrix product with torch.matmul's rules: 1-D x 1-D is a dot product (a scalar); a 1-D left
 * operand is a row vector and a 1-D right operand a column vector, the added dim removed from
 * the result; otherwise [..., M, K] x [..., K, N] -> [..., M, N] with the batch dims (all but
 * the last two) broadcast. Everything runs on the backend's gemm; the 1-D and folded cases are
 * reshapes around it, so their gradients come through reshape's backward.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, 'matmul', 'a');
  checkTensor(b, 'matmul', 'b');
  const ra = a.shape.length,
    rb = b.shape.length;
  if (ra === 0 || rb === 0) {
    throw new RangeError(
      `matmul: both arguments need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  if (ra === 2 && rb === 2) return matmul2d(a, b);
  if (ra === 1) {
    const y = matmul(reshape(a, [1, a.shape[0]]), b);
    const s = y.shape.slice();
    s.splice(s.length - 2, 1);
    return reshape(y, s);
  }
  if (rb === 1) {
    const y = matmul(a, reshape(b, [b.shape[0], 1]));
    return reshape(y, y.shape.slice(0, -1));
  }
  if (rb === 2) {
    // [..., M, K] x [K, N]: one gemm over all the rows, as torch folds it
    const K = a.shape[ra - 1];
    const y = matmul2d(reshape(a, [-1, K]), b, a.shape);
    return reshape(y, [...a.shape.slice(0, -1), b.shape[1]]);
  }
  return batchedMatmul(a, b);
}

function notLinedUp(a: readonly number[], b: readonly number[], K: number, K2: number): RangeError {
  return new RangeError(`matmul: shapes ${fmtShape(a)} and ${fmtShape(b)} do not line up (${K} != ${K2})`);
}

/** Offset of each batch matrix of an operand inside the broadcast batch (0 strides where it is broadcast). */
function batchOffsets(batch: readonly number[], own: readonly number[], matSize: number): Int32Array {
  const lead = batch.length - own.length;
  const stride = new Array<number>(batch.length).fill(0);
  let acc = matSize;
  for (let d = batch.length - 1; d >= lead; d--) {
    const size = own[d - lead];
    stride[d] = size === 1 ? 0 : acc;
    acc *= size;
  }
  return stridedOffsets(batch, stride);
}

/**
 * [...batchA, M, K] x [...batchB, K, N] with broadcast batch dims: one gemm per output matrix
 * on subarray views. Backward accumulates (beta = 1) into zeroed gradient buffers, so an operand
 * broadcast along a batch dim gets the sum of the gradients of every matrix it took part in.
 */
function batchedMatmul(a: Tensor, b: Tensor): Tensor {
  const ra = a.shape.length,
    rb = b.shape.length;
  const [M, K] = a.shape.slice(ra - 2);
  const [K2, N] = b.shape.slice(rb - 2);
  if (K !== K2) throw notLinedUp(a.shape, b.shape, K, K2);
  const batch = broadcastShapes(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
    `matmul: batch dims of ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
  );
  const offA = batchOffsets(batch, a.shape.slice(0, -2), M * K);
  const offB = batchOffsets(batch, b.shape.slice(0, -2), K * N);
  const count = offA.length;
  const y = uninitialized(count * M * N); // each block written by a gemm with beta 0
  const k = kernels();
  for (let r = 0; r < count; r++) {
    const A = a.data.subarray(offA[r], offA[r] + M * K);
    const B = b.data.subarray(offB[r], offB[r] + K * N);
    k.gemm(false, false, M, N, K, 1, A, B, 0, y.subarray(r * M * N, (r + 1) * M * N));
  }
  return makeResult(
    y,
    [...batch, M, N],
    'matmul',
    [a, b],
    (g) => {
      const kk = kernels();
      const dA = a.requiresGrad ? gradTarget(a).buf : null;
      const dB = b.requiresGrad ? gradTarget(b).buf : null;
      for (let r = 0; r < count; r++) {
        const G = g.subarray(r * M * N, (r + 1) * M * N);
        if (dA !== null) {
          const B = b.data.subarray(offB[r], offB[r] + K * N);
          kk.gemm(false, true, M, K, N, 1, G, B, 1, dA.subarray(offA[r], offA[r] + M * K));
        }
        if (dB !== null) {
          const A = a.data.subarray(offA[r], offA[r] + M * K);
          kk.gemm(true, false, K, N, M, 1, A, G, 1, dB.subarray(offB[r], offB[r] + K * N));
        }
      }
    },
    [a.data, b.data],
  );
}

/**
 * [M, K] x [K, N] -> [M, N] on the backend's gemm. Backward never materialises a transpose:
 * dA = dC B^T is gemm(false, true), dB = A^T dC is gemm(true, false), each accumulating
 * (beta = 1) into a gradient buffer that already exists. `shownA` is the shape the user passed
 * (for the error message of a folded N-D operand).
 */
function matmul2d(a: Tensor, b: Tensor, shownA?: readonly number[]): Tensor {
  const [M, K] = a.shape;
  const [K2, N] = b.shape;
  if (K !== K2) throw notLinedUp(shownA ?? a.shape, b.shape, K, K2);
  const y = uninitialized(M * N); // gemm with beta 0 writes every element
  kernels().gemm(false, false, M, N, K, 1, a.data, b.data, 0, y);
  return makeResult(
    y,
    [M, N],
    'matmul',
    [a, b],
    (g) => {
      const k = kernels();
      if (a.requiresGrad) {
        const t = gradOut(a);
        k.gemm(false, true, M, K, N, 1, g, b.data, t.beta, t.buf);
      }
      if (b.requiresGrad) {
        const t = gradOut(b);
        k.gemm(true, false, K, N, M, 1, a.data, g, t.beta, t.buf);
      }
    },
    b.requiresGrad ? (a.requiresGrad ? [a.data, b.data] : [a.data]) : [b.data],
  );
}
/**
 * y = x W^T + b with x [N, in], W [out, in], b [out] (optional): one gemm(false, true) and a
 * biasAdd. Backward: dX = dY W (gemm), dW = dY^T X (gemm(true, false)), db = biasGrad(dY).
 */
export function linear(x: Tensor, W: Tensor, b?: Tensor | null): Tensor {
  return linearOp('linear', x, W, b ?? null, false);
}

/**
 * relu(x W^T + b), fused: the same values and gradients as `relu(linear(x, W, b))` with one
 * output buffer and one pass for bias + ReLU (biasRelu) and for their backward
 * (biasReluBackward: the ReLU mask and db together). nn.Sequential runs a Linear followed by a
 * ReLU this way.
 */
export function linearRelu(x: Tensor, W: Tensor, b?: Tensor | null): Tensor {
  return linearOp('linearRelu', x, W, b ?? null, true);
}

function linearOp(op: string, x: Tensor, W: Tensor, bias: Tensor | null, relu: boolean): Tensor {
  checkTensor(x, op);
  checkTensor(W, op);
  if (x.shape.length !== 2) throw new RangeError(`${op}: x must be 2-D [N, in], got ${fmtShape(x.shape)}`);
  const [N, IN] = x.shape;
  if (W.shape.length !== 2 || W.shape[1] !== IN) {
    throw new RangeError(`${op}: W must be [out, in] with in = ${IN}, got ${fmtShape(W.shape)}`);
  }
  const OUT = W.shape[0];
  if (bias !== null) {
    checkTensor(bias, op);
    if (bias.shape.length !== 1 || bias.shape[0] !== OUT) {
      throw new RangeError(`${op}: b must be [out] with out = ${OUT}, got ${fmtShape(bias.shape)}`);
    }
  }
  const k = kernels();
  const y = uninitialized(N * OUT); // gemm with beta 0 writes every element
  k.gemm(false, true, N, OUT, IN, 1, x.data, W.data, 0, y);
  if (relu) {
    if (bias !== null) k.biasRelu(y, bias.data, N, OUT, y);
    else k.relu(y, N * OUT, y);
  } else if (bias !== null) {
    k.biasAdd(y, bias.data, N, OUT, y);
  }
  const parents = bias !== null ? [x, W, bias] : [x, W];
  return makeResult(
    y,
    [N, OUT],
    op,
    parents,
    (g) => {
      const kk = kernels();
      const db = bias?.requiresGrad;
      if (relu) {
        // g becomes dZ (the gradient before the ReLU), with db from the same pass
        if (db) {
          const t = gradOut(bias);
          kk.biasReluBackward(g, y, N, OUT, g, t.buf, t.beta === 1);
        } else {
          kk.reluBackward(g, y, N * OUT, g);
        }
      } else if (db) {
        const t = gradOut(bias);
        kk.biasGrad(g, N, OUT, t.buf, t.beta === 1);
      }
      // the first layer's input needs no gradient: dX is skipped then
      if (x.requiresGrad) {
        const t = gradOut(x);
        kk.gemm(false, false, N, IN, OUT, 1, g, W.data, t.beta, t.buf);
      }
      if (W.requiresGrad) {
        const t = gradOut(W);
        kk.gemm(true, false, OUT, IN, N, 1, g, x.data, t.beta, t.buf);
      }
    },
    W.requiresGrad ? (x.requiresGrad ? [x.data, W.data] : [x.data]) : [W.data],
  );
}

// ---- shape ops -----------------------------------------------------------------------------------

/** Same data (shared, not copied) under a new shape; one dim may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'reshape');
  if (!Array.isArray(shape)) throw new TypeError('reshape: shape must be an array of integers');
  const n = x.data.length;
  const out = shape.slice();
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i];
    if (d === -1) {
      if (infer !== -1) throw new RangeError(`reshape: only one dim can be -1, got ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`reshape: invalid size ${d} in ${fmtShape(shape)}`);
    } else {
      known *= d;
    }
  }
  if (infer !== -1) {
    if (known === 0 || n % known !== 0) {
      throw new RangeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${n} elements) into ${fmtShape(shape)}`);
    }
    out[infer] = n / known;
  } else if (known !== n) {
    throw new RangeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${n} elements) into ${fmtShape(shape)}`);
  }
  return makeResult(x.data, out, 'reshape', [x], (g) => accumulateGrad(x, g, true));
}

/** Flattens to [N, rest] keeping the first dim (a common reshape before a linear layer). */
export function flatten(x: Tensor): Tensor {
  checkTensor(x, 'flatten');
  return reshape(x, x.shape.length === 0 ? [1, 1] : [x.shape[0], -1]);
}

const TILE = 32;

/** dst (cols x rows) = src (rows x cols) transposed, in cache-sized tiles. */
function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array, accumulate: boolean): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const r = i * cols;
        if (accumulate) for (let j = j0; j < j1; j++) dst[j * rows + i] += src[r + j];
        else for (let j = j0; j < j1; j++) dst[j * rows + i] = src[r + j];
      }
    }
  }
}

/** The transpose of a 2-D tensor (a copy). */
export function transpose(x: Tensor): Tensor {
  checkTensor(x, 'transpose');
  if (x.shape.length !== 2) throw new RangeError(`transpose: expected a 2-D tensor, got ${fmtShape(x.shape)}`);
  const [R, C] = x.shape;
  const y = new Float32Array(R * C);
  transposeInto(x.data, R, C, y, false);
  return makeResult(y, [C, R], 'transpose', [x], (g) => {
    const t = gradTarget(x);
    transposeInto(g, C, R, t.buf, true);
  });
}
