/** Creating tensors: from values, filled with a constant, random, or a range. Each returns a leaf. */
import { globalRng, Rng } from '../random.js';
import { checkShape, fmtShape } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';
import { checkOptions, optionKeys } from '../options.js';

/** Options every tensor-creating function takes. */
export interface TensorOptions {
  /**
   * Make the tensor a leaf whose gradient backward() accumulates in grad (torch's requires_grad). @defaultValue false
   */
  requiresGrad?: boolean;
  /**
   * The element type: only 'float32' exists (tensors are Float32Arrays); any other value throws a TypeError naming the
   * function, so code ported from PyTorch fails loudly instead of computing in another precision. @defaultValue 'float32'
   */
  dtype?: 'float32';
}
export const TENSOR_KEYS = optionKeys<TensorOptions>()('requiresGrad', 'dtype');
export const TENSOR_FROM_VALUES_KEYS = optionKeys<Parameters<typeof tensor>[1]>()('requiresGrad', 'dtype', 'shape');

/** Refuses every dtype but float32, naming the function and the argument. */
function checkDtype(op: string, dtype: unknown): void {
  if (dtype === undefined || dtype === 'float32') return;
  throw new TypeError(
    `${op}: dtype ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)} is not supported; nodegrad tensors are float32 only`,
  );
}

type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/**
 * A tensor from a number, nested arrays of numbers, or a typed array (always copied). `shape`
 * reshapes the values (same element count); without it a typed array is 1-D. Ragged arrays
 * and non-numbers throw.
 */
export function tensor(
  values: NestedArray | NumericArray,
  opts: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  checkOptions('tensor', opts, TENSOR_FROM_VALUES_KEYS);
  checkDtype('tensor', opts.dtype);
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
    throw new TypeError(
      `tensor: expected a number, nested arrays of numbers or a typed array, got ${describe(values)}`,
    );
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
        if (Array.isArray(v))
          throw new RangeError(`tensor: ragged nested array: element ${where} is an array, expected a number`);
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
  checkOptions('full', opts, TENSOR_KEYS);
  checkDtype('full', opts.dtype);
  const n = checkShape(shape, 'full');
  const data = new Float32Array(n);
  if (value !== 0) data.fill(value);
  return new Tensor(data, shape, opts.requiresGrad === true);
}

/** A tensor of the given shape filled with 0 (torch.zeros). */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  checkOptions('zeros', opts, TENSOR_KEYS);
  checkDtype('zeros', opts.dtype);
  return full(shape, 0, opts);
}

/** A tensor of the given shape filled with 1 (torch.ones). */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  checkOptions('ones', opts, TENSOR_KEYS);
  checkDtype('ones', opts.dtype);
  return full(shape, 1, opts);
}

/** A tensor of t's shape filled with 0 (torch.zeros_like); t's requiresGrad is not copied. */
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  checkOptions('zerosLike', opts, TENSOR_KEYS);
  checkDtype('zerosLike', opts.dtype);
  return full(t.shape, 0, opts);
}

/** A tensor of t's shape filled with 1 (torch.ones_like); t's requiresGrad is not copied. */
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  checkOptions('onesLike', opts, TENSOR_KEYS);
  checkDtype('onesLike', opts.dtype);
  return full(t.shape, 1, opts);
}

/**
 * Options of randn() and rand(): where the random values come from. @defaultValue the global generator (see manualSeed)
 */
export interface RandomOptions extends TensorOptions {
  /** Draw from a fresh generator seeded with this (the global generator is left alone). Default: none. */
  seed?: number;
  /** Draw from this generator (ignored when seed is given). Default: globalRng. */
  rng?: Rng;
}
export const RANDN_KEYS = optionKeys<Parameters<typeof randn>[1]>()(
  'requiresGrad',
  'dtype',
  'seed',
  'rng',
  'mean',
  'std',
);
export const RAND_KEYS = optionKeys<Parameters<typeof rand>[1]>()(
  'requiresGrad',
  'dtype',
  'seed',
  'rng',
  'low',
  'high',
);

function pickRng(opts: RandomOptions): Rng {
  if (opts.seed !== undefined) return new Rng(opts.seed);
  return opts.rng ?? globalRng;
}

/** Standard normal values (times std, plus mean), from the global generator unless seeded. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkOptions('randn', opts, RANDN_KEYS);
  checkDtype('randn', opts.dtype);
  const n = checkShape(shape, 'randn');
  const data = new Float32Array(n);
  pickRng(opts).fillNormal(data, opts.mean ?? 0, opts.std ?? 1);
  return new Tensor(data, shape, opts.requiresGrad === true);
}

/** Uniform values in [low, high) (default [0, 1)), from the global generator unless seeded. */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkOptions('rand', opts, RAND_KEYS);
  checkDtype('rand', opts.dtype);
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
  checkOptions('arange', opts, TENSOR_KEYS);
  checkDtype('arange', opts.dtype);
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
