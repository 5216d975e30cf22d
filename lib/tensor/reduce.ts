/**
 * Reductions and normalisations: sum, mean, max/min, amax/amin, prod, var/std, logsumexp,
 * argmax/argmin, softmax, logSoftmax. `dim` is one dim, a list of dims or null/omitted for all
 * (where torch allows a list); negative dims count from the end.
 *
 * A reduction along dim d views the tensor as [outer, n, inner] (outer = product of the dims
 * before d, n = shape[d], inner = product of the dims after), so element (o, k, i) sits at
 * (o * n + k) * inner + i. Sums accumulate in float64, in a fixed order.
 */
import { accumulateGrad } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { checkOptions, optionKeys } from '../options.js';
import { add, div, exp, log, mul, neg, reshape, sqrt, sub } from './ops.js';
import { permute } from './shape-ops.js';
import { fmtShape, normDim } from './shape.js';
import { checkTensor, Tensor } from './tensor.js';

interface Split {
  outer: number;
  n: number;
  inner: number;
  /** The output shape (dim removed, or kept as 1). */
  shape: number[];
}

function split(shape: readonly number[], d: number, keepdim: boolean): Split {
  if (shape.length === 0) return { outer: 1, n: 1, inner: 1, shape: keepdim ? [] : [] };
  let outer = 1,
    inner = 1;
  for (let i = 0; i < d; i++) outer *= shape[i];
  for (let i = d + 1; i < shape.length; i++) inner *= shape[i];
  const out = shape.slice();
  if (keepdim) out[d] = 1;
  else out.splice(d, 1);
  return { outer, n: shape[d], inner, shape: out };
}

// ---- sum / mean ------------------------------------------------------------------------------

function sumImpl(x: Tensor, dim: number | null | undefined, keepdim: boolean, op: 'sum' | 'mean'): Tensor {
  checkTensor(x, op);
  const a = x.data;
  const isMean = op === 'mean';
  if (dim === undefined || dim === null) {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    const n = a.length;
    const y = new Float32Array([isMean ? s / n : s]);
    const shape = keepdim ? x.shape.map(() => 1) : [];
    return makeResult(y, shape, op, [x], (g) => {
      const v = isMean ? g[0] / n : g[0];
      const dx = new Float32Array(n);
      dx.fill(v);
      accumulateGrad(x, dx, true);
    });
  }
  const d = normDim(dim, x.shape.length, op);
  const { outer, n, inner, shape } = split(x.shape, d, keepdim);
  const scale = isMean ? 1 / n : 1;
  const y = new Float32Array(outer * inner);
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      const base = o * n;
      for (let k = 0; k < n; k++) s += a[base + k];
      y[o] = isMean ? s / n : s;
    }
  } else {
    const acc = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const base = (o * n + k) * inner;
        for (let i = 0; i < inner; i++) acc[i] += a[base + i];
      }
      const yo = o * inner;
      for (let i = 0; i < inner; i++) y[yo + i] = isMean ? acc[i] / n : acc[i];
    }
  }
  return makeResult(y, shape, op, [x], (g) => {
    const dx = new Float32Array(a.length);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < n; k++) {
        const base = (o * n + k) * inner;
        const go = o * inner;
        for (let i = 0; i < inner; i++) dx[base + i] = g[go + i] * scale;
      }
    }
    accumulateGrad(x, dx, true);
  });
}

/** Dims to reduce over: one dim, a list of them, or null/undefined for all. */
export type Dims = number | readonly number[] | null | undefined;

/** The dims a reduction runs over, normalised, sorted and unique; all of them for null, undefined or []. */
function reducedDims(x: Tensor, dim: Dims, op: string): number[] {
  const nd = x.shape.length;
  const all = x.shape.map((_, i) => i);
  if (dim === null || dim === undefined) return all;
  const list = typeof dim === 'number' ? [dim] : dim;
  if (!Array.isArray(list)) throw new TypeError(`${op}: dim must be an integer, an array of integers or null`);
  if (list.length === 0) return all;
  const dims = list.map((d) => normDim(d, nd, op));
  if (new Set(dims).size !== dims.length) throw new RangeError(`${op}: dim [${list.join(',')}] repeats a dim`);
  return nd === 0 ? [] : dims.sort((p, q) => p - q);
}

