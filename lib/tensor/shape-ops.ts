/**
 * Shape ops on any rank, with torch's names and semantics: permute, transpose, expand,
 * squeeze/unsqueeze, flatten, cat/stack, split/chunk, narrow, indexSelect, gather, pad.
 *
 * Tensors are contiguous, so every op here but the reshapes (squeeze, unsqueeze, flatten, which
 * share the data) returns a copy. Most view the tensor along one dim d as [outer, n, inner]
 * (outer = product of the dims before d, inner = product of those after), so element (o, k, i)
 * sits at (o * n + k) * inner + i, and move whole `inner`-long runs at a time. They run no
 * backend kernel: they are typed-array copies, the same on every backend.
 */
import { broadcastShapes, broadcastTo, sumToShapeInto } from './broadcast.js';
import { accumulateGrad, gradTarget } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { reshape, transpose as transpose2d, flatten as flattenRows } from './ops.js';
import { fmtShape, normDim, stridedOffsets, stridesOf } from './shape.js';
import { checkTensor, Tensor } from './tensor.js';

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** outer, n, inner of shape viewed along dim d. */
function around(shape: readonly number[], d: number): { outer: number; n: number; inner: number } {
  return { outer: size(shape.slice(0, d)), n: shape[d], inner: size(shape.slice(d + 1)) };
}

function checkInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${op}: ${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

// ---- permute / transpose -------------------------------------------------------------------------

/**
 * dst = src permuted (out dim i is src dim perm[i]), or dst += that when accumulate: an
 * odometer over the output with each output dim's stride in src.
 */
function permuteInto(
  src: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
  dst: Float32Array,
  accumulate: boolean,
): void {
  const nd = shape.length;
  if (src.length === 0) return;
  const inStride = stridesOf(shape);
  const dims = perm.map((p) => shape[p]);
  const st = perm.map((p) => inStride[p]);
  const L = nd === 0 ? 1 : dims[nd - 1];
  const sL = nd === 0 ? 1 : st[nd - 1];
  const rows = stridedOffsets(dims.slice(0, -1), st.slice(0, -1));
  for (let r = 0, y = 0; r < rows.length; r++, y += L) {
    const o = rows[r];
    if (accumulate) for (let i = 0; i < L; i++) dst[y + i] += src[o + i * sL];
    else for (let i = 0; i < L; i++) dst[y + i] = src[o + i * sL];
  }
}

/** The dims of x reordered: output dim i is x's dim dims[i] (torch.permute; a copy). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor(x, 'permute', 'x');
  const nd = x.shape.length;
  if (!Array.isArray(dims) || dims.length !== nd) {
    throw new RangeError(
      `permute: dims must list each of the ${nd} dims of ${fmtShape(x.shape)} once, got ${String(dims)}`,
    );
  }
  const perm = dims.map((d) => normDim(checkInt('permute', 'dims', d), nd, 'permute'));
  if (new Set(perm).size !== nd) throw new RangeError(`permute: dims [${dims.join(',')}] repeat a dim`);
  const shape = perm.map((p) => x.shape[p]);
  const y = new Float32Array(x.data.length);
  permuteInto(x.data, x.shape, perm, y, false);
  const inverse = new Array<number>(nd);
  for (let i = 0; i < nd; i++) inverse[perm[i]] = i;
  return makeResult(y, shape, 'permute', [x], (g) => {
    permuteInto(g, shape, inverse, gradTarget(x).buf, true);
  });
}

/**
 * Swaps dims dim0 and dim1 (torch.transpose; a copy). Without dims, the transpose of a 2-D
 * tensor, as `x.T` and torch.t.
 */
export function transpose(x: Tensor, dim0?: number, dim1?: number): Tensor {
  if (dim0 === undefined && dim1 === undefined) return transpose2d(x);
  checkTensor(x, 'transpose', 'x');
  const nd = x.shape.length;
  const d0 = normDim(checkInt('transpose', 'dim0', dim0), nd, 'transpose');
  const d1 = normDim(checkInt('transpose', 'dim1', dim1), nd, 'transpose');
  if (nd === 2 && d0 !== d1) return transpose2d(x);
  const perm = x.shape.map((_, i) => i);
  perm[d0] = d1;
  perm[d1] = d0;
  return permute(x, perm);
}

// ---- expand / squeeze / unsqueeze / flatten ----------------------------------------------------------

/**
 * x broadcast to shape (a copy, unlike torch's view): size-1 dims stretch, new dims may lead,
 * -1 keeps a dim's size (torch.expand). The gradient sums over the stretched dims.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'expand', 'x');
  if (!Array.isArray(shape) || shape.length < x.shape.length) {
    throw new RangeError(`expand: shape must be an array of at least ${x.shape.length} sizes, got ${String(shape)}`);
  }
  const lead = shape.length - x.shape.length;
  const out = shape.map((s, i) => {
    checkInt('expand', 'shape', s);
    if (s === -1) {
      if (i < lead) throw new RangeError(`expand: -1 is not allowed for a new leading dim, got ${fmtShape(shape)}`);
      return x.shape[i - lead];
    }
    return s;
  });
  const bs = broadcastShapes(x.shape, out, 'expand');
  if (bs.some((s, i) => s !== out[i])) {
    throw new RangeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  const y = x.data.length === size(out) ? x.data.slice() : broadcastTo(x.data, x.shape, out);
  return makeResult(y, out, 'expand', [x], (g) => {
    sumToShapeInto(g, out, x.shape, gradTarget(x).buf);
  });
}

/** Removes dim (when its size is 1), or every size-1 dim when dim is omitted (torch.squeeze). Shares the data. */
export function squeeze(x: Tensor, dim?: number): Tensor {
  checkTensor(x, 'squeeze', 'x');
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((s) => s !== 1),
    );
  const d = normDim(checkInt('squeeze', 'dim', dim), x.shape.length, 'squeeze');
  if (x.shape.length === 0 || x.shape[d] !== 1) return reshape(x, x.shape);
  const shape = x.shape.slice();
  shape.splice(d, 1);
  return reshape(x, shape);
}

