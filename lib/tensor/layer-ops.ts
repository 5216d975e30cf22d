/**
 * The ops behind nn.LayerNorm, nn.Embedding and nn.Dropout2d, with PyTorch's functional
 * signatures (torch.nn.functional.layer_norm, embedding, dropout2d). LayerNorm and Embedding run
 * on the backend's kernels (layerNorm, embedding and their backwards); Dropout2d is a broadcast
 * multiply by a per-channel mask.
 */
import { kernels } from '../backend/index.js';
import { checkOptions, optionKeys, quote } from '../options.js';
import { globalRng } from '../random.js';
import { accumulateGrad, gradOut, gradScratch } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { mul } from './ops.js';
import { fmtShape } from './shape.js';
import { checkTensor, Tensor } from './tensor.js';

/** The trailing dims layerNorm normalises over: a size or a list of sizes. */
export type NormalizedShape = number | readonly number[];

/** normalizedShape as a checked list of sizes (each an integer >= 1). */
export function normalizedDims(op: string, shape: NormalizedShape): number[] {
  const dims = typeof shape === 'number' ? [shape] : Array.isArray(shape) ? shape.slice() : null;
  if (dims === null || dims.length === 0) {
    throw new TypeError(`${op}: normalizedShape must be a size or a non-empty array of sizes, got ${quote(shape)}`);
  }
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1) {
      throw new RangeError(`${op}: normalizedShape must hold integers >= 1, got ${fmtShape(dims)}`);
    }
  }
  return dims;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Layer normalisation over the last dims of x (torch.nn.functional.layer_norm): each slice of
 * shape normalizedShape is shifted to mean 0 and scaled to variance 1 (the biased variance, plus
 * eps), then multiplied by weight and shifted by bias when given (both of shape normalizedShape).
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: NormalizedShape,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = 'layerNorm';
  checkTensor(x, op, 'x');
  const dims = normalizedDims(op, normalizedShape);
  if (x.ndim < dims.length || !sameDims(x.shape.slice(x.ndim - dims.length), dims)) {
    throw new RangeError(`${op}: x of shape ${fmtShape(x.shape)} does not end with normalizedShape ${fmtShape(dims)}`);
  }
  const w = weight ?? null,
    b = bias ?? null;
  for (const [name, t] of [
    ['weight', w],
    ['bias', b],
  ] as const) {
    if (t === null) continue;
    checkTensor(t, op, name);
    if (!sameDims(t.shape, dims)) {
      throw new RangeError(
        `${op}: ${name} must have shape normalizedShape ${fmtShape(dims)}, got ${fmtShape(t.shape)}`,
      );
    }
  }
  checkEps(op, eps);
  let D = 1;
  for (const d of dims) D *= d;
  const N = x.numel / D;
  const y = new Float32Array(x.numel);
  const mean = new Float32Array(N);
  const rstd = new Float32Array(N);
  kernels().layerNorm(x.data, w?.data ?? null, b?.data ?? null, N, D, eps, w !== null, b !== null, y, mean, rstd);
  const parents = [x];
  if (w !== null) parents.push(w);
  if (b !== null) parents.push(b);
  return makeResult(
    y,
    x.shape,
    op,
    parents,
    (g) => {
      // The parameter gradients go straight into their buffers. The kernel has one accumulate
      // flag: when one buffer is fresh (uninitialised) and the other holds a gradient, the
      // latter gets scratch and the sum is added by hand. A parameter that needs no gradient
      // gets scratch too (the kernel writes D floats there either way).
      const tw = w?.requiresGrad ? gradOut(w) : null;
      const tb = b?.requiresGrad ? gradOut(b) : null;
      const accumulate = tw?.beta !== 0 && tb?.beta !== 0;
      const target = (t: { buf: Float32Array; beta: number } | null, p: Tensor | null) =>
        p === null ? null : t === null || (t.beta === 1 && !accumulate) ? gradScratch(D) : t.buf;
      const dw = target(tw, w),
        db = target(tb, b);
      const k = kernels();
      k.layerNormBackward(g, x.data, mean, rstd, w?.data ?? null, N, D, w !== null, b !== null, g, dw, db, accumulate);
      if (!accumulate && tw?.beta === 1) addInto(tw.buf, dw!);
      if (!accumulate && tb?.beta === 1) addInto(tb.buf, db!);
      accumulateGrad(x, g, true);
    },
    w !== null ? [x.data, w.data] : [x.data],
  );
}

/** Throws unless eps is a finite number >= 0 (the message names op). */
export function checkEps(op: string, eps: unknown): number {
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new RangeError(`${op}: eps must be a finite number >= 0, got ${quote(eps)}`);
  }
  return eps;
}

function addInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/** Options of embedding() (torch.nn.functional.embedding's padding_idx, max_norm, norm_type). */
export interface EmbeddingOptions {
  /**
   * The row that gets no gradient (its output still reads the row); negative counts from the
   * end, as in PyTorch. Default: none.
   */
  paddingIdx?: number | null;
  /** Rows looked up whose norm exceeds this are rescaled in place to this norm first. Default: none. */
  maxNorm?: number | null;
  /** The p of the norm maxNorm bounds (default 2). */
  normType?: number;
}

export const EMBEDDING_KEYS = optionKeys<EmbeddingOptions>()('paddingIdx', 'maxNorm', 'normType');

/** Indices: an Int32Array, an array of integers, or a tensor holding integers (any shape). */
export type Indices = Int32Array | readonly number[] | Tensor;

/**
 * Indices as a private Int32Array (each value read once, so memory another thread shares cannot
 * change an index after its check, and the backward reads the same copy) and the output's
 * leading shape.
 */