/** x's shape with the reduced dims removed, or kept as 1. */
function reducedShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((s, i) => {
    if (!dims.includes(i)) out.push(s);
    else if (keepdim) out.push(1);
  });
  return out;
}

function count(shape: readonly number[], dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= shape[d];
  return n;
}

/** Sum over several dims as one sum per dim (each exact in float64), innermost first. */
function sumDims(x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  let y = x;
  for (let j = dims.length - 1; j >= 0; j--) y = sumImpl(y, dims[j], true, 'sum');
  return keepdim ? y : reshape(y, reducedShape(x.shape, dims, false));
}

/** Sum of all elements (dim omitted or null), along dim, or over a list of dims; keepdim keeps them as size 1 (torch.sum). */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  if (!Array.isArray(dim)) return sumImpl(x, dim as number | null | undefined, keepdim, 'sum');
  checkTensor(x, 'sum', 'x');
  const dims = reducedDims(x, dim, 'sum');
  if (dims.length === x.shape.length) return sumImpl(x, null, keepdim, 'sum');
  return dims.length === 1 ? sumImpl(x, dims[0], keepdim, 'sum') : sumDims(x, dims, keepdim);
}

/** Mean of all elements (dim omitted or null), along dim, or over a list of dims (torch.mean). */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  if (!Array.isArray(dim)) return sumImpl(x, dim as number | null | undefined, keepdim, 'mean');
  checkTensor(x, 'mean', 'x');
  const dims = reducedDims(x, dim, 'mean');
  if (dims.length === x.shape.length) return sumImpl(x, null, keepdim, 'mean');
  if (dims.length === 1) return sumImpl(x, dims[0], keepdim, 'mean');
  return div(sumDims(x, dims, keepdim), count(x.shape, dims));
}

/**
 * x as [outer, R] rows, R the product of the reduced dims: the kept dims are permuted to the
 * front (no copy when they already are), so a row reduction plus a reshape reduces over any
 * set of dims, and the gradient flows back through the permute.
 */
function toRows(x: Tensor, dims: readonly number[]): { rows: Tensor; outer: number; R: number } {
  const nd = x.shape.length;
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const perm = [...kept, ...dims];
  const R = count(x.shape, dims);
  const outer = count(x.shape, kept);
  const moved = perm.every((p, i) => p === i) || nd === 0 ? x : permute(x, perm);
  return { rows: reshape(moved, [outer, R]), outer, R };
}

// ---- amax / amin / min / prod -------------------------------------------------------------------

/**
 * Max over dims (all by default), the gradient split evenly among the elements equal to the max
 * (torch.amax; unlike max(x, dim), which routes it to one index). NaN propagates.
 */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor(x, 'amax', 'x');
  if (x.data.length === 0) throw new RangeError(`amax: cannot reduce an empty tensor of shape ${fmtShape(x.shape)}`);
  return rowReduce(
    'amax',
    x,
    reducedDims(x, dim, 'amax'),
    keepdim,
    (a, base, R) => {
      let m = a[base];
      for (let k = 1; k < R; k++) {
        const v = a[base + k];
        if (v > m || (v !== v && m === m)) m = v;
      }
      return m;
    },
    (a, base, R, m, g, dx) => {
      const hit = (v: number) => (m !== m ? v !== v : v === m);
      let c = 0;
      for (let k = 0; k < R; k++) if (hit(a[base + k])) c++;
      for (let k = 0; k < R; k++) if (hit(a[base + k])) dx[base + k] = g / c;
    },
  );
}