/** Inserts a dim of size 1 at dim, in [-ndim - 1, ndim] (torch.unsqueeze). Shares the data. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor(x, 'unsqueeze', 'x');
  const d = normDim(checkInt('unsqueeze', 'dim', dim), x.shape.length + 1, 'unsqueeze');
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/**
 * Merges dims startDim..endDim (inclusive, negative counting from the end) into one, as
 * torch.flatten. Without arguments it keeps the first dim, [N, ...] -> [N, rest], as nn.Flatten
 * (and as nodegrad's flatten always did); pass startDim 0 for torch.flatten's default. Shares the data.
 */
export function flatten(x: Tensor, startDim?: number, endDim = -1): Tensor {
  if (startDim === undefined) return flattenRows(x);
  checkTensor(x, 'flatten', 'x');
  const nd = Math.max(x.shape.length, 1);
  const s = normDim(checkInt('flatten', 'startDim', startDim), nd, 'flatten');
  const e = normDim(checkInt('flatten', 'endDim', endDim), nd, 'flatten');
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  if (x.shape.length === 0) return reshape(x, [1]);
  const shape = [...x.shape.slice(0, s), size(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

// ---- narrow / cat / stack / split / chunk ---------------------------------------------------------

/**
 * Copies runs between [outer, srcN, inner] and [outer, dstN, inner] views: for each o, `len`
 * slices starting at srcStart go to dstStart (added when accumulate).
 */
function copySlices(
  src: Float32Array,
  srcN: number,
  srcStart: number,
  dst: Float32Array,
  dstN: number,
  dstStart: number,
  outer: number,
  inner: number,
  len: number,
  accumulate: boolean,
): void {
  const run = len * inner;
  for (let o = 0; o < outer; o++) {
    const s = (o * srcN + srcStart) * inner;
    const d = (o * dstN + dstStart) * inner;
    if (accumulate) for (let i = 0; i < run; i++) dst[d + i] += src[s + i];
    else dst.set(src.subarray(s, s + run), d);
  }
}

/** The `length` slices of x along dim starting at start (torch.narrow; a copy). start may be negative. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor(x, 'narrow', 'x');
  if (x.shape.length === 0) throw new RangeError('narrow: x must have at least 1 dim, got a scalar');
  const d = normDim(checkInt('narrow', 'dim', dim), x.shape.length, 'narrow');
  const { outer, n, inner } = around(x.shape, d);
  checkInt('narrow', 'start', start);
  checkInt('narrow', 'length', length);
  const s = start < 0 ? start + n : start;
  if (s < 0 || s > n) throw new RangeError(`narrow: start ${start} is out of range for dim ${dim} of size ${n}`);
  if (length < 0 || s + length > n) {
    throw new RangeError(`narrow: start ${start} + length ${length} exceeds dim ${dim} of size ${n}`);
  }
  const shape = x.shape.slice();
  shape[d] = length;
  const y = new Float32Array(outer * length * inner);
  copySlices(x.data, n, s, y, length, 0, outer, inner, length, false);
  return makeResult(y, shape, 'narrow', [x], (g) => {
    copySlices(g, length, 0, gradTarget(x).buf, n, s, outer, inner, length, true);
  });
}

/** The tensors joined along dim; all shapes equal but for dim (torch.cat). */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('cat: tensors must be a non-empty array');
  tensors.forEach((t, i) => checkTensor(t, 'cat', `tensors[${i}]`));
  const first = tensors[0].shape;
  if (first.length === 0) throw new RangeError('cat: tensors must have at least 1 dim, got a scalar');
  const d = normDim(checkInt('cat', 'dim', dim), first.length, 'cat');
  let total = 0;
  for (let j = 0; j < tensors.length; j++) {
    const s = tensors[j].shape;
    if (s.length !== first.length || s.some((v: number, i: number) => i !== d && v !== first[i])) {
      throw new RangeError(
        `cat: tensors[${j}] has shape ${fmtShape(s)}, which does not match ${fmtShape(first)} outside dim ${dim}`,
      );
    }
    total += s[d];
  }
  const { outer, inner } = around(first, d);
  const shape = first.slice();
  shape[d] = total;
  const y = new Float32Array(outer * total * inner);
  const starts: number[] = [];
  for (let j = 0, at = 0; j < tensors.length; j++) {
    const n = tensors[j].shape[d];
    starts.push(at);
    copySlices(tensors[j].data, n, 0, y, total, at, outer, inner, n, false);
    at += n;
  }
  return makeResult(y, shape, 'cat', tensors.slice(), (g) => {
    for (let j = 0; j < tensors.length; j++) {
      const t = tensors[j];
      if (!t.requiresGrad) continue;
      const n = t.shape[d];
      copySlices(g, total, starts[j], gradTarget(t).buf, n, 0, outer, inner, n, true);
    }
  });
}

/** The tensors, all of one shape, joined along a new dim (torch.stack). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('stack: tensors must be a non-empty array');
  tensors.forEach((t, i) => checkTensor(t, 'stack', `tensors[${i}]`));
  const first = tensors[0].shape;
  tensors.forEach((t, j) => {
    if (t.shape.length !== first.length || t.shape.some((v: number, i: number) => v !== first[i])) {
      throw new RangeError(`stack: tensors[${j}] has shape ${fmtShape(t.shape)}, expected ${fmtShape(first)}`);
    }
  });
  const d = normDim(checkInt('stack', 'dim', dim), first.length + 1, 'stack');
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/**
 * x cut along dim into pieces of splitSize slices (the last may be smaller), or of the sizes
 * listed, which must add up to the dim's size (torch.split).
 */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  checkTensor(x, 'split', 'x');
  if (x.shape.length === 0) throw new RangeError('split: x must have at least 1 dim, got a scalar');
  const d = normDim(checkInt('split', 'dim', dim), x.shape.length, 'split');
  const n = x.shape[d];
  let sizes: number[];
  if (Array.isArray(splitSize)) {
    sizes = splitSize.map((s) => checkInt('split', 'splitSize', s));
    if (sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== n) {
      throw new RangeError(`split: sizes [${sizes.join(',')}] must be >= 0 and add up to ${n}, the size of dim ${dim}`);
    }
  } else {
    const s = checkInt('split', 'splitSize', splitSize);
    if (s <= 0) throw new RangeError(`split: splitSize must be > 0, got ${s}`);
    sizes = [];
    for (let at = 0; at < n; at += s) sizes.push(Math.min(s, n - at));
    if (n === 0) sizes.push(0);
  }
  const out: Tensor[] = [];
  for (let j = 0, at = 0; j < sizes.length; at += sizes[j], j++) out.push(narrow(x, d, at, sizes[j]));
  return out;
}

/** x cut along dim into `chunks` pieces of ceil(size / chunks) slices; fewer when it divides so (torch.chunk). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  checkTensor(x, 'chunk', 'x');
  if (checkInt('chunk', 'chunks', chunks) <= 0) throw new RangeError(`chunk: chunks must be > 0, got ${chunks}`);
  if (x.shape.length === 0) throw new RangeError('chunk: x must have at least 1 dim, got a scalar');
  const d = normDim(checkInt('chunk', 'dim', dim), x.shape.length, 'chunk');
  return split(x, Math.max(1, Math.ceil(x.shape[d] / chunks)), d);
}

// ---- indexSelect / gather ------------------------------------------------------------------------

/** Integer indices from an Int32Array, an array of numbers or a tensor holding integers. */
function indicesOf(op: string, name: string, index: unknown, bound: number): Int32Array {
  let src: ArrayLike<number>;
  if (index instanceof Int32Array || Array.isArray(index)) src = index;
  else if (index instanceof Tensor) src = index.data;
  else throw new TypeError(`${op}: ${name} must be an Int32Array, an array of integers or a Tensor`);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    let v = src[i];
    if (!Number.isInteger(v) || v < -bound || v >= bound) {
      throw new RangeError(`${op}: ${name}[${i}] = ${v} is out of range for a dim of size ${bound}`);
    }
    if (v < 0) v += bound;
    out[i] = v;
  }
  return out;
}

