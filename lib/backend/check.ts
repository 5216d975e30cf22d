// Argument checks for the TS backend, the same checks with the same messages as the native
// addon's (native/binding/args.h), so both backends fail the same way: TypeError for a wrong
// count or type, RangeError for a size, length, label or overlap, the message naming the
// function and the parameter ("gemm: A must be a Float32Array, got Float64Array").
//
// They run on every kernel call: the valid path is a few typeof/instanceof tests and
// comparisons; messages are only built on the way to a throw.

/** Number.MAX_SAFE_INTEGER: the largest size a JS number holds exactly. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export function typeErr(fn: string, msg: string): never {
  throw new TypeError(`${fn}: ${msg}`);
}

export function rangeErr(fn: string, msg: string): never {
  throw new RangeError(`${fn}: ${msg}`);
}

/** What a value is, for "must be X, got Y" messages (same wording as the addon's). */
export function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) {
    // The intrinsic name (a Buffer is a Uint8Array); a DataView is just an object to the addon.
    return v instanceof DataView ? 'object' : String((v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]);
  }
  if (Array.isArray(v)) return 'Array';
  if (v instanceof ArrayBuffer) return 'ArrayBuffer';
  if (v === null) return 'null';
  if (typeof v === 'number') return `number ${String(v)}`;
  return typeof v;
}

/** The call must have exactly `want` arguments. */
export function count(fn: string, got: number, want: number): void {
  if (got !== want) typeErr(fn, `expected ${want} argument${want === 1 ? '' : 's'}, got ${got}`);
}

export function f32(fn: string, name: string, v: unknown): Float32Array {
  if (!(v instanceof Float32Array)) typeErr(fn, `${name} must be a Float32Array, got ${describe(v)}`);
  return v;
}

export function i32(fn: string, name: string, v: unknown): Int32Array {
  if (!(v instanceof Int32Array)) typeErr(fn, `${name} must be an Int32Array, got ${describe(v)}`);
  return v;
}

/**
 * A Float32Array when the kernel uses it (`required`, `why` says when: "momentum != 0"), else
 * null/undefined is fine. Something else (a number, a Float64Array) is always an error.
 * Returns null when the kernel will not use it, so it is neither length- nor overlap-checked.
 */
export function optF32(fn: string, name: string, v: unknown, required: boolean, why: string): Float32Array | null {
  if (v === null || v === undefined) {
    if (required) typeErr(fn, `${name} must be a Float32Array when ${why}, got ${describe(v)}`);
    return null;
  }
  if (!(v instanceof Float32Array)) typeErr(fn, `${name} must be a Float32Array or null, got ${describe(v)}`);
  return required ? v : null;
}

export function num(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number') typeErr(fn, `${name} must be a number, got ${describe(v)}`);
  return v;
}

export function bool(fn: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') typeErr(fn, `${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A size: a finite, non-negative safe integer. */
export function size(fn: string, name: string, v: unknown): number {
  const d = num(fn, name, v);
  if (!(d >= 0 && d <= MAX_SAFE && Math.floor(d) === d)) {
    rangeErr(fn, `${name} must be a non-negative integer, got ${String(d)}`);
  }
  return d;
}

/** An integer in [lo, hi]. */
export function integer(fn: string, name: string, v: unknown, lo: number, hi: number): number {
  const d = num(fn, name, v);
  if (!(d >= lo && d <= hi && Math.floor(d) === d)) {
    rangeErr(fn, `${name} must be an integer ${hi >= MAX_SAFE ? `>= ${lo}` : `from ${lo} to ${hi}`}, got ${String(d)}`);
  }
  return d;
}

/** The buffer must hold `n` elements; `expr` says where n came from ("M*K"). */
export function need(fn: string, name: string, v: Float32Array | Int32Array, expr: string, n: number): void {
  if (n > v.length) rangeErr(fn, `${name} must have at least ${expr} = ${String(n)} elements, got ${v.length}`);
}

// Do the first `na` elements of a and the first `nb` of b share a byte?
function overlap(a: Float32Array | Int32Array | null, na: number, b: Float32Array | Int32Array | null, nb: number): boolean {
  if (a === null || b === null || na <= 0 || nb <= 0 || a.buffer !== b.buffer) return false;
  const a0 = a.byteOffset, a1 = a0 + na * a.BYTES_PER_ELEMENT;
  const b0 = b.byteOffset, b1 = b0 + nb * b.BYTES_PER_ELEMENT;
  return a0 < b1 && b0 < a1;
}

/** The output's first `nOut` elements must not share a byte with the input's first `nIn`. */
export function disjoint(
  fn: string, outName: string, out: Float32Array | null, nOut: number,
  inName: string, inp: Float32Array | Int32Array | null, nIn: number,
): void {
  if (overlap(out, nOut, inp, nIn)) rangeErr(fn, `${outName} must not overlap ${inName}`);
}

/** The output may be the input itself (same first element), but must not overlap it partially. */
export function sameOrDisjoint(
  fn: string, outName: string, out: Float32Array, inName: string, inp: Float32Array, n: number,
): void {
  if (overlap(out, n, inp, n) && out.byteOffset !== inp.byteOffset) {
    rangeErr(fn, `${outName} must be ${inName} itself or not overlap it (partial overlap)`);
  }
}

/** Every one of the first N labels in [0, C), checked before the kernel writes anything. */
export function labelsInRange(fn: string, labels: Int32Array, N: number, C: number): void {
  for (let i = 0; i < N; i++) {
    const l = labels[i];
    if (l < 0 || l >= C) rangeErr(fn, `labels[${i}] = ${l} is out of range [0, ${C})`);
  }
}
