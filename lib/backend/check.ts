// Argument checks for the TS backend: one checker driven by the kernel table (kernel-table.ts),
// the same checks in the same order with the same messages as the addon's generated ones
// (native/binding/generated.h over native/binding/args.h), so both backends fail the same way:
// TypeError for a wrong count or type, RangeError for a size, length, label or overlap, the
// message naming the function and the parameter ("gemm: A must be a Float32Array, got Float64Array").
//
// Typed arrays are seen as the addon sees them, through their internal slots: a subclass whose
// `length` getter lies, or a Proxy around a Float32Array, cannot make the TS kernels loop past
// the real elements (a Proxy is no typed array to Node-API, so it is refused here too).
//
// They run on every kernel call: the valid path is a few slot reads and comparisons per
// argument; messages are only built on the way to a throw.
import { types } from 'node:util';
import {
  KERNELS,
  type KernelName,
  type KernelSpec,
  type ParamSpec,
  type WindowRule,
  conditionText,
  factors,
  windowOut,
} from './kernel-table.js';

/** Number.MAX_SAFE_INTEGER: the largest size a JS number holds exactly. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

type Typed = Float32Array | Int32Array;

// The %TypedArray%.prototype getters: they read the internal slots, whatever a subclass or the
// object itself defines, and return undefined (the tag) or throw (the others) for non-views.
const typedProto = Object.getPrototypeOf(Int8Array.prototype) as object;
const slot = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedProto, key)!.get!;
const tagSlot = slot(Symbol.toStringTag) as (this: unknown) => string | undefined;
const lengthSlot = slot('length') as (this: Typed) => number;
const offsetSlot = slot('byteOffset') as (this: Typed) => number;
const bufferSlot = slot('buffer') as (this: Typed) => ArrayBufferLike;

/** The typed array's own kind ('Float32Array'), or undefined for anything else (a Proxy too). */
export function typedName(v: unknown): string | undefined {
  return tagSlot.call(v);
}

/** The element count from the internal slot (0 once detached), not from a `length` property. */
export function lengthOf(v: Typed): number {
  return lengthSlot.call(v);
}

/** The buffer and the byte offset, from the internal slots (the wasm backend copies by them). */
export function bufferOf(v: Typed): ArrayBufferLike {
  return bufferSlot.call(v);
}
export function byteOffsetOf(v: Typed): number {
  return offsetSlot.call(v);
}

export function typeErr(fn: string, msg: string): never {
  throw new TypeError(`${fn}: ${msg}`);
}

export function rangeErr(fn: string, msg: string): never {
  throw new RangeError(`${fn}: ${msg}`);
}

/** What a value is, for "must be X, got Y" messages (same wording as the addon's Describe). */
export function describe(v: unknown): string {
  const name = typedName(v);
  if (name !== undefined) return name; // a Buffer is a Uint8Array
  if (Array.isArray(v) && !types.isProxy(v)) return 'Array';
  if (types.isArrayBuffer(v)) return 'ArrayBuffer';
  if (v === null) return 'null';
  if (typeof v === 'number') return `number ${String(v)}`;
  return typeof v; // a DataView, a Proxy, a SharedArrayBuffer: 'object', as to Node-API
}

/** The call must have exactly `want` arguments. */
export function count(fn: string, got: number, want: number): void {
  if (got !== want) typeErr(fn, `expected ${want} argument${want === 1 ? '' : 's'}, got ${got}`);
}

export function num(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number') typeErr(fn, `${name} must be a number, got ${describe(v)}`);
  return v;
}

/** An integer in [lo, hi]. */
export function integer(fn: string, name: string, v: unknown, lo: number, hi: number): number {
  const d = num(fn, name, v);
  if (!(d >= lo && d <= hi && Math.floor(d) === d)) {
    rangeErr(fn, `${name} must be an integer ${hi >= MAX_SAFE ? `>= ${lo}` : `from ${lo} to ${hi}`}, got ${String(d)}`);
  }
  return d;
}

function typed(fn: string, p: ParamSpec, v: unknown, want: string, article: string): void {
  if (typedName(v) !== want) typeErr(fn, `${p.name} must be ${article} ${want}, got ${describe(v)}`);
}

