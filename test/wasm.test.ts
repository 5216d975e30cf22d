// The wasm backend's own behaviour (lib/backend/wasm.ts): what its kernels compute is covered
// by every kernel, op and loss test, which iterate over every backend; here, what the copying
// into and out of the module's memory must keep, and its controls.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backends } from '../lib/backend/index.js';
import { KERNEL_NAMES } from '../lib/backend/kernel-table.js';
import { loadWasm } from '../lib/backend/wasm.js';
import { normal, rng } from './helpers/reference.js';

const wasm = backends().wasm;

// The repository ships wasm/nodegrad.wasm, so here it must load: a module that builds but does
// not instantiate (an import the loader lacks) would otherwise skip every wasm test below and
// leave users without a compiler on the TS backend.
it.runIf(fs.existsSync(path.join(__dirname, '..', 'wasm', 'nodegrad.wasm')))('the committed module loads', () => {
  expect(() => loadWasm()).not.toThrow();
  expect(wasm).toBeDefined();
});

describe.runIf(wasm)('the wasm backend', () => {
  const k = wasm!;

  it('runs on one thread: setNumThreads checks its argument as the addon does and keeps 1', () => {
    k.setNumThreads(4);
    expect(k.getNumThreads()).toBe(1);
    expect(() => k.setNumThreads(0)).toThrow(
      new RangeError('setNumThreads: threads must be an integer from 1 to 256, got 0'),
    );
  });

  it('uses simd128 by default, and its scalar path gives the same bits for GEMM and bias + ReLU (NODEGRAD_SIMD=scalar forces it)', () => {
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
    // The fused bias + ReLU pair: C past one 256-column block and not a multiple of 4 (the
    // scalar tails), NaN, -0 and exact zeros among the inputs.
    const [R, C] = [7, 263];
    const x = normal(rand, R * C),
      bias = normal(rand, C),
      dy = normal(rand, R * C);
    x.set([Number.NaN, -0, 0, -bias[3]], 0);
    bias[1] = -0;
    const bits = (a: Float32Array) => new Uint32Array(a.buffer);
    const y1 = new Float32Array(R * C),
      y2 = new Float32Array(R * C);
    k.biasRelu(x, bias, R, C, y1);
    scalar.biasRelu(x, bias, R, C, y2);
    expect(bits(y1)).toEqual(bits(y2));
    expect(Number.isNaN(y1[0]) && Object.is(y1[1], 0) && Object.is(y1[3], 0)).toBe(true);
    for (const accumulate of [false, true]) {
      const [dx1, dx2] = [new Float32Array(R * C), new Float32Array(R * C)];
      const [db1, db2] = [bias.slice(), bias.slice()];
      k.biasReluBackward(dy, y1, R, C, dx1, db1, accumulate);
      scalar.biasReluBackward(dy, y1, R, C, dx2, db2, accumulate);
      expect(bits(dx1)).toEqual(bits(dx2));
      expect(bits(db1)).toEqual(bits(db2));
    }
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

  it.each([
    { decoupled: false, wd: 0 },
    { decoupled: false, wd: 0.01 },
    { decoupled: true, wd: 0.01 },
  ])("adamStep on simd128 gives the scalar path's bits (%o)", ({ decoupled, wd }) => {
    const n = 1003; // a tail of 3 past the vectors of 4
    const rand = rng(7);
    const p0 = normal(rand, n);
    const grads = Array.from({ length: 3 }, () => normal(rand, n));
    const run = (path: 'scalar' | 'simd128') => {
      const prev = k.simd()!;
      k.setSimd!(path);
      try {
        const p = p0.slice(),
          m = new Float32Array(n),
          v = new Float32Array(n);
        grads.forEach((g, i) => k.adamStep(p, g, m, v, null, n, i + 1, 1e-2, 0.9, 0.999, 1e-8, wd, decoupled, false));
        return [p, m, v].map((a) => [...new Uint32Array(a.buffer)]);
      } finally {
        k.setSimd!(prev);
      }
    };
    expect(run('simd128')).toEqual(run('scalar'));
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

  it('copies an output in only where the kernel reads it: GEMM with beta != 0, an accumulating gradient', () => {
    // Each first call leaves its result in the arena where the second call's output goes, so a
    // second call that did not copy its C or dbias in would add to that result, not to the JS one.
    const A = Float32Array.from([1, 2, 3, 4]),
      B = Float32Array.from([5, 6, 7, 8]);
    const C = new Float32Array(4).fill(Number.NaN);
    k.gemm(false, false, 2, 2, 2, 1, A, B, 0, C);
    expect([...C]).toEqual([19, 22, 43, 50]);
    C.fill(1);
    k.gemm(false, false, 2, 2, 2, 1, A, B, 1, C);
    expect([...C]).toEqual([20, 23, 44, 51]);
    const dy = Float32Array.from([1, 2, 3, 4, 5, 6]),
      y = Float32Array.from([1, 0, 1, 1, 1, 0]);
    const dx = new Float32Array(6).fill(Number.NaN),
      dbias = new Float32Array(3).fill(Number.NaN);
    k.biasReluBackward(dy, y, 2, 3, dx, dbias, false);
    expect([...dx]).toEqual([1, 0, 3, 4, 5, 0]);
    expect([...dbias]).toEqual([5, 5, 3]);
    dbias.fill(10);
    k.biasReluBackward(dy, y, 2, 3, dx, dbias, true);
    expect([...dbias]).toEqual([15, 15, 13]);
    k.biasGrad(dy, 2, 3, dbias, true);
    expect([...dbias]).toEqual([20, 22, 22]);
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

// A stand-in module with the real one's exports, written byte by byte: every kernel traps
// (unreachable), and malloc gives 1024 for up to 64 KB and 0 (out of memory) beyond.
function trappingModule(): string {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      const done = (n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40);
      out.push(done ? b : b | 0x80);
      if (done) return out;
    }
  };
  const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
  const name = (s: string): number[] => [...leb(s.length), ...Buffer.from(s)];
  const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
  const I32 = 0x7f;
  const types = [
    [0x60, 0, 0], // 0: () -> ()
    [0x60, 1, I32, 1, I32], // 1: (i32) -> i32
    [0x60, 1, I32, 0], // 2: (i32) -> ()
    [0x60, 0, 1, I32], // 3: () -> i32
  ];
  const bodies = [
    [0, 0x00, 0x0b], // 0: unreachable (every kernel)
    [0, 0x20, 0, 0x41, ...leb(65536), 0x4b, 0x04, I32, 0x41, 0, 0x05, 0x41, ...leb(1024), 0x0b, 0x0b], // 1: malloc
    [0, 0x0b], // 2: free
    [0, 0x41, 4, 0x0b], // 3: ngw_simd: simd128
    [0, 0x41, 0x11, 0x0b], // 4: ngw_supported_simd: scalar and simd128
    [0, 0x41, 1, 0x0b], // 5: ngw_set_simd: done
  ];
  const exports = [
    [...name('memory'), 2, 0],
    [...name('malloc'), 0, 1],
    [...name('free'), 0, 2],
    [...name('ngw_simd'), 0, 3],
    [...name('ngw_supported_simd'), 0, 4],
    [...name('ngw_set_simd'), 0, 5],
    ...KERNEL_NAMES.map((k) => [...name(`ngw_${k}`), 0, 0]),
  ];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec(types)),
    ...section(3, vec([[0], [1], [2], [3], [3], [1]])),
    ...section(5, vec([[0, 1]])),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies.map((b) => [...leb(b.length), ...b]))),
  ];
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-wasm-')), 'trap.wasm');
  fs.writeFileSync(file, Uint8Array.from(bytes));
  return file;
}

describe('a module that traps or runs out of memory', () => {
  const file = trappingModule();
  const k = loadWasm(file);
  afterAll(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  const gemm = (n: number) =>
    k.gemm(false, false, n, n, n, 1, new Float32Array(n * n), new Float32Array(n * n), 0, new Float32Array(n * n));

  it('a trap becomes an Error naming the kernel, and the next call runs on a fresh instance', () => {
    expect(() => gemm(4)).toThrow(/^gemm: the WebAssembly kernel failed: unreachable/);
    expect(() => k.relu(new Float32Array(3), 3, new Float32Array(3))).toThrow(/^relu: the WebAssembly kernel failed/);
  });

  it('memory the module cannot give is a RangeError naming the kernel, not a crash', () => {
    expect(() => gemm(100)).toThrow(
      new RangeError('gemm: out of WebAssembly memory (the call needs 0.1 MB; wasm32 has at most 4096)'),
    );
  });
});
