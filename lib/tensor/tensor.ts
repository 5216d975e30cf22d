/**
 * Tensor: a row-major, contiguous Float32Array with a shape, plus its place in the autograd
 * graph (`op`, `parents`, the chain-rule closure).
 *
 * This is the core the other tensor modules build on, and it imports none of them:
 * ops, reductions, losses and `backward()` are attached to the prototype by methods.ts, which
 * lib/tensor/index.ts loads. Code that calls Tensor methods imports through index.ts.
 *
 * Tensors that need no gradient are leaves (op '' and no parents), like PyTorch: no graph is
 * kept for inference code or inside `noGrad` (see graph.ts).
 */
import { inspect } from 'node:util';
import { formatValues, isSummarised } from './format.js';
import { checkShape, fmtShape } from './shape.js';

/**
 * Applies the chain rule for one op. `dout` is the gradient of the op's output and belongs to
 * the closure: it may overwrite it and hand it, once, to `accumulateGrad(parent, dout, true)`;
 * it must not keep it.
 */
export type BackwardFn = (dout: Float32Array) => void;

/** Nested arrays of numbers, as `tensor()` accepts and `toArray()` returns. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional float32 array with reverse-mode autograd (torch.Tensor): operations on tensors that require grad
 * record a graph, and backward() fills the leaves' grad. Create one with tensor(), zeros(), randn(), ...
 */
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
  /** @internal the buffers the chain-rule closure reads (see version.ts), and their versions when it was made */
  _saved: readonly ArrayBufferView[] | null = null;
  /** @internal */
  _savedVersions: number[] | null = null;

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

  /**
   * PyTorch-style text, `tensor(<values>, ...)`: the values, then the op of a non-leaf or
   * requiresGrad of a leaf that has it, and the label if any.
   */
  toString(): string {
    const extras: string[] = [];
    if (isSummarised(this)) extras.push(`shape=${fmtShape(this.shape)}`);
    if (this.op !== '') extras.push(`gradFn=<${this.op[0].toUpperCase()}${this.op.slice(1)}Backward>`);
    else if (this.requiresGrad) extras.push('requiresGrad=true');
    if (this.label !== undefined) extras.push(`label='${this.label}'`);
    const body = formatValues(this);
    return `tensor(${body}${extras.length ? `, ${extras.join(', ')}` : ''})`;
  }

  /** What `console.log(tensor)` prints: the same as toString(), PyTorch's repr. */
  [inspect.custom](): string {
    return this.toString();
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
}

/** Throws a TypeError naming op (and the parameter, when given) unless x is a Tensor. */
export function checkTensor(x: unknown, op: string, name?: string): asserts x is Tensor {
  if (x instanceof Tensor) return;
  const got = x === null ? 'null' : typeof x;
  throw new TypeError(
    name === undefined ? `${op}: expected a Tensor, got ${got}` : `${op}: ${name} must be a Tensor, got ${got}`,
  );
}