function checkParam(fn: string, p: ParamSpec, v: unknown): void {
  switch (p.kind) {
    case 'bool':
      if (typeof v !== 'boolean') typeErr(fn, `${p.name} must be a boolean, got ${describe(v)}`);
      return;
    case 'number':
      num(fn, p.name, v);
      return;
    case 'size': {
      const d = num(fn, p.name, v);
      if (!(d >= 0 && d <= MAX_SAFE && Math.floor(d) === d)) {
        rangeErr(fn, `${p.name} must be a non-negative integer, got ${String(d)}`);
      }
      return;
    }
    case 'int':
      integer(fn, p.name, v, p.min, p.max);
      return;
    case 'f32':
      typed(fn, p, v, 'Float32Array', 'a');
      return;
    case 'i32':
      typed(fn, p, v, 'Int32Array', 'an');
      return;
    case 'f32?':
      return; // after the parameter its condition reads (checkArgs)
  }
}

// Do the first `na` elements of a and the first `nb` of b share a byte?
function overlap(a: Typed, na: number, b: Typed, nb: number): boolean {
  if (na <= 0 || nb <= 0 || bufferSlot.call(a) !== bufferSlot.call(b)) return false;
  const a0 = offsetSlot.call(a),
    a1 = a0 + na * a.BYTES_PER_ELEMENT;
  const b0 = offsetSlot.call(b),
    b1 = b0 + nb * b.BYTES_PER_ELEMENT;
  return a0 < b1 && b0 < a1;
}

/** A kernel's table entry turned into parameter indices once, at load. */
interface Plan {
  fn: string;
  params: readonly ParamSpec[];
  /** Non-optional parameters in call order, then the optional buffers. */
  order: number[];
  /** Per parameter: the indices of the sizes its count multiplies (arrays only). */
  counts: (number[] | null)[];
  /** Per optional buffer: whether this call needs it. */
  required: (((args: unknown[]) => boolean) | null)[];
  pairs: { out: number; inp: number; same: boolean }[];
  labels: { param: number; count: number; classes: number } | null;
  empty: number[] | null;
  /** The window rules, as parameter indices (dilation -1: 1; ceil -1: never). */
  windows: { rule: WindowRule; out: number; in: number; k: number; s: number; p: number; d: number; c: number }[];
  /** Scratch: the element count each array argument of the current call covers (0: unused). */
  used: Float64Array;
}

function plan(fn: KernelName): Plan {
  const spec: KernelSpec = KERNELS[fn];
  const params = spec.params;
  const at = (name: string): number => {
    const i = params.findIndex((p) => p.name === name);
    if (i < 0) throw new Error(`kernel table: ${fn} has no parameter ${name}`);
    return i;
  };
  const optional = params.map((p, i) => (p.kind === 'f32?' ? i : -1)).filter((i) => i >= 0);
  return {
    fn,
    params,
    order: [...params.keys()].filter((i) => !optional.includes(i)).concat(optional),
    counts: params.map((p) => ('count' in p ? factors(p.count).map(at) : null)),
    required: params.map((p) => {
      if (p.kind !== 'f32?') return null;
      const c = p.when,
        i = at(c.param);
      if ('is' in c) return (args) => args[i] === true;
      return c.op === '!=' ? (args) => args[i] !== 0 : (args) => (args[i] as number) > 0;
    }),
    pairs: [
      ...(spec.sameOrDisjoint ?? []).map(([o, n]) => ({ out: at(o), inp: at(n), same: true })),
      ...(spec.disjoint ?? []).map(([o, n]) => ({ out: at(o), inp: at(n), same: false })),
    ],
    labels: spec.labels
      ? { param: at(spec.labels.param), count: at(spec.labels.count), classes: at(spec.labels.classes) }
      : null,
    empty: spec.empty !== undefined ? factors(spec.empty).map(at) : null,
    windows: (spec.windows ?? []).map((rule) => ({
      rule,
      out: at(rule.out),
      in: at(rule.in),
      k: at(rule.kernel),
      s: at(rule.stride),
      p: at(rule.pad),
      d: rule.dilation !== undefined ? at(rule.dilation) : -1,
      c: rule.ceil !== undefined ? at(rule.ceil) : -1,
    })),
    used: new Float64Array(params.length),
  };
}

function product(args: unknown[], idx: number[]): number {
  let n = 1;
  for (const i of idx) n *= args[i] as number;
  return n;
}

/**
 * Checks one call's arguments in the table's order and prepares them for the kernel, in place:
 * an optional buffer the call does not need becomes null, and labels in shared memory are
 * replaced by a checked private copy (another thread may change the original at any time).
 * Returns true when the call has nothing to do (its `empty` count is 0).
 */
