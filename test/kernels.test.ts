// Kernel parity: every kernel on every available backend (the TS backend, and the native
// addon and the wasm module on each SIMD path they support here) against float64 references
// written as plain loops (test/helpers/reference.ts), then each of them against TS on the same
// inputs.
//
// Tolerances, with u = 2^-24 (float32 unit roundoff):
// - gemm: |C - ref| <= (K + 8) * u * S, S = sum_k |alpha * a_ik * b_kj| + |beta * c_ij|.
//   This is the classical worst-case bound for a float32 dot product of length K (gamma_K, any
//   summation order: a blocked or SIMD tree sum is no deeper than the sequential one), plus a
//   few roundings for alpha *, + beta * c and the partial sums stored in C between k-blocks
//   (at most 3 of them for K <= 784 at the native KC >= 256 and TS KC = 256). alpha and beta
//   are float32 in the kernels and in the reference. Nothing looser is needed, and anything
//   wrong (a dropped, doubled or misplaced term) exceeds it: a term is ~ S / K, far above
//   K * u * S for K <= 257. Native against TS: twice the bound (each is within it of the
//   reference).
// - softmax: probabilities within 1e-6 relative (+1e-30 for underflowing ones) of the float64
//   softmax (a float32 rounding is 6e-8); the loss (float64 in both backends) within
//   1e-6 * (1 + |loss|). Backward: (p - onehot) / N rounded once: 4u relative + 1e-12.
// - biasGrad: a sum of N floats: (N + 2) * u * sum_n |dy| (+ the accumulated term).
// - relu / reluBackward / biasAdd: exact (one float32 operation or none per element).
// - optimizers: several steps in float32 against the rule in float64:
//   |x - ref| <= 1e-5 * |ref| + 1e-6 * max|ref| for every parameter and state buffer.
//   Each step rounds a handful of float32 operations (~1e-7 relative each), so a 1e-5
//   envelope over 6 steps has room, while a wrong rule (a missing bias correction, dampening on
//   the first step, eps inside the sqrt) is off by far more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../lib/backend/index.js';
import type { Kernels } from '../lib/backend/types.js';
import {
  U32,
  adagradRef,
  adamRef,
  gemmRef,
  normal,
  rmspropRef,
  rng,
  sgdRef,
  softmaxRef,
  uniform,
  worstRatio,
  type AdamHyper,
  type RmspropHyper,
  type SgdHyper,
} from './helpers/reference.js';
import { compiled, simdTargets } from './helpers/backends.js';

const targets = simdTargets;

const gemmTol =
  (K: number, scale: Float64Array, factor = 1) =>
  (i: number) =>
    factor * (K + 8) * U32 * scale[i];

/** Fails with a message saying which case and element, when err / tol > 1 anywhere. */
function expectWithin(what: string, r: { ratio: number; index: number; got: number; want: number }): void {
  if (!(r.ratio <= 1)) {
    expect.fail(
      `${what}: element ${r.index} is ${r.got}, want ${r.want} (error ${r.ratio.toPrecision(3)} x tolerance)`,
    );
  }
}

/** The same float32 bits everywhere (a plain loop: toEqual on large typed arrays is slow). */
function expectSameBits(what: string, got: Float32Array, want: Float32Array): void {
  expect(got.length, what).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < w.length; i++) {
    if (g[i] !== w[i]) expect.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]} (bits differ)`);
  }
}

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];
const tname = (ta: boolean, tb: boolean) => `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;

// Every size in every role (M, N, K), each paired with two partner sizes, plus larger shapes.
const SIZES = [1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 64, 100, 255, 257];
const PARTNERS: [number, number][] = [
  [7, 33],
  [17, 64],
  [1, 100],
  [255, 3],
  [16, 31],
  [5, 2],
  [64, 15],
];
const GEMM_SHAPES: [number, number, number][] = [];
SIZES.forEach((v, idx) => {
  for (let role = 0; role < 3; role++) {
    for (const pick of [0, 3]) {
      const [a, b] = PARTNERS[(idx + role + pick) % PARTNERS.length];
      GEMM_SHAPES.push(role === 0 ? [v, a, b] : role === 1 ? [a, v, b] : [a, b, v]);
    }
  }
});
GEMM_SHAPES.push([255, 257, 100], [257, 100, 255], [100, 255, 257], [64, 64, 64], [16, 17, 15]);
// (alpha, beta) cycled over the shapes; beta = 0 runs with C full of NaN. alpha = 0 (which
// skips the product) has its own test, so that every shape here really multiplies.
const ALPHA_BETA: [number, number][] = [
  [1, 0],
  [1, 1],
  [0.5, -0.5],
  [-1.25, 0.75],
  [2, 1],
  [0.3, 0],
  [1, -1],
];

