// The native boundary: never reads or writes outside the elements its sizes allow, survives
// random calls, fails exactly as the TS backend does, and the hand-written cases the kernel
// table cannot derive (overflowing products, SharedArrayBuffer views, threads, SIMD paths,
// environment variables). The checks each table entry implies (wrong count, types, sizes,
// short buffers, overlaps, labels, optional buffers) run on every backend in kernel-args.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { backends, info } from '../lib/backend/index.js';
import type { Kernels } from '../lib/backend/types.js';
import { cases, expectError, outcome, type Kind } from './helpers/kernel-cases.js';
import { KERNELS, windowOut, type KernelName, type KernelSpec } from '../lib/backend/kernel-table.js';
import {
  bundleBackend,
  checkGemmSnippet,
  lastJson,
  loadAddonSnippet,
  requireBackendSnippet,
  runNode,
} from './fixtures/child.js';

const native = backends().native;
const skipReason = native ? '' : ` (skipped: no native backend: ${info().nativeError ?? 'unknown reason'})`;
// Only dereferenced inside tests, which do not run when native is absent.
const k = native as Kernels;
// The bindings called with arbitrary arguments, as JS callers can.
const call = (fn: string, args: unknown[]): unknown =>
  (k as unknown as Record<string, (...a: unknown[]) => unknown>)[fn](...args);

const f32 = (n: number, fill = 0) => new Float32Array(n).fill(fill);

// Every kernel of the table with a valid call (test/helpers/kernel-cases.ts); the checks each
// table entry implies run against every backend in kernel-args.test.ts.
const bindings = cases;

