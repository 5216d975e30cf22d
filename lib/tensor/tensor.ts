/**
 * Tensor: a row-major, contiguous Float32Array with a shape, plus the autograd graph.
 *
 * Graph: an op whose inputs need gradients (and that runs with grad mode on) records its
 * inputs in `parents` and, right beside its forward code, a closure applying the chain rule.
 * `backward()` sorts the graph topologically (iteratively, no recursion limit) and walks it in
 * reverse; each closure receives its output's gradient and accumulates (`+=`) into its
 * parents' gradient buffers. Leaves that require grad end up with `grad` holding the sum.
 *
 * Memory: tensors are plain GC objects. Gradients of intermediate tensors live only during
 * the walk, and each closure (with whatever it saved: masks, probabilities) is dropped after it
 * runs unless `retainGraph` is set, so a second backward through the same graph throws.
 * A training step should not allocate its gradient buffers afresh (a large typed array costs a
 * zeroing pass and page faults): an intermediate gradient that no parent adopted goes back to a
 * small pool keyed by size once its closure has run, and the next walk takes its buffers from
 * there; a leaf's gradient cleared by an optimizer's `zeroGrad()` is kept as that leaf's spare
 * and overwritten by its next backward (see `releaseGrad`).
 *
 * Tensors that need no gradient are leaves (op '' and no parents), like PyTorch: no graph is
 * kept for inference code or inside `noGrad`.
 */
import { globalRng, Rng } from '../random.js';
import { topologicalOrder } from '../graph/topo-sort.js';
import * as ops from './ops.js';
import * as red from './reduce.js';
import * as losses from './losses.js';

/**
 * Applies the chain rule for one op. `dout` is the gradient of the op's output and belongs to
 * the closure: it may overwrite it and hand it, once, to `accumulateGrad(parent, dout, true)`;
 * it must not keep it.
 */
export type BackwardFn = (dout: Float32Array) => void;

/** Nested arrays of numbers, as `tensor()` accepts and `toArray()` returns. */
export type NestedArray = number | NestedArray[];

let gradEnabled = true;