/** Runs gemm on seeded uniform inputs (C full of NaN when beta = 0); with the reference if asked. */
function runGemm(
  k: Kernels,
  ta: boolean,
  tb: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  beta: number,
  seed: number,
  withRef = true,
) {
  const rand = rng(seed);
  const A = uniform(rand, M * K),
    B = uniform(rand, K * N);
  const C = beta === 0 ? new Float32Array(M * N).fill(NaN) : uniform(rand, M * N);
  const ref = withRef ? gemmRef(ta, tb, M, N, K, alpha, A, B, beta, C) : null;
  k.gemm(ta, tb, M, N, K, alpha, A, B, beta, C);
  return { C, ref: ref as ReturnType<typeof gemmRef> };
}

describe.each(targets())('$label', (t) => {
  const k = t.kernels;
  beforeAll(() => t.setup());
  afterAll(() => t.teardown());

  describe('gemm', () => {
    it.each(TRANSPOSES)('matches the float64 product on every size, transA=%s transB=%s', (ta, tb) => {
      GEMM_SHAPES.forEach(([M, N, K], i) => {
        const [alpha, beta] = ALPHA_BETA[i % ALPHA_BETA.length];
        const { C, ref } = runGemm(k, ta, tb, M, N, K, alpha, beta, 1000 + i);
        expectWithin(
          `${tname(ta, tb)} M=${M} N=${N} K=${K} alpha=${alpha} beta=${beta}`,
          worstRatio(C, ref.value, gemmTol(K, ref.scale)),
        );
      });
    });

    it('with beta = 0 never reads C (C full of NaN gives the plain product)', () => {
      for (const [ta, tb] of TRANSPOSES) {
        for (const [M, N, K] of [
          [5, 7, 3],
          [33, 17, 64],
          [4, 4, 4],
          [1, 1, 1],
        ] as const) {
          const { C, ref } = runGemm(k, ta, tb, M, N, K, 1, 0, M * N * K);
          expect(C.every(Number.isFinite)).toBe(true);
          expectWithin(`${tname(ta, tb)} ${M}x${N}x${K}`, worstRatio(C, ref.value, gemmTol(K, ref.scale)));
        }
      }
    });

    it('with alpha = 0 gives beta * C', () => {
      for (const beta of [1, -0.5, 0, 2]) {
        const rand = rng(7);
        const A = uniform(rand, 6 * 5),
          B = uniform(rand, 5 * 4),
          C0 = uniform(rand, 6 * 4);
        const C = C0.slice();
        k.gemm(false, true, 6, 4, 5, 0, A, B, beta, C);
        expect(Array.from(C)).toEqual(Array.from(C0, (c) => Math.fround(beta * c) + 0));
      }
    });

    it('with K = 0 gives beta * C (zeros when beta = 0, even over NaN)', () => {
      const empty = new Float32Array(0);
      for (const [ta, tb] of TRANSPOSES) {
        const C = new Float32Array([1, -2, 3, 4, 5, 6]);
        k.gemm(ta, tb, 2, 3, 0, 1, empty, empty, -0.5, C);
        expect(Array.from(C)).toEqual([-0.5, 1, -1.5, -2, -2.5, -3]);
        const D = new Float32Array(6).fill(NaN);
        k.gemm(ta, tb, 3, 2, 0, 1, empty, empty, 0, D);
        expect(Array.from(D)).toEqual([0, 0, 0, 0, 0, 0]);
        const E = new Float32Array([1, 2]);
        k.gemm(ta, tb, 1, 2, 0, 2, empty, empty, 1, E);
        expect(Array.from(E)).toEqual([1, 2]);
      }
    });

    it('with M = 0 or N = 0 writes nothing', () => {
      const A = new Float32Array(12).fill(1),
        B = new Float32Array(12).fill(1);
      const C = new Float32Array([7, 7, 7]);
      k.gemm(false, false, 0, 3, 4, 1, A, B, 0, C);
      k.gemm(true, true, 3, 0, 4, 1, A, B, 0, C);
      expect(Array.from(C)).toEqual([7, 7, 7]);
    });

    it('works on subarray views and touches only the first M*N elements of C', () => {
      const rand = rng(11);
      const M = 19,
        N = 13,
        K = 21;
      const Abuf = uniform(rand, M * K + 8),
        Bbuf = uniform(rand, K * N + 8),
        Cbuf = new Float32Array(4 + M * N + 10).fill(-9);
      const A = Abuf.subarray(3, 3 + M * K),
        B = Bbuf.subarray(5),
        C = Cbuf.subarray(4, 4 + M * N + 3);
      const ref = gemmRef(true, false, M, N, K, 1.5, A, B, 0, C);
      k.gemm(true, false, M, N, K, 1.5, A, B, 0, C);
      expectWithin('subarray views', worstRatio(C.subarray(0, M * N), ref.value, gemmTol(K, ref.scale)));
      expect(Array.from(Cbuf.subarray(0, 4))).toEqual([-9, -9, -9, -9]);
      expect(Array.from(Cbuf.subarray(4 + M * N))).toEqual(new Array(10).fill(-9));
    });

    it('gives the same bits for the same inputs, whatever ran before', () => {
      const a = runGemm(k, false, true, 67, 45, 300, 1, 0, 5, false).C;
      runGemm(k, true, false, 300, 700, 90, 1, 1, 6, false); // grows and dirties any scratch
      const b = runGemm(k, false, true, 67, 45, 300, 1, 0, 5, false).C;
      expectSameBits('second call', b, a);
    });

    it.skipIf(t.kernels.name !== 'native')('gives bit-identical results with 1, 2 and 4 threads', () => {
      const prev = k.getNumThreads();
      try {
        const shapes: [boolean, boolean, number, number, number][] = [
          [false, false, 256, 256, 784],
          [true, false, 784, 256, 256],
          [false, true, 256, 784, 256],
          [true, true, 257, 255, 100],
          [false, false, 256, 10, 256],
          [false, true, 256, 256, 10],
          [false, false, 1000, 37, 33],
          [true, false, 10, 256, 256],
          [false, false, 12, 300, 1100],
        ];
        for (const [ta, tb, M, N, K] of shapes) {
          const results = [1, 2, 4].map((threads) => {
            k.setNumThreads(threads);
            return runGemm(k, ta, tb, M, N, K, 1, 0.5, M + N + K, false).C;
          });
          expectSameBits(`${tname(ta, tb)} ${M}x${N}x${K}, 2 threads`, results[1], results[0]);
          expectSameBits(`${tname(ta, tb)} ${M}x${N}x${K}, 4 threads`, results[2], results[0]);
        }
      } finally {
        k.setNumThreads(prev);
      }
    });
  });

  describe('softmaxCrossEntropy', () => {
    function check(logits: Float32Array, labels: Int32Array, N: number, C: number) {
      const probs = new Float32Array(N * C).fill(NaN);
      const loss = k.softmaxCrossEntropy(logits, labels, N, C, probs);
      const ref = softmaxRef(logits, labels, N, C);
      expect(Number.isFinite(loss)).toBe(true);
      expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(ref.loss)));
      expectWithin(
        `probs N=${N} C=${C}`,
        worstRatio(probs, ref.probs, (i) => 1e-6 * ref.probs[i] + 1e-30),
      );
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += probs[n * C + c];
        expect(Math.abs(s - 1), `row ${n} sums to ${s}`).toBeLessThanOrEqual(1e-6);
      }
      return { probs, loss, ref };
    }

    it('is finite on extreme rows: [1e30, -1e30, 0], all equal, very negative, +-3.4e38', () => {
      const rows = [
        [1e30, -1e30, 0],
        [1e30, -1e30, 0],
        [1e30, -1e30, 0],
        [5, 5, 5],
        [-1e4, -1e4 - 1, -1e4 - 2],
        [-1e30, -1e30, -1e30],
        [3.4e38, -3.4e38, 0],
        [-3.4e38, -3.4e38, -3.4e38],
      ];
      const labels = new Int32Array([0, 1, 2, 1, 2, 0, 1, 2]);
      const { probs, loss } = check(new Float32Array(rows.flat()), labels, rows.length, 3);
      expect(Array.from(probs.subarray(0, 3))).toEqual([1, 0, 0]);
      expect(probs[9]).toBeCloseTo(1 / 3, 7);
      expect(probs[15]).toBeCloseTo(1 / 3, 7);
      // Row 1's loss is 2e30 (label on the -1e30 logit), finite in float64.
      expect(loss).toBeGreaterThan(1e29);
    });

    it('gives ln(C) on equal logits and 0 when C = 1', () => {
      const C = 10,
        N = 4;
      const r = check(new Float32Array(N * C).fill(0.25), new Int32Array([0, 3, 9, 5]), N, C);
      expect(r.loss).toBeCloseTo(Math.log(C), 12);
      const one = check(new Float32Array([3, -1e30, 7]), new Int32Array([0, 0, 0]), 3, 1);
      expect(one.loss).toBe(0);
      expect(Array.from(one.probs)).toEqual([1, 1, 1]);
    });

    it('matches the float64 softmax on random rows, C = 10 and C = 1000', () => {
      for (const [N, C, seed] of [
        [256, 10, 1],
        [7, 1000, 2],
        [33, 17, 3],
      ]) {
        const rand = rng(seed);
        const logits = normal(rand, N * C, 8);
        const labels = Int32Array.from({ length: N }, () => Math.floor(rand() * C));
        check(logits, labels, N, C);
      }
    });

    it('backward gives (probs - onehot) / N, also in place', () => {
      const N = 37,
        C = 11;
      const rand = rng(4);
      const probs = new Float32Array(N * C);
      const labels = Int32Array.from({ length: N }, () => Math.floor(rand() * C));
      k.softmaxCrossEntropy(normal(rand, N * C, 3), labels, N, C, probs);
      const want = Float64Array.from(probs, (p, i) => (p - (labels[Math.floor(i / C)] === i % C ? 1 : 0)) / N);
      const tol = (i: number) => 4 * U32 * Math.abs(want[i]) + 1e-12;
      const d = new Float32Array(N * C).fill(NaN);
      k.softmaxCrossEntropyBackward(probs, labels, N, C, d);
      expectWithin('dlogits', worstRatio(d, want, tol));
      const inPlace = probs.slice();
      k.softmaxCrossEntropyBackward(inPlace, labels, N, C, inPlace);
      expectSameBits('in place', inPlace, d);
    });
  });

  describe('bias and relu', () => {
    it('biasAdd adds the bias to every row, also in place', () => {
      const rand = rng(5);
      const N = 9,
        C = 13;
      const x = uniform(rand, N * C),
        bias = uniform(rand, C);
      const want = Float32Array.from(x, (v, i) => v + bias[i % C]);
      const y = new Float32Array(N * C);
      k.biasAdd(x, bias, N, C, y);
      expect(y).toEqual(want);
      k.biasAdd(x, bias, N, C, x);
      expect(x).toEqual(want);
    });

    it('biasGrad sums the rows (n ascending), overwriting or accumulating', () => {
      const rand = rng(6);
      for (const [N, C] of [
        [1, 1],
        [256, 10],
        [3, 300],
        [1000, 7],
      ]) {
        const dy = normal(rand, N * C);
        const init = uniform(rand, C);
        for (const accumulate of [false, true]) {
          const dbias = init.slice();
          k.biasGrad(dy, N, C, dbias, accumulate);
          const want = new Float64Array(C),
            scale = new Float64Array(C);
          for (let c = 0; c < C; c++) {
            want[c] = accumulate ? init[c] : 0;
            scale[c] = Math.abs(want[c]);
            for (let n = 0; n < N; n++) {
              want[c] += dy[n * C + c];
              scale[c] += Math.abs(dy[n * C + c]);
            }
          }
          expectWithin(
            `biasGrad N=${N} C=${C} accumulate=${accumulate}`,
            worstRatio(dbias, want, (i) => (N + 2) * U32 * scale[i]),
          );
          const again = init.slice();
          k.biasGrad(dy, N, C, again, accumulate);
          expectSameBits('second call', again, dbias);
        }
      }
    });

    it('relu clamps negatives to +0, keeps NaN, also in place', () => {
      const x = new Float32Array([-2, -0, 0, 0.5, NaN, -Infinity, Infinity, 3e-45, -3e-45]);
      const y = new Float32Array(x.length).fill(7);
      k.relu(x, x.length, y);
      const want = [0, 0, 0, 0.5, NaN, 0, Infinity, 3e-45, 0];
      expect(Array.from(y)).toEqual(want.map(Math.fround));
      expect(Object.is(y[1], 0)).toBe(true);
      k.relu(x, 4, x); // in place, first 4 only
      expect(Array.from(x.subarray(0, 5))).toEqual([0, 0, 0, 0.5, NaN]);
    });

    it('reluBackward passes dy where y > 0, also in place', () => {
      const y = new Float32Array([0, 1, 0, 2, 0.5, 0]);
      const dy = new Float32Array([1, 2, 3, 4, 5, 6]);
      const dx = new Float32Array(6).fill(NaN);
      k.reluBackward(dy, y, 6, dx);
      expect(Array.from(dx)).toEqual([0, 2, 0, 4, 5, 0]);
      k.reluBackward(dy, y, 5, dy);
      expect(Array.from(dy)).toEqual([0, 2, 0, 4, 5, 6]);
    });
  });

  describe('optimizers (PyTorch rules, several steps)', () => {
    const n = 103;
    const STEPS = 6;
    const tol = (ref: Float64Array) => {
      let mx = 0;
      for (const v of ref) mx = Math.max(mx, Math.abs(v));
      return (i: number) => 1e-5 * Math.abs(ref[i]) + 1e-6 * mx;
    };
    const close = (what: string, got: Float32Array, ref: Float64Array) =>
      expectWithin(what, worstRatio(got, ref, tol(ref)));

    const sgdCases: [string, SgdHyper][] = [
      ['plain', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }],
      ['weight decay', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.05, nesterov: false }],
      ['momentum', { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false }],
      ['momentum + dampening', { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0, nesterov: false }],
      ['nesterov + weight decay', { lr: 0.05, momentum: 0.8, dampening: 0, weightDecay: 0.01, nesterov: true }],
    ];
    it.each(sgdCases)('sgdStep: %s', (_, h) => {
      const rand = rng(21);
      const p32 = normal(rand, n),
        p = Float64Array.from(p32);
      const buf32 = new Float32Array(n).fill(NaN),
        buf = new Float64Array(n);
      for (let s = 0; s < STEPS; s++) {
        const g = normal(rand, n);
        k.sgdStep(
          p32,
          g,
          h.momentum === 0 ? null : buf32,
          n,
          h.lr,
          h.momentum,
          h.dampening,
          h.weightDecay,
          h.nesterov,
          s === 0,
        );
        sgdRef(p, g, buf, h, s === 0);
      }
      close('param', p32, p);
      if (h.momentum !== 0) close('buf', buf32, buf);
    });

    const adamCases: [string, AdamHyper][] = [
      ['Adam', { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false }],
      [
        'Adam + weight decay',
        { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: false, amsgrad: false },
      ],
      ['AdamW', { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: true, amsgrad: false }],
      [
        'Adam amsgrad',
        { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: true },
      ],
      [
        'AdamW amsgrad',
        { lr: 0.1, beta1: 0.5, beta2: 0.9, eps: 1e-3, weightDecay: 0.01, decoupled: true, amsgrad: true },
      ],
    ];
    it.each(adamCases)('adamStep: %s', (_, h) => {
      const rand = rng(22);
      const p32 = normal(rand, n),
        p = Float64Array.from(p32);
      const m32 = new Float32Array(n),
        v32 = new Float32Array(n),
        vmax32 = new Float32Array(n);
      const m = new Float64Array(n),
        v = new Float64Array(n),
        vmax = new Float64Array(n);
      for (let step = 1; step <= STEPS; step++) {
        // Shrinking gradients on some steps, so amsgrad's running max matters.
        const g = normal(rand, n, step % 3 === 0 ? 0.1 : 1);
        k.adamStep(
          p32,
          g,
          m32,
          v32,
          h.amsgrad ? vmax32 : null,
          n,
          step,
          h.lr,
          h.beta1,
          h.beta2,
          h.eps,
          h.weightDecay,
          h.decoupled,
          h.amsgrad,
        );
        adamRef(p, g, m, v, vmax, step, h);
      }
      close('param', p32, p);
      close('m', m32, m);
      close('v', v32, v);
      if (h.amsgrad) close('vmax', vmax32, vmax);
    });

    it.each([
      [0, 0, 1e-10],
      [0.01, 0.1, 1e-10],
      [0.1, 0, 1e-3],
    ])('adagradStep: lrDecay=%s weightDecay=%s eps=%s', (lrDecay, weightDecay, eps) => {
      const rand = rng(23);
      const p32 = normal(rand, n),
        p = Float64Array.from(p32);
      const sum32 = new Float32Array(n).fill(0.1),
        sum = new Float64Array(n).fill(Math.fround(0.1));
      for (let step = 1; step <= STEPS; step++) {
        const g = normal(rand, n);
        const clr = 0.05 / (1 + (step - 1) * lrDecay);
        k.adagradStep(p32, g, sum32, n, clr, eps, weightDecay);
        adagradRef(p, g, sum, clr, eps, weightDecay);
      }
      close('param', p32, p);
      close('sum', sum32, sum);
    });

    const rmsCases: [string, RmspropHyper][] = [
      ['plain', { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false }],
      ['centered', { lr: 0.01, alpha: 0.9, eps: 1e-8, weightDecay: 0, momentum: 0, centered: true }],
      ['momentum', { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0.9, centered: false }],
      [
        'centered + momentum + weight decay',
        { lr: 0.005, alpha: 0.95, eps: 1e-6, weightDecay: 0.05, momentum: 0.5, centered: true },
      ],
    ];
    it.each(rmsCases)('rmspropStep: %s', (_, h) => {
      const rand = rng(24);
      const p32 = normal(rand, n),
        p = Float64Array.from(p32);
      const sq32 = new Float32Array(n),
        gavg32 = new Float32Array(n),
        buf32 = new Float32Array(n);
      const sq = new Float64Array(n),
        gavg = new Float64Array(n),
        buf = new Float64Array(n);
      for (let s = 0; s < STEPS; s++) {
        const g = normal(rand, n);
        k.rmspropStep(
          p32,
          g,
          sq32,
          h.centered ? gavg32 : null,
          h.momentum > 0 ? buf32 : null,
          n,
          h.lr,
          h.alpha,
          h.eps,
          h.weightDecay,
          h.momentum,
          h.centered,
        );
        rmspropRef(p, g, sq, gavg, buf, h);
      }
      close('param', p32, p);
      close('sq', sq32, sq);
      if (h.centered) close('gavg', gavg32, gavg);
      if (h.momentum > 0) close('buf', buf32, buf);
    });
  });
});

