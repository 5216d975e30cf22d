// The kernel table's `overwrites` (lib/backend/kernel-table.ts): every output it lists is
// written whole without being read, so what it held cannot change a result. The wasm backend
// relies on that to skip copying those outputs into the module's memory, and a wrong entry would
// corrupt its results silently. Proven here per entry, on every backend and SIMD path: a call
// whose output held NaN gives exactly (bit for bit, every array and the return value) what the
// same call gives when it held zeros.
//
// On wasm the listed output is not copied in at all (that is the entry's point), so what the
// kernel would read is whatever the backend's scratch arena held: before each call a relu call
// over more than the arena the call needs fills it with zeros, then with NaN (the arena is one
// block reused by every call that fits it, laid out from its start).
//
// The calls are drawn from the table itself (any kernel that gains an entry is tested): random
// sizes including 0 and 1, random flags except those the entry needs, plus presets for the
// shapes that take the kernels' special paths (shifted-rows and im2col convolutions, 2 x 2
// pooling, GEMM past one tile, bias sums past one block, rows of no values). A wrong entry
// fails the check (shown below with made-up ones), and the generator refuses malformed ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../lib/backend/index.js';
import {
  KERNELS,
  KERNEL_NAMES,
  factors,
  windowOut,
  type KernelName,
  type KernelSpec,
  type Overwrite,
} from '../lib/backend/kernel-table.js';
import type { Kernels } from '../lib/backend/types.js';
import { loadWasm } from '../lib/backend/wasm.js';
import { render } from '../scripts/gen-bindings.mjs';
import { simdTargets } from './helpers/backends.js';
import { rng } from './helpers/reference.js';

type Rand = () => number;
type Values = Record<string, number | boolean>;

/** Sizes a random call draws: 0 and 1 for the edges, 17 for more than a SIMD vector (and Cg >= 16). */
const SIZES = [0, 1, 2, 3, 5, 17];
/** Elements an array may hold: keeps the TS convolutions short and every call inside the poisoned arena. */
const MAX_ELEMS = 4096;
/** Floats in each of relu's two arrays when it poisons the wasm arena (64-byte aligned, no gap). */
const POISON = 1 << 16;
/** Random calls per entry, besides the presets. */
const TRIALS = 10;

