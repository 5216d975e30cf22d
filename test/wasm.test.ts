// The wasm backend's own behaviour (lib/backend/wasm.ts): what its kernels compute is covered
// by every kernel, op and loss test, which iterate over every backend; here, what the copying
// into and out of the module's memory must keep, and its controls.
import { describe, expect, it } from 'vitest';
import { backends } from '../lib/backend/index.js';
import { loadWasm } from '../lib/backend/wasm.js';
import { normal, rng } from './helpers/reference.js';

const wasm = backends().wasm;

describe.runIf(wasm)('the wasm backend', () => {
  const k = wasm!;

  it('runs on one thread: setNumThreads checks its argument as the addon does and keeps 1', () => {
    k.setNumThreads(4);
    expect(k.getNumThreads()).toBe(1);
    expect(() => k.setNumThreads(0)).toThrow(
      new RangeError('setNumThreads: threads must be an integer from 1 to 256, got 0'),
    );
  });

  it('uses simd128 by default, and its scalar path gives the same bits (NODEGRAD_SIMD=scalar forces it)', () => {
    expect(k.simd()).toBe('simd128');
    expect(k.supportedSimd!()).toEqual(['scalar', 'simd128']);
    const saved = process.env.NODEGRAD_SIMD;
    process.env.NODEGRAD_SIMD = 'scalar';
    let scalar: typeof k;
    try {
      scalar = loadWasm();
    } finally {
      if (saved === undefined) delete process.env.NODEGRAD_SIMD;
      else process.env.NODEGRAD_SIMD = saved;
    }
    expect(scalar.simd()).toBe('scalar');
    const rand = rng(5);
    const [M, N, K] = [37, 45, 300];
    const A = normal(rand, M * K),
      B = normal(rand, K * N);
    const c1 = new Float32Array(M * N),
      c2 = new Float32Array(M * N);
    k.gemm(false, true, M, N, K, 1, A, B, 0, c1);
    scalar.gemm(false, true, M, N, K, 1, A, B, 0, c2);
    expect(new Uint32Array(c2.buffer)).toEqual(new Uint32Array(c1.buffer));
  });

  it.runIf(backends().native)("gives native's scalar GEMM bit for bit (the same arithmetic, the same k-blocks)", () => {
    const native = backends().native!;
    const prev = native.simd()!;
    const rand = rng(6);
    const [M, N, K] = [67, 33, 1100];
    const A = normal(rand, M * K),
      B = normal(rand, K * N);
    for (const [ta, tb] of [
      [false, false],
      [true, true],
    ] as const) {
      const cw = new Float32Array(M * N),
        cn = new Float32Array(M * N);
      native.setSimd!('scalar');
      try {
        native.gemm(ta, tb, M, N, K, 0.5, A, B, 0, cn);
      } finally {
        native.setSimd!(prev);
      }
      k.gemm(ta, tb, M, N, K, 0.5, A, B, 0, cw);
      expect(new Uint32Array(cw.buffer)).toEqual(new Uint32Array(cn.buffer));
    }
  });

  it('refuses a SIMD path it cannot run, naming the supported ones', () => {
    expect(() => k.setSimd!('avx2')).toThrow(
      new RangeError("setSimd: path 'avx2' cannot run in the WebAssembly module (supported: scalar, simd128)"),
    );
    const saved = process.env.NODEGRAD_SIMD;
    process.env.NODEGRAD_SIMD = 'neon';
    try {
      expect(() => loadWasm()).toThrow("NODEGRAD_SIMD='neon' cannot run in the WebAssembly module");
    } finally {
      if (saved === undefined) delete process.env.NODEGRAD_SIMD;
      else process.env.NODEGRAD_SIMD = saved;
    }
  });

  it('computes in place when the output is the input, and writes only the elements it covers', () => {
    const buf = Float32Array.from([9, -1, 2, -3, 4, 9]);
    const view = buf.subarray(1, 5);
    k.relu(view, 4, view);
    expect([...buf]).toEqual([9, 0, 2, 0, 4, 9]);
    const dy = Float32Array.from([1, 2, 3, 4]);
    k.reluBackward(dy, Float32Array.from([1, 0, 1, 0]), 3, dy);
    expect([...dy]).toEqual([1, 0, 3, 4]);
  });

  it('grows its memory for a call larger than any before, and the results stay right', () => {
    const n = 12 << 20; // 48 MB per array: more than the module starts with
    const x = new Float32Array(n).fill(-1);
    x[n - 1] = 3;
    const y = new Float32Array(n);
    k.relu(x, n, y);
    expect(y[0]).toBe(0);
    expect(y[n - 1]).toBe(3);
    const C = new Float32Array(4);
    k.gemm(false, false, 2, 2, 2, 1, Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]), 0, C);
    expect([...C]).toEqual([19, 22, 43, 50]);
  });

  it('copies back exactly the arrays the table says the kernel writes', () => {
    const n = 5;
    const param = new Float32Array(n).fill(1),
      grad = new Float32Array(n).fill(0.5),
      m = new Float32Array(n),
      v = new Float32Array(n);
    const before = grad.slice();
    k.adamStep(param, grad, m, v, null, n, 1, 0.1, 0.9, 0.999, 1e-8, 0, false, false);
    expect(grad).toEqual(before);
    expect(param[0]).toBeCloseTo(0.9, 6);
    expect(m[0]).toBeCloseTo(0.05, 7);
  });
});