describe.each(compiled)('%s agrees with ts on the same random inputs', (_name, nat) => {
  const ts = backends().ts;
  const paths = nat.supportedSimd!();

  it.each(paths)('gemm on the MLP shapes and odd ones, %s path', (path) => {
    const prev = nat.simd()!;
    nat.setSimd!(path);
    try {
      const shapes: [boolean, boolean, number, number, number][] = [
        [false, false, 256, 256, 784],
        [true, false, 784, 256, 256],
        [false, true, 256, 784, 256],
        [false, false, 256, 10, 256],
        [true, false, 256, 10, 256],
        [false, true, 256, 256, 10],
        [true, false, 10, 256, 256],
        [false, false, 3, 500, 700],
        [true, true, 255, 257, 100],
      ];
      for (const [ta, tb, M, N, K] of shapes) {
        const rand = rng(M * 7 + N * 3 + K);
        const A = normal(rand, M * K),
          B = normal(rand, K * N),
          C0 = normal(rand, M * N);
        const Cn = C0.slice(),
          Ct = C0.slice();
        nat.gemm(ta, tb, M, N, K, 0.75, A, B, -1, Cn);
        ts.gemm(ta, tb, M, N, K, 0.75, A, B, -1, Ct);
        const scale = gemmRef(ta, tb, M, N, K, 0.75, A, B, -1, C0).scale;
        expectWithin(`${tname(ta, tb)} ${M}x${N}x${K}`, worstRatio(Cn, Ct, gemmTol(K, scale, 2)));
      }
    } finally {
      nat.setSimd!(prev);
    }
  });

  it('softmax cross-entropy, forward and backward', () => {
    const N = 256,
      C = 10;
    const rand = rng(31);
    const logits = normal(rand, N * C, 5);
    const labels = Int32Array.from({ length: N }, () => Math.floor(rand() * C));
    const pn = new Float32Array(N * C),
      pt = new Float32Array(N * C);
    const ln = nat.softmaxCrossEntropy(logits, labels, N, C, pn);
    const lt = ts.softmaxCrossEntropy(logits, labels, N, C, pt);
    expect(Math.abs(ln - lt)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(lt)));
    expectWithin(
      'probs',
      worstRatio(pn, pt, (i) => 2e-6 * pt[i] + 1e-30),
    );
    const dn = new Float32Array(N * C),
      dt = new Float32Array(N * C);
    nat.softmaxCrossEntropyBackward(pt, labels, N, C, dn);
    ts.softmaxCrossEntropyBackward(pt, labels, N, C, dt);
    expectWithin(
      'dlogits',
      worstRatio(dn, dt, (i) => 8 * U32 * Math.abs(dt[i]) + 1e-12),
    );
  });

  it('optimizer steps (Adam amsgrad, AdamW, SGD nesterov, RMSprop centered + momentum, Adagrad)', () => {
    const n = 1000;
    const rand = rng(32);
    const p0 = normal(rand, n);
    const grads = Array.from({ length: 5 }, () => normal(rand, n));
    const run = (k: Kernels) => {
      const p = { sgd: p0.slice(), adam: p0.slice(), adamw: p0.slice(), rms: p0.slice(), ada: p0.slice() };
      const z = () => new Float32Array(n);
      const s = { buf: z(), m: z(), v: z(), vmax: z(), m2: z(), v2: z(), sq: z(), gavg: z(), rbuf: z(), sum: z() };
      grads.forEach((g, i) => {
        k.sgdStep(p.sgd, g, s.buf, n, 0.05, 0.9, 0, 1e-3, true, i === 0);
        k.adamStep(p.adam, g, s.m, s.v, s.vmax, n, i + 1, 1e-2, 0.9, 0.999, 1e-8, 1e-2, false, true);
        k.adamStep(p.adamw, g, s.m2, s.v2, null, n, i + 1, 1e-2, 0.9, 0.999, 1e-8, 1e-2, true, false);
        k.rmspropStep(p.rms, g, s.sq, s.gavg, s.rbuf, n, 1e-2, 0.99, 1e-8, 1e-3, 0.9, true);
        k.adagradStep(p.ada, g, s.sum, n, 0.01 / (1 + i * 0.01), 1e-10, 1e-3);
      });
      return { ...p, ...s };
    };
    const a = run(nat),
      b = run(ts);
    for (const key of Object.keys(a) as (keyof typeof a)[]) {
      const ref = Float64Array.from(b[key]);
      let mx = 0;
      for (const v of ref) mx = Math.max(mx, Math.abs(v));
      expectWithin(
        key,
        worstRatio(a[key], ref, (i) => 1e-5 * Math.abs(ref[i]) + 1e-6 * mx),
      );
    }
  });
});

// The kernels' argument checks are derived from the kernel table and run against every
// backend in kernel-args.test.ts; the controls are not in the table.
describe('ts backend: controls', () => {
  const k = backends().ts;
  it('reports one thread and no SIMD, and accepts the thread counts the addon accepts', () => {
    expect(() => (k.getNumThreads as (...a: unknown[]) => number)(1)).toThrow(
      new TypeError('getNumThreads: expected 0 arguments, got 1'),
    );
    expect(() => k.setNumThreads(0)).toThrow(
      new RangeError('setNumThreads: threads must be an integer from 1 to 256, got 0'),
    );
    expect(() => k.setNumThreads(2.5)).toThrow(RangeError);
    k.setNumThreads(4);
    expect(k.getNumThreads()).toBe(1);
    expect(k.simd()).toBeNull();
  });
});