describe.skipIf(!native)(`native argument checks${skipReason}`, () => {
  it.each(bindings.map((b) => [b.fn, b] as const))(
    '%s reads and writes only the elements its sizes allow',
    (_fn, b) => {
      // Every buffer sits between NaN guards: a write past either end replaces a NaN, a read
      // past the end brings a NaN into the results.
      const guarded: [Float32Array, number][] = [];
      const args = b.valid().map((a) => {
        if (!(a instanceof Float32Array)) return a;
        const g = new Float32Array(a.length + 16).fill(NaN);
        g.set(a, 8);
        guarded.push([g, a.length]);
        return g.subarray(8, 8 + a.length);
      });
      call(b.fn, args);
      for (const [g, len] of guarded) {
        expect(Array.from(g.subarray(0, 8)).every(Number.isNaN), 'guard before').toBe(true);
        expect(Array.from(g.subarray(8 + len)).every(Number.isNaN), 'guard after').toBe(true);
        expect(Array.from(g.subarray(8, 8 + len)).some(Number.isNaN), 'NaN read into the results').toBe(false);
      }
    },
  );

  describe('counts for the functions without sizes', () => {
    // The addon itself: the loader wraps simd() and supportedSimd() in arrow functions.
    const raw = () => createRequire(__filename)(info().nativePath!) as Record<string, (...a: unknown[]) => unknown>;
    it.each(['getNumThreads', 'simd', 'supportedSimd'])('%s takes no arguments', (fn) => {
      expectError(() => raw()[fn](1), TypeError, `${fn}: expected 0 arguments, got 1`);
    });
    it.each(['setNumThreads', 'setSimd'])('%s takes one argument', (fn) => {
      expectError(() => raw()[fn](), TypeError, `${fn}: expected 1 argument, got 0`);
      expectError(() => raw()[fn](1, 2), TypeError, `${fn}: expected 1 argument, got 2`);
    });
    it('the loader maps the very functions the addon exports', () => {
      expect(k.gemm).toBe(raw().gemm);
      expect(k.setNumThreads).toBe(raw().setNumThreads);
    });
  });

  describe('gemm', () => {
    it('says so when M*K overflows', () => {
      expectError(
        () => k.gemm(false, false, 2 ** 30, 1, 2 ** 30, 1, f32(8), f32(12), 0, f32(6)),
        RangeError,
        `gemm: A must have at least M*K = ${String(2 ** 60)} elements, got 8`, // as JS prints it: 1152921504606847000
      );
      expectError(
        () => k.gemm(false, false, 0, 2 ** 40, 2 ** 40, 1, f32(8), f32(12), 0, f32(6)),
        RangeError,
        `gemm: B must have at least K*N = ${String(2 ** 80)} elements, got 12`,
      );
    });

    it('names the example from the spec', () => {
      expectError(
        () => k.gemm(false, false, 3, 2, 4, 1, f32(6), f32(8), 0, f32(6)),
        RangeError,
        'gemm: A must have at least M*K = 12 elements, got 6',
      );
      expectError(
        () => call('gemm', [1, false, 3, 2, 4, 1, f32(12), f32(8), 0, f32(6)]),
        TypeError,
        'gemm: transA must be a boolean, got number 1',
      );
      expectError(() => call('gemm', [false, false, 3]), TypeError, 'gemm: expected 10 arguments, got 3');
    });

    it('rejects C overlapping A or B, in part or in whole', () => {
      const buf = f32(64, 1);
      expectError(
        () => k.gemm(false, false, 2, 2, 2, 1, buf, f32(4), 0, buf),
        RangeError,
        'gemm: C must not overlap A',
      );
      expectError(
        () => k.gemm(false, false, 2, 2, 2, 1, buf.subarray(0, 4), f32(4), 0, buf.subarray(3, 7)),
        RangeError,
        'gemm: C must not overlap A',
      );
      expectError(
        () => k.gemm(false, false, 2, 2, 2, 1, f32(4), buf.subarray(10, 14), 0, buf.subarray(8, 12)),
        RangeError,
        'gemm: C must not overlap B',
      );
      // A Float32Array over a Float64Array's memory is the same memory.
      const shared = new ArrayBuffer(64);
      expectError(
        () =>
          k.gemm(false, false, 2, 2, 2, 1, new Float32Array(shared, 0, 4), f32(4), 0, new Float32Array(shared, 12, 4)),
        RangeError,
        'gemm: C must not overlap A',
      );
    });

    it('accepts A and B sharing memory, and C next to them in the same buffer', () => {
      const buf = Float32Array.from({ length: 12 }, (_, i) => i + 1);
      const A = buf.subarray(0, 4);
      const C = buf.subarray(4, 8);
      k.gemm(false, false, 2, 2, 2, 1, A, A, 0, C); // [[1,2],[3,4]]^2
      expect(Array.from(C)).toEqual([7, 10, 15, 22]);
      expect(Array.from(buf.subarray(8))).toEqual([9, 10, 11, 12]); // untouched
    });

    it('works on SharedArrayBuffer views and rejects overlapping ones', () => {
      const sab = new SharedArrayBuffer(4 * 16);
      const A = new Float32Array(sab, 0, 4);
      const B = new Float32Array(sab, 16, 4);
      const C = new Float32Array(sab, 32, 4);
      A.set([1, 2, 3, 4]);
      B.set([5, 6, 7, 8]);
      k.gemm(false, false, 2, 2, 2, 1, A, B, 0, C);
      expect(Array.from(C)).toEqual([19, 22, 43, 50]);
      expectError(
        () => k.gemm(false, false, 2, 2, 2, 1, A, B, 0, new Float32Array(sab, 8, 4)),
        RangeError,
        'gemm: C must not overlap A',
      );
      // The same shared memory seen through a second view object is still the same memory.
      expectError(
        () => k.gemm(false, false, 2, 2, 2, 1, A, B, 0, new Float32Array(sab, 20, 4)),
        RangeError,
        'gemm: C must not overlap B',
      );
    });

    it('writes only the M*N elements of C and reads only M*K of A and K*N of B', () => {
      const M = 5,
        N = 7,
        K = 3;
      const A = f32(M * K + 8, 1).fill(NaN, M * K); // NaN past the end would poison C if read
      const B = f32(K * N + 8, 2).fill(NaN, K * N);
      const Cbuf = f32(M * N + 16, -7);
      const C = Cbuf.subarray(8, 8 + M * N);
      k.gemm(false, false, M, N, K, 1, A, B, 0, C);
      expect(Array.from(C).every((x) => x === 6)).toBe(true);
      expect(Array.from(Cbuf.subarray(0, 8)).every((x) => x === -7)).toBe(true);
      expect(Array.from(Cbuf.subarray(8 + M * N)).every((x) => x === -7)).toBe(true);
    });

    it('handles empty products: M or N = 0 writes nothing, K = 0 gives beta * C', () => {
      const C = f32(4, 3);
      k.gemm(false, false, 0, 4, 3, 1, f32(0), f32(12), 0, f32(0));
      k.gemm(false, false, 4, 0, 3, 1, f32(12), f32(0), 0, f32(0));
      k.gemm(false, false, 2, 2, 0, 1, f32(0), f32(0), 2, C);
      expect(Array.from(C)).toEqual([6, 6, 6, 6]);
      k.gemm(true, true, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0, C);
      expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    });
  });

  describe.each(['softmaxCrossEntropy', 'softmaxCrossEntropyBackward'] as const)('%s labels', (fn) => {
    const out = fn === 'softmaxCrossEntropy' ? 'probs' : 'dlogits';
    it('rejects a label >= C, naming the index and value, before writing anything', () => {
      const N = 4,
        C = 10;
      const probs = f32(N * C, 7);
      expectError(
        () => call(fn, [f32(N * C, 0.1), Int32Array.from([1, 2, 3, 12]), N, C, probs]),
        RangeError,
        `${fn}: labels[3] = 12 is out of range [0, 10)`,
      );
      expect(probs.every((x) => x === 7)).toBe(true);
    });
    it('rejects a negative label', () => {
      const out2 = f32(6, 7);
      expectError(
        () => call(fn, [f32(6, 0.1), Int32Array.from([-1, 0]), 2, 3, out2]),
        RangeError,
        `${fn}: labels[0] = -1 is out of range [0, 3)`,
      );
      expect(out2.every((x) => x === 7)).toBe(true);
      expectError(
        () => call(fn, [f32(6), Int32Array.from([0, -2147483648]), 2, 3, f32(6)]),
        RangeError,
        `${fn}: labels[1] = -2147483648 is out of range [0, 3)`,
      );
    });
    it('rejects any label when C = 0', () => {
      expectError(
        () => call(fn, [f32(0), Int32Array.from([0]), 1, 0, f32(0)]),
        RangeError,
        `${fn}: labels[0] = 0 is out of range [0, 0)`,
      );
    });
    it('checks only the first N labels', () => {
      expect(() => call(fn, [f32(6, 0.5), Int32Array.from([0, 2, 99, -5]), 2, 3, f32(6)])).not.toThrow();
    });
    it(`rejects ${out} overlapping labels`, () => {
      const mem = new ArrayBuffer(4 * 8);
      expectError(
        () => call(fn, [f32(6), new Int32Array(mem, 0, 2), 2, 3, new Float32Array(mem, 4, 6)]),
        RangeError,
        `${fn}: ${out} must not overlap labels`,
      );
    });
  });

  describe('aliasing', () => {
    it('softmaxCrossEntropy rejects probs overlapping logits', () => {
      const buf = f32(12, 1);
      expectError(
        () => k.softmaxCrossEntropy(buf, Int32Array.from([0, 1]), 2, 3, buf),
        RangeError,
        'softmaxCrossEntropy: probs must not overlap logits',
      );
      expectError(
        () => k.softmaxCrossEntropy(buf.subarray(0, 6), Int32Array.from([0, 1]), 2, 3, buf.subarray(5)),
        RangeError,
        'softmaxCrossEntropy: probs must not overlap logits',
      );
    });

    it('softmaxCrossEntropyBackward allows dlogits = probs, not a partial overlap', () => {
      const probs = Float32Array.from([0.25, 0.25, 0.5, 0.5, 0.25, 0.25]);
      k.softmaxCrossEntropyBackward(probs, Int32Array.from([2, 0]), 2, 3, probs);
      expect(Array.from(probs)).toEqual([0.125, 0.125, -0.25, -0.25, 0.125, 0.125]);
      const buf = f32(12, 0.25);
      expectError(
        () => k.softmaxCrossEntropyBackward(buf.subarray(0, 6), Int32Array.from([0, 1]), 2, 3, buf.subarray(1, 7)),
        RangeError,
        'softmaxCrossEntropyBackward: dlogits must be probs itself or not overlap it (partial overlap)',
      );
    });

    it('biasAdd allows y = x, not a partial overlap, and y must not overlap bias', () => {
      const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
      k.biasAdd(x, Float32Array.from([10, 20, 30]), 2, 3, x);
      expect(Array.from(x)).toEqual([11, 22, 33, 14, 25, 36]);
      const buf = f32(16);
      expectError(
        () => k.biasAdd(buf.subarray(0, 6), f32(3), 2, 3, buf.subarray(2, 8)),
        RangeError,
        'biasAdd: y must be x itself or not overlap it (partial overlap)',
      );
      expectError(
        () => k.biasAdd(f32(6), buf.subarray(0, 3), 2, 3, buf.subarray(2, 8)),
        RangeError,
        'biasAdd: y must not overlap bias',
      );
    });

    it('biasGrad rejects dbias overlapping dy', () => {
      const buf = f32(16);
      expectError(
        () => k.biasGrad(buf.subarray(0, 6), 2, 3, buf.subarray(5, 8), false),
        RangeError,
        'biasGrad: dbias must not overlap dy',
      );
    });

    it('relu allows y = x, not a partial overlap', () => {
      const x = Float32Array.from([-1, 2, -3, 4]);
      k.relu(x, 4, x);
      expect(Array.from(x)).toEqual([0, 2, 0, 4]);
      expectError(
        () => k.relu(x, 3, x.subarray(1)),
        RangeError,
        'relu: y must be x itself or not overlap it (partial overlap)',
      );
    });

    it('reluBackward allows dx = dy, and dx must not overlap y', () => {
      const dy = Float32Array.from([1, 2, 3, 4]);
      k.reluBackward(dy, Float32Array.from([0, 1, 0, 1]), 4, dy);
      expect(Array.from(dy)).toEqual([0, 2, 0, 4]);
      const y = f32(4, 1);
      expectError(() => k.reluBackward(f32(4), y, 4, y), RangeError, 'reluBackward: dx must not overlap y');
      const buf = f32(8);
      expectError(
        () => k.reluBackward(buf.subarray(0, 4), f32(4), 4, buf.subarray(3, 7)),
        RangeError,
        'reluBackward: dx must be dy itself or not overlap it (partial overlap)',
      );
    });

    it('the optimizers reject any two of their buffers overlapping', () => {
      const p = f32(5),
        g = f32(5),
        s = f32(5),
        t = f32(5),
        u = f32(5);
      expectError(
        () => k.sgdStep(p, p, null, 5, 0.1, 0, 0, 0, false, false),
        RangeError,
        'sgdStep: param must not overlap grad',
      );
      expectError(
        () => k.sgdStep(p, g, g, 5, 0.1, 0.9, 0, 0, false, false),
        RangeError,
        'sgdStep: buf must not overlap grad',
      );
      expectError(
        () => k.adamStep(p, g, g, s, null, 5, 1, 1e-3, 0.9, 0.999, 1e-8, 0, false, false),
        RangeError,
        'adamStep: m must not overlap grad',
      );
      expectError(
        () => k.adamStep(p, g, s, s, null, 5, 1, 1e-3, 0.9, 0.999, 1e-8, 0, false, false),
        RangeError,
        'adamStep: v must not overlap m',
      );
      expectError(
        () => k.adamStep(p, g, s, t, p, 5, 1, 1e-3, 0.9, 0.999, 1e-8, 0, false, true),
        RangeError,
        'adamStep: vmax must not overlap param',
      );
      expectError(
        () => k.adagradStep(p, g, p, 5, 0.1, 1e-10, 0),
        RangeError,
        'adagradStep: sum must not overlap param',
      );
      expectError(
        () => k.rmspropStep(p, g, s, s, null, 5, 0.01, 0.99, 1e-8, 0, 0, true),
        RangeError,
        'rmspropStep: gavg must not overlap sq',
      );
      expectError(
        () => k.rmspropStep(p, g, s, t, t, 5, 0.01, 0.99, 1e-8, 0, 0.9, true),
        RangeError,
        'rmspropStep: buf must not overlap gavg',
      );
      const big = f32(20);
      expectError(
        () => k.adagradStep(big.subarray(0, 5), big.subarray(4, 9), u, 5, 0.1, 1e-10, 0),
        RangeError,
        'adagradStep: param must not overlap grad',
      );
      // Adjacent views of one buffer are fine.
      k.adamStep(
        big.subarray(0, 5),
        big.subarray(5, 10),
        big.subarray(10, 15),
        big.subarray(15, 20),
        null,
        5,
        1,
        1e-3,
        0.9,
        0.999,
        1e-8,
        0,
        false,
        false,
      );
    });
  });

  describe('optional buffers', () => {
    it('sgdStep: buf may be null or undefined when momentum = 0, must be a Float32Array otherwise', () => {
      const p = f32(3, 1),
        g = f32(3, 1);
      k.sgdStep(p, g, null, 3, 0.5, 0, 0, 0, false, true);
      call('sgdStep', [p, g, undefined, 3, 0.5, 0, 0, 0, false, true]);
      expect(Array.from(p)).toEqual([0, 0, 0]);
      expectError(
        () => k.sgdStep(p, g, null, 3, 0.5, 0.9, 0, 0, false, true),
        TypeError,
        'sgdStep: buf must be a Float32Array when momentum != 0, got null',
      );
      expectError(
        () => k.sgdStep(p, g, null, 3, 0.5, -0.5, 0, 0, false, true),
        TypeError,
        'sgdStep: buf must be a Float32Array when momentum != 0, got null',
      );
      expectError(
        () => k.sgdStep(p, g, f32(2), 3, 0.5, 0.9, 0, 0, false, true),
        RangeError,
        'sgdStep: buf must have at least n = 3 elements, got 2',
      );
      // Not needed: ignored, even when short, but it must still be a Float32Array or null.
      k.sgdStep(p, g, f32(1), 3, 0.5, 0, 0, 0, false, true);
      expectError(
        () => call('sgdStep', [p, g, 0, 3, 0.5, 0, 0, 0, false, true]),
        TypeError,
        'sgdStep: buf must be a Float32Array or null, got number 0',
      );
    });

    it('adamStep: vmax is required only with amsgrad', () => {
      const a = () => [f32(4), f32(4), f32(4), f32(4)];
      k.adamStep(
        ...(a() as [Float32Array, Float32Array, Float32Array, Float32Array]),
        null,
        4,
        1,
        1e-3,
        0.9,
        0.999,
        1e-8,
        0,
        true,
        false,
      );
      expectError(
        () =>
          k.adamStep(
            ...(a() as [Float32Array, Float32Array, Float32Array, Float32Array]),
            null,
            4,
            1,
            1e-3,
            0.9,
            0.999,
            1e-8,
            0,
            true,
            true,
          ),
        TypeError,
        'adamStep: vmax must be a Float32Array when amsgrad is true, got null',
      );
      expectError(
        () =>
          k.adamStep(
            ...(a() as [Float32Array, Float32Array, Float32Array, Float32Array]),
            f32(3),
            4,
            1,
            1e-3,
            0.9,
            0.999,
            1e-8,
            0,
            true,
            true,
          ),
        RangeError,
        'adamStep: vmax must have at least n = 4 elements, got 3',
      );
    });

    it('adamStep: step must be an integer >= 1', () => {
      for (const step of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
        expectError(
          () => k.adamStep(f32(2), f32(2), f32(2), f32(2), null, 2, step, 1e-3, 0.9, 0.999, 1e-8, 0, false, false),
          RangeError,
          `adamStep: step must be an integer >= 1, got ${String(step)}`,
        );
      }
    });

    it('rmspropStep: gavg is required when centered, buf when momentum > 0', () => {
      const p = f32(3),
        g = f32(3, 1),
        sq = f32(3);
      k.rmspropStep(p, g, sq, null, null, 3, 0.01, 0.99, 1e-8, 0, 0, false);
      expectError(
        () => k.rmspropStep(p, g, sq, null, null, 3, 0.01, 0.99, 1e-8, 0, 0, true),
        TypeError,
        'rmspropStep: gavg must be a Float32Array when centered is true, got null',
      );
      expectError(
        () => k.rmspropStep(p, g, sq, null, null, 3, 0.01, 0.99, 1e-8, 0, 0.9, false),
        TypeError,
        'rmspropStep: buf must be a Float32Array when momentum > 0, got null',
      );
      expectError(
        () => k.rmspropStep(p, g, sq, f32(3), f32(1), 3, 0.01, 0.99, 1e-8, 0, 0.9, true),
        RangeError,
        'rmspropStep: buf must have at least n = 3 elements, got 1',
      );
    });
  });

  describe('threads', () => {
    it('setNumThreads changes getNumThreads', () => {
      const before = k.getNumThreads();
      try {
        for (const t of [1, 3, 2]) {
          k.setNumThreads(t);
          expect(k.getNumThreads()).toBe(t);
        }
      } finally {
        k.setNumThreads(before);
      }
    });

    it('rejects a thread count that is not an integer from 1 to 256', () => {
      const before = k.getNumThreads();
      for (const t of [0, -1, 1.5, NaN, Infinity, 257, 1e9]) {
        expectError(
          () => k.setNumThreads(t),
          RangeError,
          `setNumThreads: threads must be an integer from 1 to 256, got ${String(t)}`,
        );
      }
      for (const [t, got] of [
        ['4', 'string'],
        [null, 'null'],
        [undefined, 'undefined'],
      ] as const) {
        expectError(() => call('setNumThreads', [t]), TypeError, `setNumThreads: threads must be a number, got ${got}`);
      }
      expect(k.getNumThreads()).toBe(before);
    });
  });

  describe('SIMD paths', () => {
    it('reports a supported path, with scalar always supported', () => {
      const supported = k.supportedSimd!();
      expect(supported).toContain('scalar');
      expect(supported).toContain(k.simd());
      for (const s of supported) expect(['scalar', 'avx2', 'avx512', 'neon']).toContain(s); // never simd128 (wasm only)
    });

    it('computes the same gemm on every supported path', () => {
      const before = k.simd()!;
      const M = 13,
        N = 37,
        K = 19;
      const A = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
      const B = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i));
      try {
        for (const s of k.supportedSimd!()) {
          k.setSimd!(s);
          expect(k.simd()).toBe(s);
          const C = f32(M * N, NaN);
          k.gemm(false, false, M, N, K, 1, A, B, 0, C);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let ref = 0;
              for (let p = 0; p < K; p++) ref += A[i * K + p] * B[p * N + j];
              expect(Math.abs(C[i * N + j] - ref)).toBeLessThan(1e-4);
            }
          }
        }
      } finally {
        k.setSimd!(before);
      }
    });

    it('rejects an unknown or unsupported path, and a non-string', () => {
      const before = k.simd();
      expectError(
        () => call('setSimd', ['bogus']),
        RangeError,
        "setSimd: path must be 'scalar', 'avx2', 'avx512', 'neon' or 'simd128', got 'bogus'",
      );
      expectError(
        () => call('setSimd', ['AVX2']),
        RangeError,
        "setSimd: path must be 'scalar', 'avx2', 'avx512', 'neon' or 'simd128', got 'AVX2'",
      );
      expectError(() => call('setSimd', [2]), TypeError, 'setSimd: path must be a string, got number 2');
      expectError(() => call('setSimd', [null]), TypeError, 'setSimd: path must be a string, got null');
      for (const s of ['scalar', 'avx2', 'neon', 'simd128'] as const) {
        if (!k.supportedSimd!().includes(s)) {
          expectError(
            () => k.setSimd!(s),
            RangeError,
            new RegExp(`^setSimd: path '${s}' cannot run with this CPU and binary \\(supported: scalar`),
          );
        }
      }
      expect(k.simd()).toBe(before);
    });
  });

  it('works when a method is called detached from the module object', () => {
    const { relu } = k;
    const y = f32(2);
    relu(Float32Array.from([-1, 1]), 2, y);
    expect(Array.from(y)).toEqual([0, 1]);
  });

  describe('random calls', () => {
    // Views that overlap each other in every way, over memory also seen as Int32Array labels.
    const pool = Float32Array.from({ length: 96 }, (_, i) => (i % 9) - 4);
    const view = fc.tuple(fc.nat(64), fc.nat(32)).map(([o, l]) => pool.subarray(o, o + l));
    const fresh = fc.nat(32).map((l) => new Float32Array(l).fill(0.5));
    const f32Arb = fc.oneof(view, fresh);
    const kindArb: Record<Kind, fc.Arbitrary<unknown>> = {
      bool: fc.boolean(),
      size: fc.oneof(
        { arbitrary: fc.nat(8), weight: 12 },
        { arbitrary: fc.constantFrom(-1, 1.5, NaN, 2 ** 31, 2 ** 53), weight: 1 },
      ),
      number: fc.constantFrom(0, 0.1, 0.9, 1, 0.999, 1e-8, -0.5, NaN, Infinity, 1e38),
      int: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, 1.5, 2 ** 40)),
      f32: f32Arb,
      i32: fc.oneof(
        fc.array(fc.integer({ min: -2, max: 8 }), { maxLength: 8 }).map((a) => Int32Array.from(a)),
        fc.tuple(fc.nat(60), fc.nat(8)).map(([o, l]) => new Int32Array(pool.buffer, o * 4, l)),
      ),
      'f32?': fc.option(f32Arb),
    };
    const wrong = fc.constantFrom<unknown>(
      null,
      undefined,
      'x',
      {},
      [],
      1n,
      new Float64Array(8),
      new Uint8Array(8),
      Symbol('s'),
    );
    const anything = fc.oneof(wrong, ...Object.values(kindArb));
    const allowed = (fn: string, e: unknown) =>
      (e instanceof TypeError || e instanceof RangeError) && (e as Error).message.startsWith(`${fn}: `);

    // A sliding-window kernel's output sizes must follow from the others (the table's window
    // rules), which random sizes seldom do: half the calls get sound window parameters and the
    // output sizes the rules dictate.
    const fitWindows = (fn: string, a: unknown[]) => {
      const spec: KernelSpec = KERNELS[fn as KernelName];
      const at = (n: string | undefined) => spec.params.findIndex((p) => p.name === n);
      for (const w of spec.windows ?? []) {
        // and sound window parameters (8 of them, each often a bad int, would rarely all be)
        for (const [n, min] of [
          [w.kernel, 1],
          [w.stride, 1],
          [w.pad, 0],
          [w.dilation, 1],
        ] as const) {
          const i = at(n);
          if (i >= 0 && !(Number.isInteger(a[i]) && (a[i] as number) >= min && (a[i] as number) <= 5)) a[i] = min;
        }
        const v = (n: string | undefined, dflt: number) => (n === undefined ? dflt : a[at(n)]);
        const vals = [v(w.in, 0), v(w.kernel, 1), v(w.stride, 1), v(w.pad, 0), v(w.dilation, 1)];
        if (!vals.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) continue;
        const [i, k, st, p, d] = vals as number[];
        const out = windowOut(i, k, st, p, d, w.ceil !== undefined && a[at(w.ceil)] === true);
        if (out >= 0) a[at(w.out)] = out;
      }
    };

    it.each(bindings.map((b) => [b.fn, b] as const))(
      '%s: well-typed calls with random sizes and overlaps run or throw TypeError/RangeError',
      (fn, b) => {
        const args = fc.tuple(
          ...b.params.map((p) => fc.oneof({ arbitrary: kindArb[p.kind], weight: 30 }, { arbitrary: wrong, weight: 1 })),
        );
        let ran = 0;
        fc.assert(
          fc.property(args, fc.boolean(), (a, fit) => {
            if (fit) fitWindows(fn, a);
            try {
              call(fn, a);
              ran++;
            } catch (e) {
              if (!allowed(fn, e)) throw e;
            }
          }),
          { numRuns: 3000, seed: 42 },
        );
        expect(ran, 'some random calls should be valid and reach the kernel').toBeGreaterThan(0);
      },
    );

    it.each(bindings.map((b) => [b.fn, b] as const))(
      '%s: random argument lists of any length throw only TypeError/RangeError',
      (fn, b) => {
        fc.assert(
          fc.property(fc.array(anything, { minLength: 0, maxLength: b.params.length + 2 }), (a) => {
            try {
              call(fn, a);
            } catch (e) {
              if (!allowed(fn, e)) throw e;
            }
          }),
          { numRuns: 500, seed: 7 },
        );
      },
    );

    it('leaves the process alive and computing correctly', () => {
      const C = f32(4);
      k.gemm(false, false, 2, 2, 2, 1, Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]), 0, C);
      expect(Array.from(C)).toEqual([19, 22, 43, 50]);
    });
  });
});