/** Shapes the random draw rarely hits; each applies to the kernels that have all its parameters. */
const PRESETS: Values[] = [
  // the anchor CNN's second convolution, small: stride 1 (shifted rows), Cg >= 16 (its input gradient too)
  {
    N: 2,
    G: 1,
    Cg: 16,
    H: 5,
    W: 6,
    Kg: 3,
    kH: 5,
    kW: 5,
    strideH: 1,
    strideW: 1,
    padH: 2,
    padW: 2,
    dilationH: 1,
    dilationW: 1,
  },
  // strided, dilated and grouped: im2col + GEMM
  {
    N: 2,
    G: 2,
    Cg: 2,
    H: 7,
    W: 6,
    Kg: 3,
    kH: 3,
    kW: 2,
    strideH: 2,
    strideW: 3,
    padH: 1,
    padW: 1,
    dilationH: 2,
    dilationW: 1,
  },
  // no samples: the parameter gradients are zeros
  { N: 0, G: 1, Cg: 2, H: 4, W: 4, Kg: 2, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
  // 2 x 2 pooling with stride 2 (the fast path), odd sizes: rows and columns no window covers
  {
    NC: 3,
    H: 5,
    W: 7,
    kH: 2,
    kW: 2,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    ceilMode: false,
  },
  // GEMM past one micro-tile in every direction
  { M: 37, N: 29, K: 23 },
  // more columns than one block of the bias sums (256)
  { N: 3, C: 300 },
  { n: 37 },
  // rows of no values: their mean and rstd are still written
  { N: 3, D: 0 },
];

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/**
 * A valid call of spec drawn at random: `fixed` values first, then `force` (the entry's needs).
 * null when the draw is no test: the call would be empty, an array too large, a window too
 * large for its input, labels without classes, or `out` left with no elements.
 */
function draw(spec: KernelSpec, out: string, r: Rand, fixed: Values, force: Values): unknown[] | null {
  const v: Values = {};
  const role = new Map<string, 'kernel' | 'stride' | 'pad' | 'dilation'>();
  for (const w of spec.windows ?? []) {
    role.set(w.kernel, 'kernel');
    role.set(w.stride, 'stride');
    role.set(w.pad, 'pad');
    if (w.dilation !== undefined) role.set(w.dilation, 'dilation');
  }
  for (const p of spec.params) {
    if (p.kind === 'bool') v[p.name] = r() < 0.5;
    else if (p.kind === 'size') v[p.name] = pick(r, SIZES);
    else if (p.kind === 'number')
      v[p.name] = pick(r, [0.5, 1.5]); // eps and the like stay > 0
    else if (p.kind === 'int') {
      const k = role.get(p.name);
      if (k === 'kernel') v[p.name] = 1 + Math.floor(r() * 3);
      else if (k === 'stride' || k === 'dilation') v[p.name] = pick(r, [1, 2]);
      else if (k === undefined) v[p.name] = Math.min(p.max, p.min + Math.floor(r() * 4)); // paddingIdx -1..2, a divisor 0..3
    }
  }
  Object.assign(v, fixed, force);
  const n = (name: string) => v[name] as number;
  for (const w of spec.windows ?? []) {
    const d = w.dilation !== undefined ? n(w.dilation) : 1;
    // padding at most half the window (PyTorch's rule for pooling), the input at least one window
    if (!(w.pad in fixed)) v[w.pad] = Math.floor(r() * (Math.floor(n(w.kernel) / 2) + 1));
    const span = d * (n(w.kernel) - 1) + 1;
    if (!(w.in in fixed) && n(w.in) + 2 * n(w.pad) < span) v[w.in] = span - 2 * n(w.pad);
    const ceil = w.ceil !== undefined && v[w.ceil] === true;
    v[w.out] = windowOut(n(w.in), n(w.kernel), n(w.stride), n(w.pad), d, ceil);
    if (n(w.out) < 0) return null;
  }
  const count = (expr: string) => factors(expr).reduce((m, f) => m * n(f), 1);
  if (spec.empty !== undefined && count(spec.empty) === 0) return null;
  const args: unknown[] = [];
  for (const p of spec.params) {
    if (p.kind === 'f32?') {
      const c = p.when;
      const needed = 'is' in c ? v[c.param] === true : c.op === '!=' ? v[c.param] !== 0 : n(c.param) > 0;
      if (!needed) {
        if (p.name === out) return null;
        args.push(null);
        continue;
      }
    }
    if (p.kind === 'f32' || p.kind === 'f32?' || p.kind === 'i32') {
      const len = count(p.count);
      if (len > MAX_ELEMS || (p.name === out && len === 0)) return null;
      if (p.kind === 'i32') {
        const classes = spec.labels?.param === p.name ? n(spec.labels.classes) : 1;
        if (len > 0 && classes === 0) return null;
        args.push(Int32Array.from({ length: len }, () => Math.floor(r() * classes)));
      } else {
        args.push(Float32Array.from({ length: len }, () => 2 * r() - 1));
      }
      continue;
    }
    args.push(v[p.name]);
  }
  return args;
}

/** The values an entry needs: its flag false (or its number 0), and its output required. */
function needs(spec: KernelSpec, out: string, rule: Overwrite): Values {
  const force: Values = {};
  const p = spec.params.find((q) => q.name === out);
  if (p?.kind === 'f32?') force[p.when.param] = 'is' in p.when ? true : 0.5;
  if (rule !== true && 'unless' in rule) force[rule.unless] = false;
  if (rule !== true && 'whenZero' in rule) force[rule.whenZero] = 0;
  return force;
}

interface Entry {
  fn: KernelName;
  out: string;
  when: string;
  calls: unknown[][];
}

/** The calls that test `out` of fn under rule: the applicable presets, then random draws. */
function callsFor(fn: KernelName, out: string, rule: Overwrite, seed: number): unknown[][] {
  const spec: KernelSpec = KERNELS[fn];
  const names = new Set(spec.params.map((p) => p.name));
  const force = needs(spec, out, rule);
  const r = rng(seed);
  const calls: unknown[][] = [];
  for (const preset of PRESETS) {
    if (!Object.keys(preset).every((k) => names.has(k))) continue;
    const c = draw(spec, out, r, preset, force);
    if (c !== null) calls.push(c);
  }
  for (let tries = 0; calls.length < TRIALS + 4 && tries < 1000; tries++) {
    const c = draw(spec, out, r, {}, force);
    if (c !== null) calls.push(c);
  }
  return calls;
}

function whenText(rule: Overwrite): string {
  if (rule === true) return 'always';
  return 'unless' in rule ? `unless ${rule.unless}` : `when ${rule.whenZero} is 0`;
}

const ENTRIES: Entry[] = KERNEL_NAMES.flatMap((fn, i) =>
  Object.entries((KERNELS[fn] as KernelSpec).overwrites ?? {}).map(([out, rule], j) => ({
    fn,
    out,
    when: whenText(rule),
    calls: callsFor(fn, out, rule, 1000 * i + j),
  })),
);

/** Fills a wasm backend's scratch arena with value (relu(value) is value for 0 and NaN). */
function poison(k: Kernels, value: number): void {
  const x = new Float32Array(POISON).fill(value);
  const y = new Float32Array(POISON);
  k.relu(x, POISON, y);
  expect(
    y.every((e) => Object.is(e, value)),
    'the poison went through the arena',
  ).toBe(true);
}

/** Calls fn on a copy of args whose `out` (and, on wasm, the arena) holds `fill`; every array after it, and the result. */
function run(k: Kernels, fn: KernelName, out: number, args: unknown[], fill: number): unknown[] {
  const a = args.map((x) => (x instanceof Float32Array || x instanceof Int32Array ? x.slice() : x));
  (a[out] as Float32Array).fill(fill);
  if (k.name === 'wasm') poison(k, fill);
  const result = (k as unknown as Record<string, (...v: unknown[]) => unknown>)[fn](...a);
  return [...a.filter((x) => x instanceof Float32Array), result];
}

/** For each call: where its results differ when `out` held NaN instead of zeros ('' when they do not). */
function differences(k: Kernels, fn: KernelName, out: string, calls: unknown[][]): string[] {
  const spec: KernelSpec = KERNELS[fn];
  const at = spec.params.findIndex((p) => p.name === out);
  return calls.map((args) => {
    const zero = run(k, fn, at, args, 0);
    const nan = run(k, fn, at, args, Number.NaN);
    const shape = spec.params
      .map((p, i) => (typeof args[i] === 'number' || typeof args[i] === 'boolean' ? `${p.name}=${args[i]}` : ''))
      .filter((s) => s !== '')
      .join(' ');
    for (let i = 0; i < zero.length; i++) {
      const z = zero[i],
        n = nan[i];
      if (!(z instanceof Float32Array)) {
        if (!Object.is(z, n)) return `${shape}: returned ${String(n)}, not ${String(z)}`;
        continue;
      }
      const e = z.findIndex((x, j) => !Object.is(x, (n as Float32Array)[j]));
      if (e >= 0) return `${shape}: array ${i}, element ${e}: ${(n as Float32Array)[e]}, not ${z[e]}`;
    }
    return '';
  });
}

it('every entry is tested on calls that do something, presets among them', () => {
  expect(ENTRIES.length).toBeGreaterThan(30);
  for (const e of ENTRIES) expect(e.calls.length, `${e.fn}.${e.out}`).toBeGreaterThanOrEqual(TRIALS);
  // the arena a call needs fits in the part the poison fills
  const arrays = Math.max(...KERNEL_NAMES.map((fn) => KERNELS[fn].params.length));
  expect(arrays * (MAX_ELEMS * 4 + 64)).toBeLessThanOrEqual(2 * POISON * 4);
  // the input gradient's shifted-rows path: stride 1, Cg >= 16
  const conv = ENTRIES.find((e) => e.fn === 'conv2dBackwardInput')!;
  const at = (name: string) => KERNELS.conv2dBackwardInput.params.findIndex((p) => p.name === name);
  expect(conv.calls.some((c) => (c[at('Cg')] as number) >= 16 && c[at('strideH')] === 1)).toBe(true);
});

describe.each(simdTargets())('$label', (t) => {
  beforeAll(() => t.setup());
  afterAll(() => t.teardown());

  it.each(ENTRIES)('$fn overwrites $out ($when) without reading it', ({ fn, out, calls }) => {
    expect(differences(t.kernels, fn, out, calls).filter((d) => d !== '')).toEqual([]);
  });
});

describe('a wrong entry fails the check', () => {
  // adamStep reads m always; conv2dBackwardInput reads dx when accumulate
  const wrong: [KernelName, string, Overwrite][] = [
    ['adamStep', 'm', true],
    ['conv2dBackwardInput', 'dx', true],
  ];
  const table = KERNELS as unknown as Record<string, { overwrites?: Record<string, Overwrite> }>;

  it.each(wrong)('%s.%s on ts and native', (fn, out, rule) => {
    const calls = callsFor(fn, out, rule, 7);
    for (const k of [backends().ts, backends().native].filter((b) => b !== undefined))
      expect(
        differences(k, fn, out, calls).some((d) => d !== ''),
        k.name,
      ).toBe(true);
  });

  it.runIf(backends().wasm !== undefined).each(wrong)('%s.%s on wasm, which then skips the copy', (fn, out, rule) => {
    const saved = table[fn].overwrites;
    table[fn].overwrites = { ...saved, [out]: rule };
    let k: Kernels;
    try {
      k = loadWasm();
    } finally {
      table[fn].overwrites = saved;
    }
    expect(differences(k, fn, out, callsFor(fn, out, rule, 7)).some((d) => d !== '')).toBe(true);
  });
});

describe('the generator refuses a malformed entry', () => {
  const withEntry = (fn: KernelName, overwrites: unknown) => ({ ...KERNELS, [fn]: { ...KERNELS[fn], overwrites } });

  it.each([
    ['relu', { x: true }, 'kernel table: relu.overwrites.x: x is not in writes'],
    ['adamStep', { grad: true }, 'kernel table: adamStep.overwrites.grad: grad is not in writes'],
    [
      'biasGrad',
      { dbias: { unless: 'N' } },
      'kernel table: biasGrad.overwrites.dbias: N is not a bool parameter (it is size)',
    ],
    [
      'gemm',
      { C: { whenZero: 'transA' } },
      'kernel table: gemm.overwrites.C: transA is not a number parameter (it is bool)',
    ],
    [
      'biasGrad',
      { dbias: { unless: 'accumulated' } },
      "kernel table: biasGrad.overwrites.dbias names no parameter 'accumulated'",
    ],
    [
      'relu',
      { y: false },
      'kernel table: relu.overwrites.y must be true, { unless: <bool parameter> } or { whenZero: <number parameter> }',
    ],
    [
      'biasGrad',
      { dbias: { unless: 'accumulate', whenZero: 'N' } },
      'kernel table: biasGrad.overwrites.dbias must be true, { unless: <bool parameter> } or { whenZero: <number parameter> }',
    ],
  ] as [KernelName, unknown, string][])('%s %j', (fn, entry, message) => {
    expect(() => render(withEntry(fn, entry))).toThrow(message);
  });

  it('and renders the table as it is', () => {
    expect(() => render(KERNELS)).not.toThrow();
  });
});