/**
 * A reduction of each [outer, R] row (see toRows) to one value: `forward` reduces the row at
 * a[base .. base + R), `backward` writes its gradient into dx given the row's value y and
 * output gradient g.
 */
function rowReduce(
  op: string,
  x: Tensor,
  dims: readonly number[],
  keepdim: boolean,
  forward: (a: Float32Array, base: number, R: number) => number,
  backward: (a: Float32Array, base: number, R: number, y: number, g: number, dx: Float32Array) => void,
): Tensor {
  const { rows, outer, R } = toRows(x, dims);
  const a = rows.data;
  const y = new Float32Array(outer);
  for (let o = 0; o < outer; o++) y[o] = forward(a, o * R, R);
  const r = makeResult(
    y,
    [outer],
    op,
    [rows],
    (g) => {
      const dx = new Float32Array(a.length);
      for (let o = 0; o < outer; o++) backward(a, o * R, R, y[o], g[o], dx);
      accumulateGrad(rows, dx, true);
    },
    [a],
  );
  return reshape(r, reducedShape(x.shape, dims, keepdim));
}

/** Min over dims (all by default), the gradient split evenly among ties (torch.amin). */
export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor(x, 'amin', 'x');
  return neg(amax(neg(x), dim, keepdim));
}

/**
 * Min of all elements (dim omitted or null; the gradient spread evenly over ties), or along
 * dim (the gradient to the first index of the min, the one torch.min(dim) returns): max's
 * mirror image.
 */
export function min(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  checkTensor(x, 'min', 'x');
  return neg(max(neg(x), dim, keepdim));
}

/**
 * Product of all elements (dim omitted or null) or along dim (torch.prod). The gradient of an
 * element is the product of the others (computed from prefix and suffix products, so zeros are
 * exact, as in torch).
 */
export function prod(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  checkTensor(x, 'prod', 'x');
  if (Array.isArray(dim)) throw new TypeError('prod: dim must be one integer or null (torch.prod takes one dim)');
  return rowReduce(
    'prod',
    x,
    reducedDims(x, dim, 'prod'),
    keepdim,
    (a, base, R) => {
      let p = 1;
      for (let k = 0; k < R; k++) p *= a[base + k];
      return p;
    },
    (a, base, R, _y, g, dx) => {
      // dx[k] = g * prod(a[<k]) * prod(a[>k]): prefix products forwards, suffix backwards
      let pre = 1;
      for (let k = 0; k < R; k++) {
        dx[base + k] = pre;
        pre *= a[base + k];
      }
      let suf = g;
      for (let k = R - 1; k >= 0; k--) {
        dx[base + k] *= suf;
        suf *= a[base + k];
      }
    },
  );
}

// ---- var / std / logsumexp -----------------------------------------------------------------------

/** Options of var() and std(). */
export interface VarOptions {
  /** Subtracted from the element count in the divisor: 1 (default) is Bessel's correction, 0 the population variance. */
  correction?: number;
  /** torch's older flag: true is correction 1, false correction 0. Give it or correction, not both. */
  unbiased?: boolean;
  /** Keep the reduced dims with size 1. Default false. */
  keepdim?: boolean;
}
export const VAR_KEYS = optionKeys<VarOptions>()('correction', 'unbiased', 'keepdim');

function varImpl(op: 'var' | 'std', x: Tensor, dim: Dims, opts: VarOptions): Tensor {
  checkTensor(x, op, 'x');
  checkOptions(op, opts, VAR_KEYS);
  if (opts.correction !== undefined && opts.unbiased !== undefined) {
    throw new TypeError(`${op}: give correction or unbiased, not both`);
  }
  if (opts.correction !== undefined && (typeof opts.correction !== 'number' || !(opts.correction >= 0))) {
    throw new RangeError(`${op}: correction must be a number >= 0, got ${opts.correction}`);
  }
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  const keepdim = opts.keepdim === true;
  const dims = reducedDims(x, dim, op);
  const d = sub(x, mean(x, dims, true));
  // torch divides by max(0, N - correction): a single element with correction 1 gives NaN (0 / 0)
  const v = div(sum(mul(d, d), dims, keepdim), Math.max(0, count(x.shape, dims) - correction));
  return op === 'std' ? sqrt(v) : v;
}