/** Whether ops currently record the graph (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs fn without building any graph: ops inside return tensors that do not require grad.
 * Nests, and restores the previous mode even when fn throws. fn must be synchronous (the mode
 * is restored when fn returns, not when a promise it returns settles).
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export class Tensor {
  /** The values, row-major; length is exactly numel. */
  data: Float32Array;
  /** Sizes of each dimension; [] for a scalar. */
  shape: number[];
  /** For leaves: whether backward() accumulates a gradient into `grad`. */
  requiresGrad: boolean;
  /** Accumulated gradient (same shape), or null before the first backward. */
  grad: Tensor | null = null;
  /** The op that produced this tensor; '' for leaves. */
  op = '';
  /** The op's inputs that require grad are among these; [] for leaves. */
  parents: Tensor[] = [];
  /** Optional name, shown by toString and graph drawings. */
  label?: string;

  /** @internal the chain-rule closure; null for leaves and once freed after backward */
  _backward: BackwardFn | null = null;
  /** @internal gradient buffer of a non-leaf during backward */
  _gradBuf: Float32Array | null = null;
  /** @internal keep this non-leaf's gradient in `grad` (see retainGrad) */
  _retainGrad = false;
  /** @internal a leaf's gradient buffer kept by releaseGrad, reused by its next backward */
  _spareGrad: Float32Array | null = null;

  /** Wraps data without copying; data.length must equal the product of shape. */
  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    if (!(data instanceof Float32Array)) throw new TypeError('data must be a Float32Array');
    const n = checkShape(shape, 'Tensor');
    if (data.length !== n) {
      throw new RangeError(`Tensor: data has ${data.length} elements, shape ${fmtShape(shape)} needs ${n}`);
    }
    this.data = data;
    this.shape = shape.slice();
    this.requiresGrad = requiresGrad;
  }

  /** Number of elements. */
  get numel(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** True for tensors not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.parents.length === 0;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new RangeError(`item: tensor has ${this.data.length} elements, expected 1`);
    return this.data[0];
  }

  /** The values as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const { data, shape } = this;
    if (shape.length === 0) return data[0];
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = new Array(shape[d]);
      if (d === shape.length - 1) {
        for (let i = 0; i < shape[d]; i++) out[i] = data[pos++];
      } else {
        for (let i = 0; i < shape[d]; i++) out[i] = build(d + 1);
      }
      return out;
    };
    return build(0);
  }

  toString(): string {
    const extras: string[] = [];
    if (this.op !== '') extras.push(`op=${this.op}`);
    else if (this.requiresGrad) extras.push('requiresGrad=true');
    if (this.label !== undefined) extras.push(`label='${this.label}'`);
    const body = formatValues(this);
    return `tensor(${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
  }

  /** A tensor sharing this one's data, cut from the graph (requiresGrad false). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A copy of the data, cut from the graph. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** Sets requiresGrad on a leaf; returns this. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf) throw new Error('requiresGrad_: only leaves can change requiresGrad (use detach())');
    this.requiresGrad = flag;
    return this;
  }

  /** Keeps this non-leaf's gradient in `grad` after backward (like torch's retain_grad). */
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error('retainGrad: tensor does not require grad');
    if (!this.isLeaf) this._retainGrad = true;
    return this;
  }

  /**
   * Backpropagates from this tensor. Without `grad` the tensor must have one element (the
   * seed is 1); otherwise `grad` has this tensor's shape. Gradients accumulate into the
   * `grad` of every leaf that requires grad. The graph's closures are freed as they run
   * unless `retainGraph`; a second backward through a freed graph throws.
   */
  backward(grad?: Tensor | Float32Array | null, opts: { retainGraph?: boolean } = {}): void {
    backward(this, grad ?? null, opts.retainGraph === true);
  }

  // ---- ops as methods (see ops.ts for the semantics) ----
  add(b: Tensor | number): Tensor { return ops.add(this, b); }
  sub(b: Tensor | number): Tensor { return ops.sub(this, b); }
  mul(b: Tensor | number): Tensor { return ops.mul(this, b); }
  div(b: Tensor | number): Tensor { return ops.div(this, b); }
  maximum(b: Tensor | number): Tensor { return ops.maximum(this, b); }
  minimum(b: Tensor | number): Tensor { return ops.minimum(this, b); }
  pow(exponent: number): Tensor { return ops.pow(this, exponent); }
  neg(): Tensor { return ops.neg(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  relu(): Tensor { return ops.relu(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  tanh(): Tensor { return ops.tanh(this); }
  matmul(b: Tensor): Tensor { return ops.matmul(this, b); }
  /** this W^T + b, this [N, in], W [out, in]. */
  linear(W: Tensor, b?: Tensor | null): Tensor { return ops.linear(this, W, b); }
  reshape(shape: readonly number[]): Tensor { return ops.reshape(this, shape); }
  transpose(): Tensor { return ops.transpose(this); }
  /** Same as transpose() (2-D). */
  get T(): Tensor { return ops.transpose(this); }
  sum(dim?: number | null, keepdim = false): Tensor { return red.sum(this, dim, keepdim); }
  mean(dim?: number | null, keepdim = false): Tensor { return red.mean(this, dim, keepdim); }
  max(dim?: number | null, keepdim = false): Tensor { return red.max(this, dim, keepdim); }
  argmax(dim = -1): Int32Array { return red.argmax(this, dim); }
  softmax(dim = -1): Tensor { return red.softmax(this, dim); }
  logSoftmax(dim = -1): Tensor { return red.logSoftmax(this, dim); }
  /** Cross-entropy of these logits [N, C] against labels (see losses.ts). */
  softmaxCrossEntropy(labels: losses.Labels): Tensor { return losses.softmaxCrossEntropy(this, labels); }
}

// ---------------------------------------------------------------------------------------------
// The graph: building it (ops call makeResult) and walking it (backward).

/**
 * Builds an op's output tensor. When grad mode is on and some parent requires grad, the
 * output requires grad, records `op` and `parents`, and keeps `backwardFn`; otherwise the
 * output is a plain leaf and backwardFn is dropped. This is also the mechanism for custom ops:
 * backwardFn receives the output's gradient and calls `accumulateGrad`/`gradTarget` for each
 * parent that requires grad.
 */
export function makeResult(
  data: Float32Array, shape: readonly number[], op: string, parents: Tensor[], backwardFn: BackwardFn,
): Tensor {
  const out = new Tensor(data, shape);
  if (gradEnabled) {
    for (let i = 0; i < parents.length; i++) {
      if (parents[i].requiresGrad) {
        out.requiresGrad = true;
        out.op = op;
        out.parents = parents;
        out._backward = backwardFn;
        break;
      }
    }
  }
  return out;
}

/** Whether an op on these inputs records the graph (grad mode on and an input requires grad). */
export function needsGrad(a: Tensor, b?: Tensor | null, c?: Tensor | null): boolean {
  return gradEnabled && (a.requiresGrad || (b != null && b.requiresGrad) || (c != null && c.requiresGrad));
}

// ---------------------------------------------------------------------------------------------
// Gradient buffers: a pool for intermediate gradients, a spare for each leaf.

/** Buffers smaller than this come from V8's heap cheaply; the pool keeps only larger ones. */
const POOL_MIN = 1024;
/** At most this many idle buffers of one size, and this many bytes in all. */
const POOL_PER_SIZE = 4;
const POOL_MAX_BYTES = 64 * 1024 * 1024;
const pool = new Map<number, Float32Array[]>();
let poolBytes = 0;

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
  return new Float32Array(n);
}

/** Gives a dead gradient buffer back (only whole buffers the pool may hand out again). */
function releaseBuffer(b: Float32Array): void {
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

function currentBuf(t: Tensor): Float32Array | null {
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
    if (g.length !== t.data.length) throw new Error(`internal: gradient of ${g.length} for a tensor of ${t.data.length}`);
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

const FREED =
  'backward: the graph was already freed by an earlier backward(); pass { retainGraph: true } to the first ' +
  'backward() to backpropagate through the same graph twice';

function backward(root: Tensor, grad: Tensor | Float32Array | null, retainGraph: boolean): void {
  if (!root.requiresGrad) {
    throw new Error('backward: tensor does not require grad (no input had requiresGrad, or it was built inside noGrad)');
  }
  let seed: Float32Array;
  if (grad === null) {
    if (root.data.length !== 1) {
      throw new RangeError(`backward: grad can be omitted only for one-element tensors, got shape ${fmtShape(root.shape)}`);
    }
    seed = new Float32Array([1]);
  } else {
    const g = grad instanceof Tensor ? grad.data : grad;
    if (!(g instanceof Float32Array)) throw new TypeError('backward: grad must be a Tensor or a Float32Array');
    if (g.length !== root.data.length) {
      throw new RangeError(`backward: grad has ${g.length} elements, tensor of shape ${fmtShape(root.shape)} has ${root.data.length}`);
    }
    seed = g.slice();
  }

  const order = topoSort(root);
  for (let i = 0; i < order.length; i++) {
    const t = order[i];
    if (!t.isLeaf && t._backward === null) throw new Error(FREED);
    t._gradBuf = null; // left over only if an earlier walk threw
  }
  accumulateGrad(root, seed, true);

  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.isLeaf) continue;
    const g = t._gradBuf;
    t._gradBuf = null;
    if (g === null) continue; // nothing flowed here
    const fn = t._backward!;
    if (!retainGraph) t._backward = null;
    if (t._retainGrad) {
      if (t.grad === null) t.grad = new Tensor(g.slice(), t.shape);
      else { const d = t.grad.data; for (let k = 0; k < d.length; k++) d[k] += g[k]; }
    }
    // g now belongs to the closure (it may overwrite it or hand it on)
    fn(g);
    // Unless a parent adopted it as its own gradient buffer, g is dead now: recycle it.
    const ps = t.parents;
    let adopted = false;
    for (let k = 0; k < ps.length; k++) if (currentBuf(ps[k]) === g) adopted = true;
    if (!adopted) releaseBuffer(g);
  }
}

/** The part of the graph that requires grad, inputs first (see topologicalOrder). */
function topoSort(root: Tensor): Tensor[] {
  return topologicalOrder(root, requiresGrad);
}

const requiresGrad = (t: Tensor): boolean => t.requiresGrad;

// ---------------------------------------------------------------------------------------------
// Shapes

/** Checks dims are non-negative integers; returns the element count. */
export function checkShape(shape: readonly number[], where: string): number {
  if (!Array.isArray(shape)) throw new TypeError(`${where}: shape must be an array of integers`);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${where}: shape ${fmtShape(shape)} has an invalid size ${d}`);
    n *= d;
  }
  return n;
}

/** `[2,3]`, as error messages show shapes. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

// ---------------------------------------------------------------------------------------------
// Factories

export interface TensorOptions {
  requiresGrad?: boolean;
}

type NumericArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array
  | Int32Array | Uint32Array;

/**
 * A tensor from a number, nested arrays of numbers, or a typed array (always copied). `shape`
 * reshapes the values (same element count); without it a typed array is 1-D. Ragged arrays
 * and non-numbers throw.
 */
export function tensor(
  values: NestedArray | NumericArray,
  opts: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  let data: Float32Array;
  let shape: number[];
  if (typeof values === 'number') {
    data = new Float32Array([values]);
    shape = [];
  } else if (ArrayBuffer.isView(values)) {
    data = Float32Array.from(values as ArrayLike<number>);
    shape = [data.length];
  } else if (Array.isArray(values)) {
    shape = inferShape(values);
    data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    flattenInto(values, shape, data);
  } else {
    throw new TypeError(`tensor: expected a number, nested arrays of numbers or a typed array, got ${describe(values)}`);
  }
  if (opts.shape !== undefined) {
    const n = checkShape(opts.shape, 'tensor');
    if (n !== data.length) {
      throw new RangeError(`tensor: shape ${fmtShape(opts.shape)} needs ${n} elements, got ${data.length}`);
    }
    shape = opts.shape.slice();
  }
  return new Tensor(data, shape, opts.requiresGrad === true);
}

function inferShape(values: NestedArray[]): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

function flattenInto(values: NestedArray[], shape: number[], out: Float32Array): void {
  let pos = 0;
  const path: number[] = [];
  const walk = (v: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (typeof v !== 'number') {
        const where = path.map((i) => `[${i}]`).join('');
        if (Array.isArray(v)) throw new RangeError(`tensor: ragged nested array: element ${where} is an array, expected a number`);
        throw new TypeError(`tensor: element ${where} is not a number (got ${describe(v)})`);
      }
      out[pos++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      const where = path.length ? path.map((i) => `[${i}]`).join('') : 'the top level';
      const got = Array.isArray(v) ? `length ${v.length}` : `a ${typeof v}`;
      throw new RangeError(`tensor: ragged nested array: ${where} has ${got}, expected length ${shape[d]}`);
    }
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      walk(v[i], d + 1);
      path.pop();
    }
  };
  walk(values, 0);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `'${v}'`;
  return typeof v;
}

/** A tensor of the given shape filled with value. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const n = checkShape(shape, 'full');
  const data = new Float32Array(n);
  if (value !== 0) data.fill(value);
  return new Tensor(data, shape, opts.requiresGrad === true);
}

export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return full(t.shape, 0, opts);
}

export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return full(t.shape, 1, opts);
}

export interface RandomOptions extends TensorOptions {
  /** Draw from a fresh generator seeded with this (the global generator is left alone). */
  seed?: number;
  /** Draw from this generator (ignored when seed is given). */
  rng?: Rng;
}

function pickRng(opts: RandomOptions): Rng {
  if (opts.seed !== undefined) return new Rng(opts.seed);
  return opts.rng ?? globalRng;
}

/** Standard normal values (times std, plus mean), from the global generator unless seeded. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const n = checkShape(shape, 'randn');
  const data = new Float32Array(n);
  pickRng(opts).fillNormal(data, opts.mean ?? 0, opts.std ?? 1);
  return new Tensor(data, shape, opts.requiresGrad === true);
}

/** Uniform values in [low, high) (default [0, 1)), from the global generator unless seeded. */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const n = checkShape(shape, 'rand');
  const data = new Float32Array(n);
  pickRng(opts).fillUniform(data, opts.low ?? 0, opts.high ?? 1);
  return new Tensor(data, shape, opts.requiresGrad === true);
}

/**
 * 1-D tensor start, start + step, ... up to but excluding end: `arange(end)` or
 * `arange(start, end, step = 1)`.
 */
export function arange(startOrEnd: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  let start = startOrEnd;
  if (end === undefined) {
    end = startOrEnd;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step)) {
    throw new RangeError(`arange: start, end and step must be finite, got ${start}, ${end}, ${step}`);
  }
  if (step === 0) throw new RangeError('arange: step must be non-zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n], opts.requiresGrad === true);
}

// ---------------------------------------------------------------------------------------------
// Printing

const SUMMARISE_OVER = 1000;
const EDGE = 3;

function formatValues(t: Tensor): string {
  const { data, shape } = t;
  if (shape.length === 0) return fmtNum(data[0]);
  const summarise = data.length > SUMMARISE_OVER;
  const strides: number[] = new Array(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const rec = (d: number, off: number, indent: string): string => {
    const n = shape[d];
    const idx: (number | null)[] = [];
    if (summarise && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else {
      for (let i = 0; i < n; i++) idx.push(i);
    }
    if (d === shape.length - 1) {
      return '[' + idx.map((i) => (i === null ? '...' : fmtNum(data[off + i]))).join(', ') + ']';
    }
    const sep = ',\n' + indent + ' ';
    return '[' + idx.map((i) => (i === null ? '...' : rec(d + 1, off + i * strides[d], indent + ' '))).join(sep) + ']';
  };
  return rec(0, 0, '       ');
}

function fmtNum(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e8) return v.toFixed(0) + '.';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e8)) return v.toExponential(4);
  return v.toFixed(4);
}