/**
 * The slices of x along dim at the given indices, in order, repeats allowed (torch.index_select;
 * negative indices count from the end). The gradient of a repeated slice is summed.
 */
export function indexSelect(x: Tensor, dim: number, index: Int32Array | readonly number[] | Tensor): Tensor {
  checkTensor(x, 'indexSelect', 'x');
  const nd = x.shape.length;
  const d = normDim(checkInt('indexSelect', 'dim', dim), nd, 'indexSelect');
  const { outer, n, inner } = nd === 0 ? { outer: 1, n: 1, inner: 1 } : around(x.shape, d);
  const idx = indicesOf('indexSelect', 'index', index, n);
  const m = idx.length;
  const shape = nd === 0 ? [] : x.shape.slice();
  if (nd > 0) shape[d] = m;
  else if (m !== 1) throw new RangeError(`indexSelect: a scalar takes exactly one index, got ${m}`);
  const y = new Float32Array(outer * m * inner);
  for (let k = 0; k < m; k++) copySlices(x.data, n, idx[k], y, m, k, outer, inner, 1, false);
  return makeResult(y, shape, 'indexSelect', [x], (g) => {
    const dx = gradTarget(x).buf;
    for (let k = 0; k < m; k++) copySlices(g, m, k, dx, n, idx[k], outer, inner, 1, true);
  });
}

