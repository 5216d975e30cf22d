/**
 * nn.Module: a tree of modules holding parameters, with PyTorch's naming. A parameter
 * registered as `weight` in the module registered as `0` of a Sequential is `0.weight`, and
 * `stateDict()` / `loadStateDict()` use those names, so a state dict moves between nodegrad and
 * torch.nn.Sequential unchanged.
 *
 * Buffers are the module's state that is not trained (BatchNorm's running statistics): no
 * optimizer sees them, and the persistent ones are in the state dict after the parameters of
 * their module, as torch orders them (`1.weight, 1.bias, 1.running_mean, ...`).
 */
import { inspect } from 'node:util';
import { type Tensor, fmtShape, type Size2, type MaxPool2dOptions, type AvgPool2dOptions } from '../tensor/index.js';
import { releaseGrad } from '../tensor/grad-buffers.js';
import { checkOptions, optionKeys } from '../options.js';
import { summarize } from './summary.js';
import type { BatchNormSpec } from './norm.js';

/** Name -> tensor, in registration order. The tensors share the parameters' data. */
export type StateDict = Record<string, Tensor>;

/** A serialisable description of a module (what `moduleFromSpec` rebuilds). */
export type ModuleSpec =
  | { type: 'Linear'; inFeatures: number; outFeatures: number; bias: boolean }
  | { type: 'ReLU' | 'Sigmoid' | 'Tanh' | 'Flatten' }
  | { type: 'Dropout'; p: number }
  | { type: 'Sequential'; layers: ModuleSpec[] }
  | {
      type: 'LayerNorm';
      /** The trailing dims normalised over. */
      normalizedShape: number[];
      /** Added to the variance. */
      eps: number;
      /** Whether weight (and bias) are learned. */
      elementwiseAffine: boolean;
      /** Whether the bias is learned (with elementwiseAffine). */
      bias: boolean;
    }
  | {
      type: 'Embedding';
      /** Rows of the table. */
      numEmbeddings: number;
      /** Length of each row. */
      embeddingDim: number;
      /** The row that gets no gradient, or null. */
      paddingIdx: number | null;
      /** The norm rows are rescaled to when above it, or null. */
      maxNorm: number | null;
      /** The p of that norm. */
      normType: number;
    }
  | { type: 'Dropout2d'; p: number }
  | BatchNormSpec
  | {
      type: 'Conv2d';
      /** Input channels. */
      inChannels: number;
      /** Output channels (filters). */
      outChannels: number;
      /** The filter's [kH, kW] (or one number). */
      kernelSize: Size2;
      /** As conv2d's options. */
      stride: Size2;
      /** As conv2d's options. */
      padding: Size2 | 'same' | 'valid';
      /** As conv2d's options. */
      dilation: Size2;
      /** As conv2d's options. */
      groups: number;
      /** Whether the layer has a bias. */
      bias: boolean;
    }
  | ({
      type: 'MaxPool2d';
      /** The window. */
      kernelSize: Size2;
    } & MaxPool2dOptions)
  | ({
      type: 'AvgPool2d';
      /** The window. */
      kernelSize: Size2;
    } & AvgPool2dOptions)
  | {
      type: 'AdaptiveAvgPool2d';
      /** [Ho, Wo] or one number; null keeps the input's size. */
      outputSize: number | [number | null, number | null];
    };

export const LOAD_STATE_DICT_KEYS = optionKeys<Parameters<Module['loadStateDict']>[1]>()('strict');

/** Options of registerBuffer(). */
export interface BufferOptions {
  /** In the state dict (and so in saved files) when true, the default; false for derived state. */
  persistent?: boolean;
  /**
   * The element type files store it as: 'int64' for counters (BatchNorm's num_batches_tracked
   * is an int64 in PyTorch; in memory it stays a float32 tensor, exact up to 2^24). Default
   * 'float32'.
   */
  dtype?: 'float32' | 'int64';
}
export const BUFFER_KEYS = optionKeys<BufferOptions>()('persistent', 'dtype');

interface StateEntry {
  name: string;
  tensor: Tensor;
  buffer: boolean;
  int64: boolean;
}

interface BufferEntry {
  tensor: Tensor | null;
  persistent: boolean;
  int64: boolean;
}

/**
 * The base of every layer and model (torch.nn.Module): a tree of child modules and parameters with PyTorch's dotted
 * names, training/eval mode and state dicts. Subclasses implement forward() and spec().
 */
export abstract class Module {
  /** True in training mode (Dropout drops), false after eval(). */
  training = true;
  private readonly _params = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();
  private readonly _buffers = new Map<string, BufferEntry>();