/** Variance over dims (all by default) with Bessel's correction unless told otherwise (torch.var). */
export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  return varImpl('var', x, dim, opts);
}

/** Standard deviation over dims (all by default), the square root of variance (torch.std). */
export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  return varImpl('std', x, dim, opts);
}

/**
 * log(sum(exp(x))) over dims (all by default), computed stably by subtracting the max first
 * (torch.logsumexp). The gradient is the softmax over those dims.
 */
export function logsumexp(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor(x, 'logsumexp', 'x');
  const dims = reducedDims(x, dim, 'logsumexp');
  // the shift is a constant: it cancels in the value, so no gradient goes through it
  const m = amax(x.detach(), dims, true).data.map((v) => (Number.isFinite(v) ? v : 0));
  const shift = new Tensor(m, reducedShape(x.shape, dims, true));
  const y = add(log(sum(exp(sub(x, shift)), dims, true)), shift);
  return keepdim ? y : reshape(y, reducedShape(x.shape, dims, false));
}

// ---- max / argmax ------------------------------------------------------------------------------

/**
 * Max of all elements, or along dim. Gradients follow PyTorch: the full max spreads the
 * gradient evenly over all elements equal to the max; max along a dim routes it to the first
 * index of the max in each slice (the index torch.max(dim) returns). NaN propagates.
 */
export function max(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  checkTensor(x, 'max');
  const a = x.data;
  if (a.length === 0) throw new RangeError(`max: cannot reduce an empty tensor of shape ${fmtShape(x.shape)}`);
  if (dim === undefined || dim === null) {
    let m = a[0];
    for (let i = 1; i < a.length; i++) {
      const v = a[i];
      if (v > m || (v !== v && m === m)) m = v;
    }
    const shape = keepdim ? x.shape.map(() => 1) : [];
    return makeResult(
      new Float32Array([m]),
      shape,
      'max',
      [x],
      (g) => {
        const mIsNaN = m !== m;
        let count = 0;
        for (let i = 0; i < a.length; i++) if (mIsNaN ? a[i] !== a[i] : a[i] === m) count++;
        const v = g[0] / count;
        const dx = new Float32Array(a.length);
        for (let i = 0; i < a.length; i++) if (mIsNaN ? a[i] !== a[i] : a[i] === m) dx[i] = v;
        accumulateGrad(x, dx, true);
      },
      [a],
    );
  }
  const d = normDim(dim, x.shape.length, 'max');
  const { outer, n, inner, shape } = split(x.shape, d, keepdim);
  if (n === 0) throw new RangeError(`max: cannot reduce over dim ${dim} of size 0 in ${fmtShape(x.shape)}`);
  const y = new Float32Array(outer * inner);
  const idx = new Int32Array(outer * inner);
  argmaxInto(a, outer, n, inner, y, idx);
  return makeResult(y, shape, 'max', [x], (g) => {
    const dx = new Float32Array(a.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const j = o * inner + i;
        dx[(o * n + idx[j]) * inner + i] = g[j];
      }
    }
    accumulateGrad(x, dx, true);
  });
}

/** First index of the max of each [outer, :, inner] slice (a NaN counts as the max). */
function argmaxInto(
  a: Float32Array,
  outer: number,
  n: number,
  inner: number,
  vals: Float32Array | null,
  idx: Int32Array,
): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let base = o * n * inner + i;
      let m = a[base];
      let best = 0;
      for (let k = 1; k < n; k++) {
        base += inner;
        const v = a[base];
        if (v > m || (v !== v && m === m)) {
          m = v;
          best = k;
        }
      }
      const j = o * inner + i;
      if (vals !== null) vals[j] = m;
      idx[j] = best;
    }
  }
}