function checkArgs(p: Plan, args: unknown[]): boolean {
  const { fn, params, used } = p;
  count(fn, args.length, params.length);
  for (const i of p.order) {
    const q = params[i];
    if (q.kind !== 'f32?') {
      checkParam(fn, q, args[i]);
      continue;
    }
    const v = args[i];
    const required = p.required[i]!(args);
    if (v === null || v === undefined) {
      if (required) typeErr(fn, `${q.name} must be a Float32Array when ${conditionText(q.when)}, got ${describe(v)}`);
    } else if (typedName(v) !== 'Float32Array') {
      typeErr(fn, `${q.name} must be a Float32Array or null, got ${describe(v)}`);
    }
    if (!required) args[i] = null; // the kernel ignores it: neither its length nor overlaps count
  }
  for (let i = 0; i < params.length; i++) {
    const idx = p.counts[i];
    used[i] = 0;
    if (idx === null || args[i] === null) continue;
    const v = args[i] as Typed;
    const n = product(args, idx);
    const len = lengthOf(v);
    if (n > len) {
      const q = params[i] as { name: string; count: string };
      rangeErr(fn, `${q.name} must have at least ${q.count} = ${String(n)} elements, got ${len}`);
    }
    used[i] = n;
  }
  const empty = p.empty !== null && product(args, p.empty) === 0;
  if (!empty) for (const w of p.windows) checkWindow(fn, w, args);
  for (const { out, inp, same } of p.pairs) {
    if (used[out] === 0 || used[inp] === 0) continue;
    const o = args[out] as Typed,
      v = args[inp] as Typed;
    if (!overlap(o, used[out], v, used[inp])) continue;
    const on = params[out].name,
      vn = params[inp].name;
    if (!same) rangeErr(fn, `${on} must not overlap ${vn}`);
    if (offsetSlot.call(o) !== offsetSlot.call(v))
      rangeErr(fn, `${on} must be ${vn} itself or not overlap it (partial overlap)`);
  }
  if (p.labels !== null) args[p.labels.param] = labelsInRange(fn, p, args);
  return empty;
}

/** A window rule's output size must be the one it dictates (messages as the addon's). */
function checkWindow(fn: string, w: Plan['windows'][number], args: unknown[]): void {
  const n = (i: number) => args[i] as number;
  const d = w.d < 0 ? 1 : n(w.d);
  const want = windowOut(n(w.in), n(w.k), n(w.s), n(w.p), d, w.c >= 0 && args[w.c] === true);
  if (want === n(w.out)) return;
  const { rule } = w;
  if (want < 0) {
    const dil = rule.dilation !== undefined ? `${rule.dilation}*` : '';
    rangeErr(
      fn,
      `${rule.out}: the window ${dil}(${rule.kernel}-1)+1 = ${d * (n(w.k) - 1) + 1} is larger than ` +
        `${rule.in} + 2*${rule.pad} = ${n(w.in) + 2 * n(w.p)}`,
    );
  }
  const from = [rule.in, rule.kernel, rule.stride, rule.pad, rule.dilation, rule.ceil].filter((x) => x !== undefined);
  rangeErr(fn, `${rule.out} must be ${want} (from ${from.join(', ')}), got ${n(w.out)}`);
}

/**
 * Every one of the first N labels in [0, C), checked before the kernel writes anything. Labels
 * another thread can write (a SharedArrayBuffer) are copied first, each read once, and the
 * copy is what gets checked and used.
 */
function labelsInRange(fn: string, p: Plan, args: unknown[]): Int32Array {
  const { param, count: ni, classes } = p.labels!;
  let labels = args[param] as Int32Array;
  const N = args[ni] as number,
    C = args[classes] as number;
  if (types.isSharedArrayBuffer(bufferSlot.call(labels))) {
    const own = new Int32Array(N);
    for (let i = 0; i < N; i++) own[i] = labels[i];
    labels = own;
  }
  for (let i = 0; i < N; i++) {
    const l = labels[i];
    if (l < 0 || l >= C) rangeErr(fn, `${p.params[param].name}[${i}] = ${l} is out of range [0, ${C})`);
  }
  return labels;
}

/**
 * Wraps a kernel's implementation in its table-driven checks: the implementation only ever
 * sees arguments that passed them, and is not called at all when the call has nothing to do.
 */
export function checked<K extends KernelName, F extends (...args: never[]) => unknown>(name: K, impl: F): F {
  const p = plan(name);
  const nothing = KERNELS[name].returns === 'number' ? 0 : undefined;
  return ((...args: unknown[]) => (checkArgs(p, args) ? nothing : impl(...(args as Parameters<F>)))) as unknown as F;
}
