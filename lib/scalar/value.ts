// Scalar reverse-mode autodiff: one `Value` per wire of the computational graph.
//
// Every op computes its output and, right beside it, the closure that applies the chain rule:
// each input's grad += upstream grad (out.grad) * local gradient (d out / d input).
// `backward()` sorts the graph topologically and runs those closures from the root down.

import { topologicalOrder } from '../graph/topo-sort.js';

/** A `Value` or a plain number; numbers are wrapped into unlabelled constant leaves. */
export type Operand = Value | number;

const noBackward = (): void => {};

/**
 * A scalar with reverse-mode autograd, micrograd style: build expressions with add, mul, tanh, ..., then call
 * backward() on the result to fill every input's grad. For teaching and checking; tensors do the real work.
 */
export class Value {
  /** The forward result. */
  data: number;
  /** d root / d this, filled in by `backward()` on some root that depends on this value. */
  grad = 0;
  /** '' for a leaf, otherwise the op that produced this value: 'add', 'mul', 'sigmoid', ... */
  readonly op: string;
  /** The inputs of the op, in order (`a.sub(b)` has parents [a, b]); empty for a leaf. */
  readonly parents: Value[];
  /** A name to show in drawings and messages ('x', 'w0'). */
  label?: string;
  /** Adds this value's contribution to its parents' grads; a no-op for leaves. */
  private backwardStep: () => void = noBackward;

  constructor(data: number, label?: string) {
    this.data = data;
    this.op = '';
    this.parents = [];
    if (label !== undefined) this.label = label;
  }

  /** Wraps a number into a constant leaf; returns a `Value` unchanged. */
  static from(x: Operand): Value {
    return x instanceof Value ? x : new Value(x);
  }

  /** Builds an op's output; `op` and `parents` are fixed once the node exists. */
  private static node(data: number, op: string, parents: Value[]): Value {
    const out = new Value(data);
    (out as { op: string }).op = op;
    (out as { parents: Value[] }).parents = parents;
    return out;
  }

  /** this + other; numbers are wrapped as constants. */
  add(other: Operand): Value {
    const b = Value.from(other);
    const out = Value.node(this.data + b.data, 'add', [this, b]);
    // add distributes: both inputs receive the upstream gradient unchanged.
    out.backwardStep = () => {
      this.grad += out.grad;
      b.grad += out.grad;
    };
    return out;
  }

  /** this - other. */
  sub(other: Operand): Value {
    const b = Value.from(other);
    const out = Value.node(this.data - b.data, 'sub', [this, b]);
    out.backwardStep = () => {
      this.grad += out.grad;
      b.grad -= out.grad;
    };
    return out;
  }

  /** this * other. */
  mul(other: Operand): Value {
    const b = Value.from(other);
    const out = Value.node(this.data * b.data, 'mul', [this, b]);
    // mul switches: each input receives the upstream gradient times the other input.
    out.backwardStep = () => {
      this.grad += b.data * out.grad;
      b.grad += this.data * out.grad;
    };
    return out;
  }

  /** this / other. */
  div(other: Operand): Value {
    const b = Value.from(other);
    const out = Value.node(this.data / b.data, 'div', [this, b]);
    out.backwardStep = () => {
      this.grad += out.grad / b.data;
      b.grad -= (out.grad * this.data) / (b.data * b.data);
    };
    return out;
  }

  /** -this. */
  neg(): Value {
    const out = Value.node(-this.data, 'neg', [this]);
    out.backwardStep = () => {
      this.grad -= out.grad;
    };
    return out;
  }

  /**
   * this ^ exponent. The exponent may be a `Value` too: d/db a^b = a^b ln a.
   * Like PyTorch: d/da is 0 where b = 0 (even at a = 0), d/db is 0 at a = 0 when b >= 0,
   * and d/db is NaN for a < 0 (a^b is not real for non-integer b near there).
   */
  pow(exponent: Operand): Value {
    const b = Value.from(exponent);
    const out = Value.node(this.data ** b.data, 'pow', [this, b]);
    out.backwardStep = () => {
      const da = b.data === 0 ? 0 : b.data * this.data ** (b.data - 1);
      const db = this.data === 0 && b.data >= 0 ? 0 : out.data * Math.log(this.data);
      this.grad += da * out.grad;
      b.grad += db * out.grad;
    };
    return out;
  }

  /** e to the power of this; the gradient is the result itself. */
  exp(): Value {
    const out = Value.node(Math.exp(this.data), 'exp', [this]);
    out.backwardStep = () => {
      this.grad += out.data * out.grad;
    };
    return out;
  }

  /** Natural log; like Math.log, log(0) = -Infinity and log(x < 0) = NaN. The gradient is 1/x. */
  log(): Value {
    const out = Value.node(Math.log(this.data), 'log', [this]);
    out.backwardStep = () => {
      this.grad += out.grad / this.data;
    };
    return out;
  }

  /** 1 / this. */
  recip(): Value {
    const out = Value.node(1 / this.data, 'recip', [this]);
    out.backwardStep = () => {
      this.grad -= out.grad * out.data * out.data;
    };
    return out;
  }

  /**
   * max routes: the whole upstream gradient goes to the larger input, none to the other.
   * On a tie it goes to the first input (`this`), so exactly one input is ever credited.
   */
  max(other: Operand): Value {
    const b = Value.from(other);
    const out = Value.node(Math.max(this.data, b.data), 'max', [this, b]);
    out.backwardStep = () => {
      if (b.data > this.data) b.grad += out.grad;
      else this.grad += out.grad;
    };
    return out;
  }

  /** max(0, this); the gradient at 0 is 0, as in PyTorch. */
  relu(): Value {
    const out = Value.node(this.data > 0 ? this.data : 0, 'relu', [this]);
    out.backwardStep = () => {
      if (this.data > 0) this.grad += out.grad;
    };
    return out;
  }

  /** One gate, 1 / (1 + e^-x), with the local gradient (1 - s) * s. */
  sigmoid(): Value {
    // exp of a non-positive number only, so it cannot overflow for large |x|.
    const e = Math.exp(-Math.abs(this.data));
    const s = this.data >= 0 ? 1 / (1 + e) : e / (1 + e);
    const out = Value.node(s, 'sigmoid', [this]);
    out.backwardStep = () => {
      this.grad += (1 - out.data) * out.data * out.grad;
    };
    return out;
  }

  /** Hyperbolic tangent; the local gradient is 1 - tanh^2. */
  tanh(): Value {
    const out = Value.node(Math.tanh(this.data), 'tanh', [this]);
    out.backwardStep = () => {
      this.grad += (1 - out.data * out.data) * out.grad;
    };
    return out;
  }

  /**
   * Fills in d this / d v for every v this depends on. Leaves accumulate across calls (call
   * `zeroGrad()` to start over); inner nodes are reset first, so a second call adds exactly
   * one more gradient to the leaves rather than re-propagating stale inner grads.
   */
  backward(): void {
    const order = topologicalOrder<Value>(this);
    for (const v of order) if (v.parents.length > 0) v.grad = 0;
    this.grad = 1;
    for (let i = order.length - 1; i >= 0; i--) order[i].backwardStep();
  }

  /** Sets the grad of this value and of everything it depends on to 0. */
  zeroGrad(): void {
    for (const v of topologicalOrder<Value>(this)) v.grad = 0;
  }

  /** `Value(label or op, data=..., grad=...)`, for printing and debugging. */
  toString(): string {
    const name = this.label ?? (this.op === '' ? 'const' : this.op);
    return `Value(${name}, data=${this.data}, grad=${this.grad})`;
  }
}
