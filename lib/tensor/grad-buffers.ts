/**
 * Gradient buffers: a pool for intermediate gradients, a spare for each leaf.
 *
 * Tensors are plain GC objects. Gradients of intermediate tensors live only during the
 * backward walk, but a training step should not allocate its gradient buffers afresh (a large
 * typed array costs a zeroing pass and page faults): an intermediate gradient that no parent
 * adopted goes back to a small pool keyed by size once its closure has run, and the next walk
 * takes its buffers from there; a leaf's gradient cleared by an optimizer's `zeroGrad()` is
 * kept as that leaf's spare and overwritten by its next backward (see `releaseGrad`).
 */
import { Tensor } from './tensor.js';

/** Buffers smaller than this come from V8's heap cheaply; the pool keeps only larger ones. */
const POOL_MIN = 1024;
/** At most this many idle buffers of one size, and this many bytes in all. */
const POOL_PER_SIZE = 4;
const POOL_MAX_BYTES = 64 * 1024 * 1024;
const pool = new Map<number, Float32Array[]>();
let poolBytes = 0;

/** From this many floats (64 KB) up, `uninitialized` skips the zero-fill. */
const UNINIT_MIN = 16384;

/**
 * @internal A new Float32Array of n floats whose contents are undefined, for an output that a
 * kernel overwrites whole: `new Float32Array(n)` zero-fills (calloc), which for the anchor
 * CNN's 12 MB of activations a step is a pass over memory the kernel then overwrites. Large
 * ones come from Buffer.allocUnsafeSlow (not pooled: offset 0, an ArrayBuffer of exactly n
 * floats, so releaseBuffer can recycle them); small ones are zeroed, which costs nothing.
 */
export function uninitialized(n: number): Float32Array {
  if (n < UNINIT_MIN) return new Float32Array(n);
  return new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
}

/** A buffer of n floats with undefined contents (the caller overwrites every element). */
function takeBuffer(n: number): Float32Array {
  if (n >= POOL_MIN) {
    const list = pool.get(n);
    if (list !== undefined && list.length > 0) {
      const b = list.pop()!;
      poolBytes -= b.byteLength;
      return b;
    }
  }
  return uninitialized(n);
}

/** @internal Gives a dead gradient buffer back (only whole buffers the pool may hand out again). */
export function releaseBuffer(b: Float32Array): void {
  const n = b.length;
  if (n < POOL_MIN || b.byteOffset !== 0 || b.buffer.byteLength !== b.byteLength) return;
  if (poolBytes + b.byteLength > POOL_MAX_BYTES) return;
  let list = pool.get(n);
  if (list === undefined) {
    list = [];
    pool.set(n, list);
  }
  if (list.length >= POOL_PER_SIZE) return;
  list.push(b);
  poolBytes += b.byteLength;
}

/** Grad tensors that autograd created for leaves (their buffers may be recycled by releaseGrad). */
const autogradGrads = new WeakSet<Tensor>();

/** @internal The buffer t's gradient accumulates into so far: a leaf's grad, a non-leaf's _gradBuf. */
export function currentBuf(t: Tensor): Float32Array | null {
  if (t.isLeaf) return t.grad !== null ? t.grad.data : null;
  return t._gradBuf;
}

function setBuf(t: Tensor, buf: Float32Array): void {
  if (t.isLeaf) {
    const g = new Tensor(buf, t.shape);
    autogradGrads.add(g);
    t.grad = g;
  } else {
    t._gradBuf = buf;
  }
}

/** A buffer for t's first gradient, contents undefined: the leaf's spare, or one from the pool. */
function freshBuf(t: Tensor): Float32Array {
  const n = t.data.length;
  const spare = t._spareGrad;
  if (spare !== null) {
    t._spareGrad = null;
    if (spare.length === n) return spare;
  }
  return takeBuffer(n);
}

/**
 * Clears a leaf's gradient (grad becomes null, as PyTorch's zero_grad(set_to_none=True)) and
 * keeps its buffer, when autograd made it, for the leaf's next backward to overwrite: a
 * training loop then allocates no gradient memory after its first step. The cleared tensor's
 * values are therefore not preserved; clone a gradient that must outlive the next backward.
 */
export function releaseGrad(t: Tensor): void {
  const g = t.grad;
  if (g === null) return;
  t.grad = null;
  if (autogradGrads.has(g) && g.data.length === t.data.length) t._spareGrad = g.data;
}

/**
 * Adds g into t's gradient buffer. When t has none yet, an `owned` g (freshly allocated by the
 * caller, referenced nowhere else) becomes the buffer; otherwise g is copied.
 */
export function accumulateGrad(t: Tensor, g: Float32Array, owned = false): void {
  if (!t.requiresGrad) return;
  const buf = currentBuf(t);
  if (buf === null) {
    if (g.length !== t.data.length)
      throw new Error(`internal: gradient of ${g.length} for a tensor of ${t.data.length}`);
    if (owned) {
      setBuf(t, g);
    } else {
      const copy = freshBuf(t);
      copy.set(g);
      setBuf(t, copy);
    }
    return;
  }
  for (let i = 0; i < buf.length; i++) buf[i] += g[i];
}

/**
 * The buffer to write t's gradient into, and the beta for a kernel that computes
 * `buf = beta * buf + ...`: 1 when a buffer already holds gradient (accumulate in place), 0
 * when a fresh one was just set up, filled with zeros (so adding into it is fine too).
 */
export function gradTarget(t: Tensor): { buf: Float32Array; beta: 0 | 1 } {
  const buf = currentBuf(t);
  if (buf !== null) return { buf, beta: 1 };
  const fresh = freshBuf(t);
  fresh.fill(0);
  setBuf(t, fresh);
  return { buf: fresh, beta: 0 };
}

/**
 * @internal gradTarget for kernels that overwrite every element when beta is 0 (gemm,
 * biasGrad with accumulate false): a fresh buffer is not zeroed first.
 */
export function gradOut(t: Tensor): { buf: Float32Array; beta: 0 | 1 } {
  const buf = currentBuf(t);
  if (buf !== null) return { buf, beta: 1 };
  const fresh = freshBuf(t);
  setBuf(t, fresh);
  return { buf: fresh, beta: 0 };
}

/** @internal a scratch buffer of n floats, contents undefined, for an owned gradient. */
export function gradScratch(n: number): Float32Array {
  return takeBuffer(n);
}