/**
 * Indices of the max along dim (first on ties), flattened over the remaining dims in row-major
 * order: for logits [N, C], argmax(logits, -1) is the N predicted classes.
 */
export function argmax(x: Tensor, dim: number | null = -1): Int32Array {
  checkTensor(x, 'argmax');
  if (dim === null) return argmax(new Tensor(x.data, [x.data.length]), 0);
  const d = normDim(dim, x.shape.length, 'argmax');
  const { outer, n, inner } = split(x.shape, d, false);
  if (n === 0) throw new RangeError(`argmax: cannot reduce over dim ${dim} of size 0 in ${fmtShape(x.shape)}`);
  const idx = new Int32Array(outer * inner);
  argmaxInto(x.data, outer, n, inner, null, idx);
  return idx;
}

/**
 * Indices of the min along dim (default -1, the last; null for the index into the flattened
 * tensor), the first on ties (torch.argmin), flattened over the other dims as argmax.
 */
export function argmin(x: Tensor, dim: number | null = -1): Int32Array {
  checkTensor(x, 'argmin');
  return argmax(
    new Tensor(
      x.data.map((v) => -v),
      x.shape,
    ),
    dim,
  );
}

/** What maxWithIndices and minWithIndices return: torch's (values, indices) pair. */
export interface ValuesIndices {
  /** The max (or min) along dim, with the gradient routed to `indices`. */
  values: Tensor;
  /** Where each value sits along dim, row-major over values' shape. */
  indices: Int32Array;
}

/** torch.max(x, dim): the values (as max(x, dim)) and their indices (as argmax), first on ties. */
export function maxWithIndices(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return { values: max(x, dim, keepdim), indices: argmax(x, dim) };
}

/** torch.min(x, dim): the values (as min(x, dim)) and their indices (as argmin), first on ties. */
export function minWithIndices(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return { values: min(x, dim, keepdim), indices: argmin(x, dim) };
}

// ---- softmax / logSoftmax --------------------------------------------------------------------

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  checkTensor(x, op);
  const d = normDim(dim, x.shape.length, op);
  const { outer, n, inner } = split(x.shape, d, true);
  const a = x.data;
  const y = new Float32Array(a.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      // subtract the max so exp cannot overflow
      let m = -Infinity;
      for (let k = 0, p = base; k < n; k++, p += inner) if (a[p] > m) m = a[p];
      let s = 0;
      for (let k = 0, p = base; k < n; k++, p += inner) s += Math.exp(a[p] - m);
      if (log) {
        const lse = m + Math.log(s);
        for (let k = 0, p = base; k < n; k++, p += inner) y[p] = a[p] - lse;
      } else {
        const inv = 1 / s;
        for (let k = 0, p = base; k < n; k++, p += inner) y[p] = Math.exp(a[p] - m) * inv;
      }
    }
  }
  return makeResult(y, x.shape, op, [x], (g) => {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let s = 0;
        if (log) {
          // dx = g - softmax * sum(g)
          for (let k = 0, p = base; k < n; k++, p += inner) s += g[p];
          for (let k = 0, p = base; k < n; k++, p += inner) g[p] -= Math.exp(y[p]) * s;
        } else {
          // dx = y * (g - sum(g * y))
          for (let k = 0, p = base; k < n; k++, p += inner) s += g[p] * y[p];
          for (let k = 0, p = base; k < n; k++, p += inner) g[p] = y[p] * (g[p] - s);
        }
      }
    }
    accumulateGrad(x, g, true);
  });
}

/** softmax along dim (default the last), stable for any finite input. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl(x, dim, false);
}

/** log(softmax(x)) along dim (default the last), computed as x - logsumexp(x). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl(x, dim, true);
}