/**
 * out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (and likewise for the other dims), as
 * torch.gather: index is a tensor holding integers, with x's rank and no dim larger than x's
 * except along dim. The gradient is scattered back, summed where indices repeat.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkTensor(x, 'gather', 'x');
  checkTensor(index, 'gather', 'index');
  const nd = x.shape.length;
  const d = normDim(checkInt('gather', 'dim', dim), nd, 'gather');
  const is = index.shape;
  if (is.length !== nd || is.some((s, i) => i !== d && s > x.shape[i])) {
    throw new RangeError(
      `gather: index of shape ${fmtShape(is)} must have the rank of x ${fmtShape(x.shape)} and no larger dims but dim ${dim}`,
    );
  }
  const n = nd === 0 ? 1 : x.shape[d];
  const idx = indicesOf('gather', 'index', index, n);
  // source offset of each output element: its position in x along the other dims, plus the index along dim
  const xStride = stridesOf(x.shape);
  const src = stridedOffsets(
    is,
    xStride.map((s, i) => (i === d ? 0 : s)),
  );
  const sd = nd === 0 ? 0 : xStride[d];
  for (let p = 0; p < idx.length; p++) src[p] += idx[p] * sd;
  const y = new Float32Array(idx.length);
  for (let p = 0; p < y.length; p++) y[p] = x.data[src[p]];
  return makeResult(y, is, 'gather', [x], (g) => {
    const dx = gradTarget(x).buf;
    for (let p = 0; p < g.length; p++) dx[src[p]] += g[p];
  });
}

// ---- pad -----------------------------------------------------------------------------------------

/**
 * x padded with a constant, as torch.nn.functional.pad in 'constant' mode: pad lists
 * (before, after) pairs starting from the last dim, [left, right, top, bottom, ...]. Negative
 * pads (cropping) are refused; use narrow.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  checkTensor(x, 'pad', 'x');
  const nd = x.shape.length;
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length > 2 * nd) {
    throw new RangeError(`pad: pads must list (before, after) pairs for at most ${nd} dims, got ${String(pads)}`);
  }
  pads.forEach((p, i) => {
    if (checkInt('pad', `pads[${i}]`, p) < 0) throw new RangeError(`pad: pads[${i}] must be >= 0, got ${p}`);
  });
  if (typeof value !== 'number') throw new TypeError(`pad: value must be a number, got ${typeof value}`);
  const before = new Array<number>(nd).fill(0);
  const shape = x.shape.slice();
  for (let j = 0; j < pads.length / 2; j++) {
    const d = nd - 1 - j;
    before[d] = pads[2 * j];
    shape[d] += pads[2 * j] + pads[2 * j + 1];
  }
  const y = new Float32Array(size(shape)).fill(value);
  // x's rows (its last dim) land at these offsets of y
  const L = nd === 0 ? 1 : x.shape[nd - 1];
  const yStride = stridesOf(shape);
  let start = 0;
  for (let i = 0; i < nd; i++) start += before[i] * yStride[i];
  const offs = x.data.length === 0 ? new Int32Array(0) : stridedOffsets(x.shape.slice(0, -1), yStride.slice(0, -1));
  for (let r = 0; r < offs.length; r++) offs[r] += start;
  for (let r = 0; r < offs.length; r++) y.set(x.data.subarray(r * L, (r + 1) * L), offs[r]);
  return makeResult(y, shape, 'pad', [x], (g) => {
    const dx = new Float32Array(x.data.length);
    for (let r = 0; r < offs.length; r++) dx.set(g.subarray(offs[r], offs[r] + L), r * L);
    accumulateGrad(x, dx, true);
  });
}