describe.skipIf(!native)(`the TS backend fails the same way${skipReason}`, () => {
  const ts = backends().ts as unknown as Record<string, (...a: unknown[]) => unknown>;
  const bad: Record<Kind, unknown[]> = {
    bool: [1, null],
    size: [-1, 1.5, NaN, 2 ** 53, 2 ** 40, '2'],
    number: ['2', undefined],
    int: [0, 1.5, '1'],
    f32: [new Float64Array(16), [1], null, new Float32Array(1), new Float32Array(0)],
    i32: [new Float32Array(4), [0], new Int32Array(1)],
    'f32?': [new Float64Array(16), 5, null, new Float32Array(1)],
  };
  it.each(bindings.map((b) => [b.fn, b] as const))(
    '%s: same error type and message for every bad argument',
    (_fn, b) => {
      const cases: unknown[][] = [b.valid(), b.valid().slice(0, -1), [...b.valid(), 0]];
      b.params.forEach((p, i) => {
        for (const v of bad[p.kind]) {
          const args = b.valid();
          args[i] = v;
          cases.push(args);
        }
      });
      for (const args of cases) {
        // Fresh copies for each backend: a call that succeeds writes into its buffers.
        const copy = () =>
          args.map((a) => (ArrayBuffer.isView(a) && !(a instanceof DataView) ? (a as Float32Array).slice() : a));
        expect(outcome(() => ts[b.fn](...copy()))).toBe(outcome(() => call(b.fn, copy())));
      }
    },
  );
});

