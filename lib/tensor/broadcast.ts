/**
 * NumPy/PyTorch broadcasting for elementwise binary ops, without per-element closures.
 *
 * Shapes are aligned on the right; a dimension of size 1 stretches to the other's size. The
 * output is walked as rows: after dropping size-1 output dims and merging adjacent dims that
 * are contiguous in both operands ("coalescing"), the innermost dim is a row along which each
 * operand has stride 1 (it varies) or 0 (it is broadcast). A RowFn runs one plain typed-array
 * loop over a row, so the per-call overhead is per row, and the common cases (same shape,
 * scalar, [M, N] op [N]) are a single call or one call per row.
 */
import { fmtShape } from './shape.js';

/**
 * y[yo + i] = f(a[ao + i * as], b[bo + i * bs]) for i < n, where as, bs are 0 or 1 (never
 * both 0 when n > 1).
 */
export type RowFn = (
  y: Float32Array,
  yo: number,
  a: Float32Array,
  ao: number,
  as: number,
  b: Float32Array,
  bo: number,
  bs: number,
  n: number,
) => void;

/** The broadcast shape of a and b, or a RangeError naming the op. */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const nd = Math.max(a.length, b.length);
  const out = new Array<number>(nd);
  for (let i = 0; i < nd; i++) {
    const da = i < nd - a.length ? 1 : a[i - (nd - a.length)];
    const db = i < nd - b.length ? 1 : b[i - (nd - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new RangeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast`);
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row layout of a broadcast: dims (outer to inner) and each operand's strides (0 = broadcast). */
interface Layout {
  dims: number[];
  strides: number[][];
}

/** Drops size-1 output dims and merges dims that are contiguous in every operand. */
function layout(outShape: readonly number[], shapes: readonly (readonly number[])[]): Layout {
  const nd = outShape.length;
  const k = shapes.length;
  const fullStrides: number[][] = [];
  for (let j = 0; j < k; j++) {
    const s = shapes[j];
    const off = nd - s.length;
    const st = new Array<number>(nd).fill(0);
    let acc = 1;
    for (let d = nd - 1; d >= off; d--) {
      const size = s[d - off];
      st[d] = size === 1 ? 0 : acc;
      acc *= size;
    }
    fullStrides.push(st);
  }
  const dims: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  for (let d = 0; d < nd; d++) {
    const size = outShape[d];
    if (size === 1) continue;
    const last = dims.length - 1;
    let merge = last >= 0;
    for (let j = 0; j < k && merge; j++) {
      if (strides[j][last] !== fullStrides[j][d] * size) merge = false;
    }
    if (merge) {
      dims[last] *= size;
      for (let j = 0; j < k; j++) strides[j][last] = fullStrides[j][d];
    } else {
      dims.push(size);
      for (let j = 0; j < k; j++) strides[j].push(fullStrides[j][d]);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (let j = 0; j < k; j++) strides[j].push(1);
  }
  return { dims, strides };
}

/**
 * Elementwise y = f(a, b) with broadcasting; outShape must be broadcastShapes(aShape, bShape).
 * Writes into out when given (length = numel of outShape), else a new array.
 */
export function binaryBroadcast(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  outShape: readonly number[],
  row: RowFn,
  out?: Float32Array,
): Float32Array {
  const n = sizeOf(outShape);
  const y = out ?? new Float32Array(n);
  if (n === 0) return y;
  if (a.length === n && b.length === n) {
    row(y, 0, a, 0, 1, b, 0, 1, n);
    return y;
  }
  if (b.length === 1 && a.length === n) {
    row(y, 0, a, 0, 1, b, 0, 0, n);
    return y;
  }
  if (a.length === 1 && b.length === n) {
    row(y, 0, a, 0, 0, b, 0, 1, n);
    return y;
  }
  const { dims, strides } = layout(outShape, [aShape, bShape]);
  const nd = dims.length;
  const L = dims[nd - 1];
  const sa = strides[0],
    sb = strides[1];
  const asL = sa[nd - 1],
    bsL = sb[nd - 1];
  const rows = n / L;
  if (nd === 2) {
    // the common case: one outer dim (e.g. [M, N] op [N], [M, 1] op [1, N])
    const sa0 = sa[0],
      sb0 = sb[0];
    for (let r = 0; r < rows; r++) row(y, r * L, a, r * sa0, asL, b, r * sb0, bsL, L);
    return y;
  }
  const idx = new Array<number>(nd - 1).fill(0);
  let ao = 0,
    bo = 0;
  for (let r = 0; r < rows; r++) {
    row(y, r * L, a, ao, asL, b, bo, bsL, L);
    // odometer over the outer dims
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d] < dims[d]) {
        ao += sa[d];
        bo += sb[d];
        break;
      }
      idx[d] = 0;
      ao -= sa[d] * (dims[d] - 1);
      bo -= sb[d] * (dims[d] - 1);
    }
  }
  return y;
}

const copyRow: RowFn = (y, yo, a, ao, as, _b, _bo, _bs, n) => {
  for (let i = 0; i < n; i++) y[yo + i] = a[ao + i * as];
};
const NOTHING = new Float32Array(1);

/** a (of aShape) broadcast to outShape: a new array, or a itself when the sizes already match. */
export function broadcastTo(a: Float32Array, aShape: readonly number[], outShape: readonly number[]): Float32Array {
  if (a.length === sizeOf(outShape)) return a;
  return binaryBroadcast(a, aShape, NOTHING, [], outShape, copyRow);
}

/**
 * The backward of a broadcast: adds g (of outShape) into dst (of shape, which broadcasts to
 * outShape), summing over the broadcast dims. Summation per output cell runs in a fixed order.
 */
export function sumToShapeInto(
  g: Float32Array,
  outShape: readonly number[],
  shape: readonly number[],
  dst: Float32Array,
): void {
  const n = g.length;
  if (n === 0) return;
  if (dst.length === n) {
    for (let i = 0; i < n; i++) dst[i] += g[i];
    return;
  }
  if (dst.length === 1) {
    let s = 0;
    for (let i = 0; i < n; i++) s += g[i];
    dst[0] += s;
    return;
  }
  const { dims, strides } = layout(outShape, [shape]);
  const nd = dims.length;
  const L = dims[nd - 1];
  const st = strides[0];
  const sL = st[nd - 1];
  const rows = n / L;
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    const go = r * L;
    if (sL === 1) {
      for (let i = 0; i < L; i++) dst[o + i] += g[go + i];
    } else {
      let s = 0;
      for (let i = 0; i < L; i++) s += g[go + i];
      dst[o] += s;
    }
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d] < dims[d]) {
        o += st[d];
        break;
      }
      idx[d] = 0;
      o -= st[d] * (dims[d] - 1);
    }
  }
}

// ---- row kernels -----------------------------------------------------------------------------
// Each has three loops: both operands vary, b is fixed along the row, a is fixed along the row.

export const addRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] + b[bo + i];
  else if (bs === 0) {
    const s = b[bo];
    for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] + s;
  } else {
    const s = a[ao];
    for (let i = 0; i < n; i++) y[yo + i] = s + b[bo + i];
  }
};

export const subRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] - b[bo + i];
  else if (bs === 0) {
    const s = b[bo];
    for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] - s;
  } else {
    const s = a[ao];
    for (let i = 0; i < n; i++) y[yo + i] = s - b[bo + i];
  }
};

export const mulRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] * b[bo + i];
  else if (bs === 0) {
    const s = b[bo];
    for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] * s;
  } else {
    const s = a[ao];
    for (let i = 0; i < n; i++) y[yo + i] = s * b[bo + i];
  }
};

export const divRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] / b[bo + i];
  else if (bs === 0) {
    const s = b[bo];
    for (let i = 0; i < n; i++) y[yo + i] = a[ao + i] / s;
  } else {
    const s = a[ao];
    for (let i = 0; i < n; i++) y[yo + i] = s / b[bo + i];
  }
};

/** y = -a / (b * b): the gradient of a / b with respect to b, given a = g * numerator. */
export const negDivSqRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1)
    for (let i = 0; i < n; i++) {
      const d = b[bo + i];
      y[yo + i] = -a[ao + i] / (d * d);
    }
  else if (bs === 0) {
    const d = b[bo];
    const s = d * d;
    for (let i = 0; i < n; i++) y[yo + i] = -a[ao + i] / s;
  } else {
    const s = a[ao];
    for (let i = 0; i < n; i++) {
      const d = b[bo + i];
      y[yo + i] = -s / (d * d);
    }
  }
};

// maximum/minimum propagate NaN like torch.maximum
export const maxRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  for (let i = 0; i < n; i++) {
    const u = a[ao + i * as],
      v = b[bo + i * bs];
    y[yo + i] = u > v || u !== u ? u : v;
  }
};

export const minRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  for (let i = 0; i < n; i++) {
    const u = a[ao + i * as],
      v = b[bo + i * bs];
    y[yo + i] = u < v || u !== u ? u : v;
  }
};

/** a's share of maximum's gradient: 1 where a > b, 1/2 on ties (as PyTorch), else 0. */
export const maxShareRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  for (let i = 0; i < n; i++) {
    const u = a[ao + i * as],
      v = b[bo + i * bs];
    y[yo + i] = u > v ? 1 : u === v ? 0.5 : 0;
  }
};

/** a's share of minimum's gradient: 1 where a < b, 1/2 on ties, else 0. */
export const minShareRow: RowFn = (y, yo, a, ao, as, b, bo, bs, n) => {
  for (let i = 0; i < n; i++) {
    const u = a[ao + i * as],
      v = b[bo + i * bs];
    y[yo + i] = u < v ? 1 : u === v ? 0.5 : 0;
  }
};