function embeddingIndices(op: string, indices: Indices, V: number): { idx: Int32Array; shape: number[] } {
  let src: ArrayLike<number>;
  let shape: number[];
  if (indices instanceof Tensor) {
    src = indices.data;
    shape = indices.shape.slice();
  } else if (indices instanceof Int32Array || Array.isArray(indices)) {
    src = indices as ArrayLike<number>;
    shape = [src.length];
  } else {
    throw new TypeError(
      `${op}: indices must be an Int32Array, an array of integers or a Tensor, got ${quote(indices)}`,
    );
  }
  const n = src.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = src[i];
    if (!Number.isInteger(v) || v < 0 || v >= V) {
      throw new RangeError(`${op}: indices[${i}] = ${String(v)} is out of range [0, ${V})`);
    }
    idx[i] = v;
  }
  return { idx, shape };
}

/**
 * Rows of weight ([V, D]) picked by indices (torch.nn.functional.embedding): the output has the
 * indices' shape plus D. The gradient of weight adds the output gradient into each indexed row
 * (repeated indices add up), except the paddingIdx row, which gets none.
 */
export function embedding(indices: Indices, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  const op = 'embedding';
  checkOptions(op, opts, EMBEDDING_KEYS);
  checkTensor(weight, op, 'weight');
  if (weight.ndim !== 2) throw new RangeError(`${op}: weight must be 2-D [V, D], got ${fmtShape(weight.shape)}`);
  const [V, D] = weight.shape;
  const padding = paddingIndex(op, opts.paddingIdx, V);
  const { idx, shape } = embeddingIndices(op, indices, V);
  const N = idx.length;
  if (opts.maxNorm !== undefined && opts.maxNorm !== null) renorm(op, weight, idx, opts.maxNorm, opts.normType ?? 2);
  else if (opts.normType !== undefined) positiveNumber(op, 'normType', opts.normType);
  const y = new Float32Array(N * D);
  kernels().embedding(weight.data, idx, N, V, D, y);
  return makeResult(y, [...shape, D], op, [weight], (g) => {
    const t = gradOut(weight);
    kernels().embeddingBackward(g, idx, N, V, D, padding, t.buf, t.beta === 1);
  });
}

/** paddingIdx in [-V, V) as a row number, or -1 for none (the kernel's convention). */
export function paddingIndex(op: string, p: number | null | undefined, V: number): number {
  if (p === undefined || p === null) return -1;
  if (!Number.isInteger(p) || p < -V || p >= V) {
    throw new RangeError(
      `${op}: paddingIdx must be an integer in [-${V}, ${V}) (numEmbeddings = ${V}), got ${quote(p)}`,
    );
  }
  return p < 0 ? p + V : p;
}

function positiveNumber(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`${op}: ${name} must be a finite number > 0, got ${quote(v)}`);
  }
  return v;
}

/**
 * PyTorch's embedding_renorm_: each distinct row looked up whose p-norm exceeds maxNorm is
 * scaled in place by maxNorm / (norm + 1e-7), outside autograd.
 */
function renorm(op: string, weight: Tensor, idx: Int32Array, maxNorm: number, normType: number): void {
  positiveNumber(op, 'maxNorm', maxNorm);
  positiveNumber(op, 'normType', normType);
  const D = weight.shape[1];
  const w = weight.data;
  const done = new Set<number>();
  for (const i of idx) {
    if (done.has(i)) continue;
    done.add(i);
    let s = 0;
    for (let d = 0; d < D; d++) s += Math.abs(w[i * D + d]) ** normType;
    const norm = Math.fround(s ** (1 / normType));
    if (norm > maxNorm) {
      const scale = Math.fround(maxNorm / (norm + 1e-7));
      for (let d = 0; d < D; d++) w[i * D + d] *= scale;
    }
  }
}

/** The per-channel dropout mask's shape for x: [N, C, 1, 1] for [N, C, H, W], [C, 1, 1] for [C, H, W]. */
function channelMaskShape(op: string, x: Tensor): number[] {
  if (x.ndim === 4) return [x.shape[0], x.shape[1], 1, 1];
  if (x.ndim === 3) return [x.shape[0], 1, 1];
  throw new RangeError(`${op}: x must be [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
}

/**
 * Channel dropout (torch.nn.functional.dropout2d): in training, each channel of each sample
 * (each [H, W] plane) is zeroed with probability p, the others scaled by 1 / (1 - p); the
 * identity when not training. A [C, H, W] input is one unbatched sample (its C channels drop
 * independently; PyTorch 1.13 reads it as [N, C, L] and warns, newer PyTorch as here). The mask
 * is drawn from globalRng, so a seeded run drops the same channels.
 */
export function dropout2d(x: Tensor, p = 0.5, training = true): Tensor {
  const op = 'dropout2d';
  checkTensor(x, op, 'x');
  dropoutProbability(op, p);
  const maskShape = channelMaskShape(op, x);
  if (!training || p === 0) return x;
  const mask = new Float32Array(maskShape[0] * (x.ndim === 4 ? maskShape[1] : 1));
  if (p < 1) {
    const scale = 1 / (1 - p);
    for (let i = 0; i < mask.length; i++) mask[i] = globalRng.uniform() >= p ? scale : 0;
  }
  return mul(x, new Tensor(mask, maskShape));
}

/** Throws unless p is a probability (the message names op). */
export function dropoutProbability(op: string, p: unknown): void {
  if (typeof p !== 'number') throw new TypeError(`${op}: p must be a number in [0, 1], got ${quote(p)}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: p must be a number in [0, 1], got ${quote(p)}`);
}