describe.skipIf(!native)(`environment variables read at load${skipReason}`, () => {
  it('NODEGRAD_SIMD=scalar selects the scalar path, and gemm is right on it', () => {
    const r = runNode(
      `${loadAddonSnippet}${checkGemmSnippet}
      console.log(JSON.stringify({ simd: addon.simd(), err: checkGemm(addon) }));`,
      { NODEGRAD_SIMD: 'scalar' },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson<{ simd: string; err: number }>(r);
    expect(out.simd).toBe('scalar');
    expect(out.err).toBeLessThan(1e-5);
  });

  it('NODEGRAD_THREADS sets the pool size; a bad value fails the load naming the variable', () => {
    const ok = runNode(`${loadAddonSnippet}console.log(JSON.stringify(addon.getNumThreads()))`, {
      NODEGRAD_THREADS: '3',
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(lastJson<number>(ok)).toBe(3);
    for (const bad of ['0', '-2', '1.5', 'four', '257', '99999999999']) {
      const r = runNode(
        `try { ${loadAddonSnippet} console.log('loaded') } catch (e) { console.log(JSON.stringify(e.message)) }`,
        { NODEGRAD_THREADS: bad },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(lastJson<string>(r)).toBe(`NODEGRAD_THREADS='${bad}' must be an integer from 1 to 256`);
    }
  });

  it('NODEGRAD_SIMD naming a path this CPU cannot run fails the load', () => {
    const probe = runNode(`${loadAddonSnippet}console.log(JSON.stringify(addon.supportedSimd()))`);
    const supported = lastJson<string[]>(probe);
    const missing = ['avx2', 'neon', 'simd128'].filter((s) => !supported.includes(s));
    for (const s of missing) {
      const r = runNode(
        `try { ${loadAddonSnippet} console.log('loaded') } catch (e) { console.log(JSON.stringify(e.message)) }`,
        { NODEGRAD_SIMD: s },
      );
      expect(lastJson<string>(r)).toBe(
        `NODEGRAD_SIMD='${s}' cannot run with this CPU and binary (supported: ${supported.join(', ')})`,
      );
    }
  });

  describe('through the loader (lib/backend)', () => {
    let bundle = '';
    const loaderScript = () => `${requireBackendSnippet(bundle)}
      const out = { backend: backend.backend(), hasNative: !!backend.backends().native, info: backend.info() };
      console.log(JSON.stringify(out));`;

    beforeAll(async () => {
      bundle = await bundleBackend();
    });
    afterAll(() => {
      if (bundle) fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
    });

    it('importing the backend loads nothing, even with a value the addon would refuse', () => {
      const r = runNode(`${requireBackendSnippet(bundle)} console.log(JSON.stringify('imported'));`, {
        NODEGRAD_SIMD: 'bogus',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(lastJson<string>(r)).toBe('imported');
      expect(r.stderr).toBe('');
    });

    it.each([
      [{ NODEGRAD_SIMD: 'bogus' }, "NODEGRAD_SIMD='bogus' is not a SIMD path"],
      [{ NODEGRAD_THREADS: 'abc' }, "NODEGRAD_THREADS='abc' must be an integer from 1 to 256"],
      [
        { NODEGRAD_THREADS: 'abc', NODEGRAD_BACKEND: 'native' },
        "NODEGRAD_THREADS='abc' must be an integer from 1 to 256",
      ],
    ])('%j: the first use throws naming the variable instead of falling back to TS', (env, message) => {
      const r = runNode(loaderScript(), env);
      expect(r.status).not.toBe(0);
      expect(r.signal).toBeNull();
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`BackendConfigError: nodegrad: ${message}`);
    });

    it('with NODEGRAD_BACKEND=ts a refused configuration leaves native unavailable, with the reason in info()', () => {
      const r = runNode(loaderScript(), { NODEGRAD_SIMD: 'bogus', NODEGRAD_BACKEND: 'ts' });
      expect(r.status, r.stderr).toBe(0);
      const out = lastJson<{ backend: string; hasNative: boolean; info: { nativeError?: string } }>(r);
      expect(out.backend).toBe('ts');
      expect(out.hasNative).toBe(false);
      expect(out.info.nativeError).toContain("NODEGRAD_SIMD='bogus' is not a SIMD path");
      expect(r.stderr).toBe('');
    });

    it('NODEGRAD_SIMD=scalar is visible through info()', () => {
      const r = runNode(loaderScript(), { NODEGRAD_SIMD: 'scalar', NODEGRAD_BACKEND: 'native' });
      expect(r.status, r.stderr).toBe(0);
      const out = lastJson<{ backend: string; info: { simd: string } }>(r);
      expect(out.backend).toBe('native');
      expect(out.info.simd).toBe('scalar');
    });
  });
});