  /**
   * Computes the module's output for a batch x (its first dimension is the batch); called directly, as model.forward(x)
   * (PyTorch's model(x)).
   */
  abstract forward(x: Tensor): Tensor;

  /** The module's description for saving and for building it again elsewhere. */
  abstract spec(): ModuleSpec;

  /** Registers a parameter (a leaf tensor that requires grad) under `name`. */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (name.includes('.') || name === '')
      throw new RangeError(`parameter name must be non-empty without '.', got '${name}'`);
    if (t !== null) t.requiresGrad = true;
    this._params.set(name, t);
    return t;
  }

  /**
   * Registers a buffer: state that forward() reads or updates but no optimizer trains (as
   * torch's register_buffer). Registering a name again replaces the tensor (null: none, and
   * not in the state dict); `persistent: false` keeps it out of the state dict.
   */
  protected registerBuffer(name: string, t: Tensor | null, opts: BufferOptions = {}): Tensor | null {
    checkOptions('registerBuffer', opts, BUFFER_KEYS);
    if (name.includes('.') || name === '')
      throw new RangeError(`buffer name must be non-empty without '.', got '${name}'`);
    if (this._params.has(name)) throw new RangeError(`'${name}' is already a parameter`);
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'int64')
      throw new RangeError(`registerBuffer: dtype must be 'float32' or 'int64', got ${String(dtype)}`);
    this._buffers.set(name, { tensor: t, persistent: opts.persistent ?? true, int64: dtype === 'int64' });
    return t;
  }

  /** Registers a child module under `name`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    if (name.includes('.') || name === '')
      throw new RangeError(`module name must be non-empty without '.', got '${name}'`);
    if (!(m instanceof Module)) throw new TypeError(`module '${name}' must be an nn.Module`);
    this._modules.set(name, m);
    return m;
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this._modules.entries()];
  }

  /** Direct child modules, in registration order. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  /** Every parameter below this module with its dotted name, each tensor once. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, pre: string): void => {
      for (const [name, p] of m._params) {
        if (p !== null && !seen.has(p)) {
          seen.add(p);
          out.push([pre + name, p]);
        }
      }
      for (const [name, child] of m._modules) walk(child, `${pre}${name}.`);
    };
    walk(this, prefix === '' ? '' : `${prefix}.`);
    return out;
  }

  /** Every buffer below this module with its dotted name (persistent or not), each tensor once. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, pre: string): void => {
      for (const [name, b] of m._buffers) {
        if (b.tensor !== null && !seen.has(b.tensor)) {
          seen.add(b.tensor);
          out.push([pre + name, b.tensor]);
        }
      }
      for (const [name, child] of m._modules) walk(child, `${pre}${name}.`);
    };
    walk(this, prefix === '' ? '' : `${prefix}.`);
    return out;
  }

  /** Every buffer below this module, in registration order. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /**
   * What the state dict holds, in torch's order: each module's parameters, then its persistent
   * buffers, then its children's; `int64` marks the buffers files store as I64.
   */
  private stateEntries(): StateEntry[] {
    const out: StateEntry[] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, pre: string): void => {
      for (const [name, p] of m._params) {
        if (p !== null && !seen.has(p)) {
          seen.add(p);
          out.push({ name: pre + name, tensor: p, buffer: false, int64: false });
        }
      }
      for (const [name, b] of m._buffers) {
        if (b.tensor !== null && b.persistent)
          out.push({ name: pre + name, tensor: b.tensor, buffer: true, int64: b.int64 });
      }
      for (const [name, child] of m._modules) walk(child, `${pre}${name}.`);
    };
    walk(this, '');
    return out;
  }

  /** @internal The state dict's entries that files store as int64 (save() writes them as I64). */
  int64StateKeys(): Set<string> {
    return new Set(
      this.stateEntries()
        .filter((e) => e.int64)
        .map((e) => e.name),
    );
  }

  /**
   * Every parameter below this module, each tensor once, in registration order: what an optimizer
   * takes. With `recurse` false, only those registered on this module itself (as torch's).
   */
  parameters(recurse = true): Tensor[] {
    if (!recurse) return [...this._params.values()].filter((p): p is Tensor => p !== null);
    return this.namedParameters().map(([, p]) => p);
  }

  /** Sets training mode on this module and every module below it. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this._modules.values()) m.train(mode);
    return this;
  }

  /**
   * Switches this module and every module below it to evaluation mode (Dropout becomes the identity); same as
   * train(false). Returns this.
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Clears the gradients of every parameter (sets them to null, like set_to_none=True); the
   * buffers are kept for the next backward to overwrite (see Optimizer.zeroGrad).
   */
  zeroGrad(): void {
    for (const p of this.parameters()) releaseGrad(p);
  }

  /**
   * The parameters and persistent buffers by dotted name, in torch's order (each module's
   * parameters, then its buffers, then its children's); the tensors share their data (detached).
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const e of this.stateEntries()) out[e.name] = e.tensor.detach();
    return out;
  }

  /**
   * Copies values into the parameters and persistent buffers. Refuses (and changes nothing) when entries are
   * missing, unexpected or wrongly shaped, naming them all. Entries may be tensors or
   * `{ shape, data }` records (what `load()` returns).
   */
  loadStateDict(
    state: Record<string, { shape: readonly number[]; data: Float32Array }>,
    opts: { strict?: boolean } = {},
  ): void {
    checkOptions('loadStateDict', opts, LOAD_STATE_DICT_KEYS);
    const strict = opts.strict ?? true;
    const entries = this.stateEntries();
    const own = new Map(entries.map((e): [string, Tensor] => [e.name, e.tensor]));
    const buffers = new Set(entries.filter((e) => e.buffer).map((e) => e.name));
    const problems: string[] = [];
    const missing = [...own.keys()].filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !own.has(k));
    if (strict && missing.length > 0) problems.push(`missing: ${missing.join(', ')}`);
    if (strict && unexpected.length > 0) problems.push(`unexpected: ${unexpected.join(', ')}`);
    for (const [name, p] of own) {
      const s = state[name];
      if (s === undefined) continue;
      if (!(s.data instanceof Float32Array)) {
        problems.push(`${name}: data must be a Float32Array`);
      } else if (s.data.length !== numel(s.shape)) {
        // a flat buffer under a borrowed shape: its size is all there is to report
        problems.push(
          `${name}: ${s.data.length} values do not fill shape ${fmtShape(s.shape)} (${numel(s.shape)} values)`,
        );
      } else if (!sameShape(s.shape, p.shape)) {
        problems.push(
          `${name}: shape ${fmtShape(s.shape)} does not match the ${buffers.has(name) ? 'buffer' : 'parameter'}'s ${fmtShape(p.shape)}`,
        );
      }
    }
    if (problems.length > 0) throw new RangeError(`loadStateDict: ${problems.join('; ')}`);
    for (const [name, p] of own) {
      const s = state[name];
      if (s !== undefined) p.data.set(s.data);
    }
  }

  /** Number of parameter elements. */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.numel;
    return n;
  }

  /**
   * A table of the layers, as Keras's summary() and torchinfo print it: each module with the
   * shape of its output for an input of `inputShape` (one sample's shape; the first Linear's
   * inFeatures when omitted), its parameter count, and the totals with their size as float32.
   * The shapes come from a forward pass on zeros under noGrad in eval mode (training flags and
   * the random generator are left as they were).
   */
  summary(inputShape?: readonly number[]): string {
    return summarize(this, inputShape);
  }

  /** One line for a leaf module; children indented below, like PyTorch's repr. */
  protected extraRepr(): string {
    return '';
  }

  /** The module in a few words, as errors name it: `Linear(64 -> 32)`, `ReLU`. */
  describe(): string {
    return this.constructor.name;
  }

  /** What `console.log(module)` prints: the same as toString(). */
  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * PyTorch-style description: one line for a leaf module, children indented below, e.g. `Linear(in_features=64,
   * out_features=10, bias=True)`.
   */
  toString(): string {
    const name = this.constructor.name;
    const kids = this.namedChildren();
    if (kids.length === 0) return `${name}(${this.extraRepr()})`;
    const lines = kids.map(([k, m]) => `  (${k}): ${m.toString().split('\n').join('\n  ')}`);
    return `${name}(\n${lines.join('\n')}\n)`;
  }
}

// An error already located by an inner module: its path below the module that caught it, and
// the message as the leaf gave it.
const located = new WeakMap<Error, { path: string; detail: string }>();

/**
 * Rethrows an error that child `name` raised, its message prefixed with the child's path and
 * description (`0: Linear(64 -> 32) got an input with 63 features ...`, `1.0: ReLU: ...` from a
 * nested Sequential), so the user reads which of their layers failed, not which internal op.
 * The error keeps its class and its stack.
 */
export function rethrowFromChild(e: unknown, name: string, child: Module): never {
  if (!(e instanceof Error)) throw e;
  const inner = located.get(e);
  const path = inner === undefined ? name : `${name}.${inner.path}`;
  const what = child.describe();
  const detail = inner?.detail ?? (e.message.startsWith(what) ? e.message : `${what}: ${e.message}`);
  const message = `${path}: ${detail}`;
  if (typeof e.stack === 'string') e.stack = e.stack.replace(e.message, message);
  e.message = message;
  located.set(e, { path, detail });
  throw e;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
