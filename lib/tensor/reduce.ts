/**
 * Reductions and normalisations along one dim: sum, mean, max, argmax, softmax, logSoftmax.
 *
 * A reduction along dim d views the tensor as [outer, n, inner] (outer = product of the dims
 * before d, n = shape[d], inner = product of the dims after), so element (o, k, i) sits at
 * (o * n + k) * inner + i. Sums accumulate in float64, in a fixed order.
 */
import { accumulateGrad } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { fmtShape } from './shape.js';
import { checkTensor, type Tensor } from './tensor.js';

/** dim in [-ndim, ndim) normalised to [0, ndim); a scalar accepts 0 and -1 (as PyTorch). */
export function normDim(dim: number, ndim: number, op: string): number {
  const nd = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -nd || dim >= nd) {
    throw new RangeError(
      `${op}: dim ${dim} is out of range for a tensor of ${ndim} dims (expected [${-nd}, ${nd - 1}])`,
    );
  }
  return dim < 0 ? dim + nd : dim;
}

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

/** Sum of all elements (dim omitted or null) or along dim (negative allowed). */
export function sum(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return sumImpl(x, dim, keepdim, 'sum');
}

/** Mean of all elements (dim omitted or null) or along dim (negative allowed). */
export function mean(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return sumImpl(x, dim, keepdim, 'mean');
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
export function argmax(x: Tensor, dim = -1): Int32Array {
  checkTensor(x, 'argmax');
  const d = normDim(dim, x.shape.length, 'argmax');
  const { outer, n, inner } = split(x.shape, d, false);
  if (n === 0) throw new RangeError(`argmax: cannot reduce over dim ${dim} of size 0 in ${fmtShape(x.shape)}`);
  const idx = new Int32Array(outer * inner);
  argmaxInto(x.data, outer, n, inner, null, idx);
  return idx;
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
