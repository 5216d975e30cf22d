// Argument cases derived from the kernel table (lib/backend/kernel-table.ts), so that a new
// kernel gets its argument tests for free: a valid call, each parameter's kind, each buffer's
// element count in that call, the overlap pairs, the labels, the optional buffers' conditions.
import { expect } from 'vitest';
import {
  KERNELS,
  KERNEL_NAMES,
  conditionText,
  factors,
  windowOut,
  type KernelName,
  type ParamSpec,
} from '../../lib/backend/kernel-table.js';

export type Kind = ParamSpec['kind'];

export interface Case {
  fn: KernelName;
  params: readonly ParamSpec[];
  /** Parameter index by name. */
  at(name: string): number;
  /** The size values of the valid call, by name. */
  sizes: Record<string, number>;
  /** The element count `expr` ('N*C') stands for in the valid call. */
  countOf(expr: string): number;
  /** A valid call, fresh buffers every time; optional buffers are required by its flags. */
  valid(): unknown[];
  /** The same call with every optional buffer made unnecessary by its condition. */
  withoutOptional(): unknown[];
  disjoint: readonly (readonly [string, string])[];
  sameOrDisjoint: readonly (readonly [string, string])[];
  labels?: { param: string; count: string; classes: string };
  empty?: string;
  windows: readonly import('../../lib/backend/kernel-table.js').WindowRule[];
}

export { conditionText, factors };

/** Every kernel's case. Sizes are 2, 3, 4, ... in the order they appear, so they differ. */
export const cases: Case[] = KERNEL_NAMES.map((fn) => {
  const spec: import('../../lib/backend/kernel-table.js').KernelSpec = KERNELS[fn];
  const params = spec.params;
  const sizes: Record<string, number> = {};
  let next = 2;
  for (const p of params) if (p.kind === 'size') sizes[p.name] = next++;
  // A window rule's output size follows from the others (the window parameters are ints at
  // their minimum in the valid call: kernel, stride and dilation 1, pad 0)
  const intAt = (name: string | undefined, dflt: number) => {
    const q = params.find((p) => p.name === name);
    return q !== undefined && q.kind === 'int' ? q.min : dflt;
  };
  for (const w of spec.windows ?? []) {
    sizes[w.out] = windowOut(
      sizes[w.in],
      intAt(w.kernel, 1),
      intAt(w.stride, 1),
      intAt(w.pad, 0),
      intAt(w.dilation, 1),
      true,
    );
  }
  // ints (window sizes) count too, at their value in the valid call
  const ints: Record<string, number> = {};
  for (const p of params) if (p.kind === 'int') ints[p.name] = p.min;
  const countOf = (expr: string) => factors(expr).reduce((n, f) => n * (sizes[f] ?? ints[f]), 1);
  const at = (name: string) => params.findIndex((p) => p.name === name);
  const labels = spec.labels;
  const valid = (): unknown[] =>
    params.map((p) => {
      switch (p.kind) {
        case 'bool':
          return true; // makes every 'is true' condition hold
        case 'size':
          return sizes[p.name];
        case 'number':
          return 0.5; // != 0 and > 0: every optional buffer is needed
        case 'int':
          return p.min;
        case 'f32':
        case 'f32?':
          return new Float32Array(countOf(p.count)).fill(0.5);
        case 'i32': {
          const C = labels && labels.param === p.name ? sizes[labels.classes] : 1;
          return Int32Array.from({ length: countOf(p.count) }, (_, i) => i % C);
        }
      }
    });
  const withoutOptional = (): unknown[] => {
    const args = valid();
    for (const p of params) {
      if (p.kind !== 'f32?') continue;
      args[at(p.when.param)] = 'is' in p.when ? false : 0;
    }
    return args;
  };
  return {
    fn,
    params,
    at,
    sizes,
    countOf,
    valid,
    withoutOptional,
    disjoint: spec.disjoint ?? [],
    sameOrDisjoint: spec.sameOrDisjoint ?? [],
    labels,
    empty: spec.empty,
    windows: spec.windows ?? [],
  };
});

/** Calls fn on the given kernels object with arbitrary arguments, as JS callers can. */
export function call(k: object, fn: string, args: unknown[]): unknown {
  return (k as Record<string, (...a: unknown[]) => unknown>)[fn](...args);
}

/** Calls fn, expects it to throw `type`, with a message matching `message` (string: exact). */
export function expectError(fn: () => unknown, type: ErrorConstructor, message: string | RegExp): void {
  let err: unknown;
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  expect(threw, `expected ${type.name}: ${String(message)}`).toBe(true);
  expect(err).toBeInstanceOf(type);
  expect((err as Error).constructor).toBe(type); // a RangeError is not a TypeError, and vice versa
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
}

/** 'returned' or 'TypeError: message': what a call did, to compare backends. */
export function outcome(f: () => unknown): string {
  try {
    f();
    return 'returned';
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}
