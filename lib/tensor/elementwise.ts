/**
 * Elementwise ops beyond the arithmetic of ops.ts, with torch's semantics: pow with a tensor
 * exponent or a number base, abs, clamp, rsqrt, square, sign, floor/ceil/round, where, and the
 * comparisons.
 *
 * Comparisons (eq, ne, lt, le, gt, ge) return masks: float32 tensors of 0 and 1 that never
 * require grad (torch returns bool tensors; nodegrad has only float32, and a mask multiplies
 * straight into other tensors). sign, floor, ceil and round have a zero gradient, as in torch.
 * These ops run no backend kernel: they are typed-array loops, the same on every backend.
 */
import { binaryBroadcast, broadcastShapes, broadcastTo, type RowFn, sumToShapeInto } from './broadcast.js';
import { accumulateGrad, gradTarget } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { pow as powScalar } from './ops.js';
import { checkTensor, Tensor } from './tensor.js';

function operand(x: unknown, op: string, name: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') return new Tensor(new Float32Array([x]), []);
  throw new TypeError(`${op}: ${name} must be a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
}

/** Adds a gradient of outShape into t's, summing over the dims t was broadcast along. */
function giveGrad(t: Tensor, g: Float32Array, outShape: readonly number[]): void {
  if (!t.requiresGrad) return;
  if (t.data.length === g.length) accumulateGrad(t, g, true);
  else sumToShapeInto(g, outShape, t.shape, gradTarget(t).buf);
}

/**
 * A unary op y = f(x) whose local derivative is df(x, y); df null means a zero gradient (the
 * output still requires grad when x does, as in torch).
 */
function unary(op: string, x: Tensor, f: (v: number) => number, df: ((v: number, y: number) => number) | null): Tensor {
  checkTensor(x, op, 'x');
  const a = x.data,
    n = a.length,
    y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = f(a[i]);
  return makeResult(
    y,
    x.shape,
    op,
    [x],
    (g) => {
      if (df === null) g.fill(0);
      else for (let i = 0; i < n; i++) g[i] *= df(a[i], y[i]);
      accumulateGrad(x, g, true);
    },
    df === null ? [] : [a],
  );
}

/**
 * base ** exponent elementwise with broadcasting (torch.pow): either may be a number, so
 * `pow(2, x)` is 2 ** x. A tensor to a number power keeps the scalar path of ops.ts. The
 * exponent's gradient is y log(base), taken as 0 where base is 0 and exponent >= 0 (torch's
 * rule, so 0 ** x does not give NaN gradients).
 */
export function pow(base: Tensor | number, exponent: Tensor | number): Tensor {
  if (base instanceof Tensor && typeof exponent === 'number') return powScalar(base, exponent);
  const A = operand(base, 'pow', 'base');
  const B = operand(exponent, 'pow', 'exponent');
  const shape = broadcastShapes(A.shape, B.shape, 'pow');
  const a = broadcastTo(A.data, A.shape, shape);
  const b = broadcastTo(B.data, B.shape, shape);
  const n = a.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = a[i] ** b[i];
  return makeResult(
    y,
    shape,
    'pow',
    [A, B],
    (g) => {
      if (B.requiresGrad) {
        const gb = new Float32Array(n);
        for (let i = 0; i < n; i++) gb[i] = a[i] === 0 && b[i] >= 0 ? 0 : g[i] * y[i] * Math.log(a[i]);
        giveGrad(B, gb, shape);
      }
      if (A.requiresGrad) {
        for (let i = 0; i < n; i++) g[i] = b[i] === 0 ? 0 : g[i] * b[i] * a[i] ** (b[i] - 1);
        giveGrad(A, g, shape);
      }
    },
    [A.data, B.data],
  );
}

/** |x| (torch.abs); the gradient is sign(x), 0 at 0. */
export function abs(x: Tensor): Tensor {
  return unary('abs', x, Math.abs, (v) => Math.sign(v));
}

/** x * x (torch.square). */
export function square(x: Tensor): Tensor {
  return unary(
    'square',
    x,
    (v) => v * v,
    (v) => 2 * v,
  );
}

/** 1 / sqrt(x) (torch.rsqrt). */
export function rsqrt(x: Tensor): Tensor {
  return unary(
    'rsqrt',
    x,
    (v) => 1 / Math.sqrt(v),
    (_, y) => -0.5 * y * y * y,
  );
}

/** -1, 0 or 1 by the sign of x (torch.sign); zero gradient. */
export function sign(x: Tensor): Tensor {
  return unary('sign', x, Math.sign, null);
}

/** Rounds down (torch.floor); zero gradient. */
export function floor(x: Tensor): Tensor {
  return unary('floor', x, Math.floor, null);
}

/** Rounds up (torch.ceil); zero gradient. */
export function ceil(x: Tensor): Tensor {
  return unary('ceil', x, Math.ceil, null);
}

/** Math.round breaks ties upwards; torch.round breaks them to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Rounds to the nearest integer, halves to the even one as torch.round (2.5 -> 2, 3.5 -> 4); zero gradient. */
export function round(x: Tensor): Tensor {
  return unary('round', x, roundHalfEven, null);
}

/**
 * x limited to [min, max] (torch.clamp); either bound may be omitted (null or undefined), not
 * both. The gradient passes where min <= x <= max (bounds included, as torch) and is 0 elsewhere.
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  checkTensor(x, 'clamp', 'x');
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError('clamp: at least one of min and max must be a number');
  }
  if (typeof lo !== 'number') throw new TypeError(`clamp: min must be a number, got ${typeof lo}`);
  if (typeof hi !== 'number') throw new TypeError(`clamp: max must be a number, got ${typeof hi}`);
  // torch: min is applied first, then max, so min > max gives max everywhere
  return unary(
    'clamp',
    x,
    (v) => Math.min(Math.max(v, lo), hi),
    (v) => (v >= lo && v <= hi ? 1 : 0),
  );
}

/**
 * a where cond is non-zero, else b, broadcasting all three (torch.where); a and b may be
 * numbers. cond (a mask such as `x.gt(0)`) gets no gradient; a and b get g where they were picked.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkTensor(cond, 'where', 'cond');
  const A = operand(a, 'where', 'a');
  const B = operand(b, 'where', 'b');
  const shape = broadcastShapes(broadcastShapes(cond.shape, A.shape, 'where'), B.shape, 'where');
  const c = broadcastTo(cond.data, cond.shape, shape);
  const av = broadcastTo(A.data, A.shape, shape);
  const bv = broadcastTo(B.data, B.shape, shape);
  const n = c.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = c[i] !== 0 ? av[i] : bv[i];
  return makeResult(
    y,
    shape,
    'where',
    [A, B],
    (g) => {
      if (B.requiresGrad) {
        const gb = new Float32Array(n);
        for (let i = 0; i < n; i++) gb[i] = c[i] !== 0 ? 0 : g[i];
        giveGrad(B, gb, shape);
      }
      if (A.requiresGrad) {
        for (let i = 0; i < n; i++) if (c[i] === 0) g[i] = 0;
        giveGrad(A, g, shape);
      }
    },
    [cond.data],
  );
}

// ---- comparisons -------------------------------------------------------------------------------

function compareRow(test: (u: number, v: number) => boolean): RowFn {
  return (y, yo, a, ao, as, b, bo, bs, n) => {
    for (let i = 0; i < n; i++) y[yo + i] = test(a[ao + i * as], b[bo + i * bs]) ? 1 : 0;
  };
}

function compare(op: string, a: Tensor | number, b: Tensor | number, row: RowFn): Tensor {
  const A = operand(a, op, 'a');
  const B = operand(b, op, 'b');
  const shape = broadcastShapes(A.shape, B.shape, op);
  return new Tensor(binaryBroadcast(A.data, A.shape, B.data, B.shape, shape, row), shape);
}

const eqRow = compareRow((u, v) => u === v);
const neRow = compareRow((u, v) => u !== v);
const ltRow = compareRow((u, v) => u < v);
const leRow = compareRow((u, v) => u <= v);
const gtRow = compareRow((u, v) => u > v);
const geRow = compareRow((u, v) => u >= v);

/** Mask of a == b, broadcasting: 1 where equal, else 0 (float32, no grad; torch.eq). */
export function eq(a: Tensor | number, b: Tensor | number): Tensor {
  return compare('eq', a, b, eqRow);
}

/** Mask of a != b, broadcasting (float32 0/1, no grad; torch.ne). NaN != NaN is 1. */
export function ne(a: Tensor | number, b: Tensor | number): Tensor {
  return compare('ne', a, b, neRow);
}

/** Mask of a < b, broadcasting (float32 0/1, no grad; torch.lt). */
export function lt(a: Tensor | number, b: Tensor | number): Tensor {
  return compare('lt', a, b, ltRow);
}

/** Mask of a <= b, broadcasting (float32 0/1, no grad; torch.le). */
export function le(a: Tensor | number, b: Tensor | number): Tensor {
  return compare('le', a, b, leRow);
}

/** Mask of a > b, broadcasting (float32 0/1, no grad; torch.gt). */
export function gt(a: Tensor | number, b: Tensor | number): Tensor {
  return compare('gt', a, b, gtRow);
}

/** Mask of a >= b, broadcasting (float32 0/1, no grad; torch.ge). */
export function ge(a: Tensor | number, b: Tensor | number): Tensor {
  return compare('ge', a, b, geRow);
}
