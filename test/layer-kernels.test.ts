// The layer kernels (layerNorm, layerNormBackward, embedding, embeddingBackward) on every
// backend: against a float64 reference, native against the TS specification bit for bit (both
// sum a row over four lanes in one order, in doubles, and round each output once: see
// lib/backend/ts-layers.ts), and bit-identical for any thread count.
//
// Tolerance against the float64 reference: every output is one rounding of a double
// computation from float inputs, and mean and rstd are rounded to float once before use, which
// moves xhat by about 2^-24 relative per factor; 1e-5 relative to the row's scale covers both
// for the sizes here (D <= 1000) with a margin and fails on any wrong term.
import { describe, expect, it } from 'vitest';
import { backends, type Kernels } from '../lib/backend/index.js';
import { normal, rng } from './helpers/reference.js';

const available = Object.entries(backends()).filter((e): e is [string, Kernels] => e[1] !== undefined);
const native = backends().native;
const ts = backends().ts;

interface LnRef {
  y: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
}

/** LayerNorm forward and backward in float64 from the float inputs. */
function layerNormRef(
  x: Float32Array,
  w: Float32Array | null,
  b: Float32Array | null,
  dy: Float32Array,
  N: number,
  D: number,
  eps: number,
): LnRef {
  const y = new Float64Array(N * D),
    dx = new Float64Array(N * D),
    dw = new Float64Array(D),
    db = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let mu = 0;
    for (let d = 0; d < D; d++) mu += x[o + d];
    mu /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[o + d] - mu) ** 2;
    const r = 1 / Math.sqrt(v / D + eps);
    const xh = (d: number) => (x[o + d] - mu) * r;
    const g = (d: number) => dy[o + d] * (w ? w[d] : 1);
    let a = 0,
      c = 0;
    for (let d = 0; d < D; d++) {
      y[o + d] = xh(d) * (w ? w[d] : 1) + (b ? b[d] : 0);
      a += g(d);
      c += g(d) * xh(d);
      dw[d] += dy[o + d] * xh(d);
      db[d] += dy[o + d];
    }
    for (let d = 0; d < D; d++) dx[o + d] = r * (g(d) - a / D - (xh(d) * c) / D);
  }
  return { y, dx, dw, db };
}

function expectClose(label: string, got: Float32Array, want: Float64Array, scale: number, tol = 1e-5): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  expect(worst, label).toBeLessThanOrEqual(tol);
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m || 1;
}

function expectSameBits(label: string, a: Float32Array, b: Float32Array): void {
  expect(a.length, label).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) expect(`${label}[${i}] = ${a[i]}`).toBe(`${b[i]}`);
}

/** One layerNorm forward + backward on k; outputs in fresh buffers. */
function runLn(k: Kernels, N: number, D: number, affine: boolean, hasBias: boolean, seed: number, eps = 1e-5) {
  const r = rng(seed);
  const x = normal(r, N * D, 2);
  for (let i = 0; i < x.length; i++) x[i] += 3; // an offset, so a careless variance formula shows
  const w = affine ? normal(r, D) : null;
  const b = hasBias ? normal(r, D) : null;
  const dy = normal(r, N * D);
  const y = new Float32Array(N * D),
    mean = new Float32Array(N),
    rstd = new Float32Array(N);
  k.layerNorm(x, w, b, N, D, eps, affine, hasBias, y, mean, rstd);
  const dx = new Float32Array(N * D);
  const dw = affine ? new Float32Array(D) : null;
  const db = hasBias ? new Float32Array(D) : null;
  k.layerNormBackward(dy, x, mean, rstd, w, N, D, affine, hasBias, dx, dw, db, false);
  return { x, w, b, dy, y, mean, rstd, dx, dw, db };
}

function runEmb(k: Kernels, N: number, V: number, D: number, pad: number, seed: number) {
  const r = rng(seed);
  const weight = normal(r, V * D);
  const idx = Int32Array.from({ length: N }, () => Math.floor(r() * V));
  const dy = normal(r, N * D);
  const y = new Float32Array(N * D);
  k.embedding(weight, idx, N, V, D, y);
  const dw = new Float32Array(V * D).fill(Number.NaN); // overwritten, never read, when !accumulate
  k.embeddingBackward(dy, idx, N, V, D, pad, dw, false);
  return { weight, idx, dy, y, dw };
}

describe.each(available)('%s backend', (_name, k) => {
  describe('layerNorm', () => {
    it.each([
      [5, 7, true, true],
      [3, 1000, true, true],
      [4, 33, false, false],
      [2, 16, true, false],
      [6, 3, false, true],
    ])('N=%i D=%i affine=%s bias=%s matches the float64 reference, forward and backward', (N, D, affine, hasBias) => {
      const o = runLn(k, N, D, affine, hasBias, N * 1000 + D);
      const ref = layerNormRef(o.x, o.w, o.b, o.dy, N, D, 1e-5);
      expectClose('y', o.y, ref.y, maxAbs(ref.y));
      expectClose('dx', o.dx, ref.dx, maxAbs(ref.dx));
      if (o.dw) expectClose('dweight', o.dw, ref.dw, maxAbs(ref.dw));
      if (o.db) expectClose('dbias', o.db, ref.db, maxAbs(ref.db));
    });

    it('adds the parameter gradients into what the buffers hold when accumulate', () => {
      const o = runLn(k, 4, 10, true, true, 3);
      const dw = Float32Array.from({ length: 10 }, (_, i) => i);
      const db = Float32Array.from({ length: 10 }, (_, i) => -i);
      const dx = new Float32Array(40);
      k.layerNormBackward(o.dy, o.x, o.mean, o.rstd, o.w, 4, 10, true, true, dx, dw, db, true);
      for (let d = 0; d < 10; d++) {
        expect(dw[d]).toBeCloseTo(d + o.dw![d], 5);
        expect(db[d]).toBeCloseTo(-d + o.db![d], 5);
      }
    });

    it('may write y over x and dx over dy with the same results', () => {
      const o = runLn(k, 3, 21, true, true, 9);
      const x = o.x.slice();
      const mean = new Float32Array(3),
        rstd = new Float32Array(3);
      k.layerNorm(x, o.w, o.b, 3, 21, 1e-5, true, true, x, mean, rstd);
      expectSameBits('y in place', x, o.y);
      const g = o.dy.slice();
      const dw = new Float32Array(21),
        db = new Float32Array(21);
      k.layerNormBackward(g, o.x, o.mean, o.rstd, o.w, 3, 21, true, true, g, dw, db, false);
      expectSameBits('dx in place', g, o.dx);
      expectSameBits('dweight with dx over dy', dw, o.dw!);
    });

    it('gives NaN statistics for rows of zero elements and writes nothing else, as torch', () => {
      const y = new Float32Array(0),
        mean = new Float32Array(2),
        rstd = new Float32Array(2);
      k.layerNorm(new Float32Array(0), null, null, 2, 0, 1e-5, false, false, y, mean, rstd);
      expect(Number.isNaN(mean[0]) && Number.isNaN(rstd[1])).toBe(true);
    });
  });

  describe('embedding', () => {
    it('gathers rows and scatter-adds repeated indices in order, skipping paddingIdx', () => {
      const V = 7,
        D = 5,
        N = 40;
      for (const pad of [-1, 3]) {
        const o = runEmb(k, N, V, D, pad, 11 + pad);
        const want = new Float64Array(V * D);
        for (let n = 0; n < N; n++) {
          for (let d = 0; d < D; d++) expect(o.y[n * D + d]).toBe(o.weight[o.idx[n] * D + d]);
          if (o.idx[n] === pad) continue;
          for (let d = 0; d < D; d++) want[o.idx[n] * D + d] = Math.fround(want[o.idx[n] * D + d] + o.dy[n * D + d]);
        }
        expectSameBits(`dweight (paddingIdx ${pad})`, o.dw, Float32Array.from(want));
        if (pad >= 0) expect(Array.from(o.dw.subarray(pad * D, pad * D + D))).toEqual([0, 0, 0, 0, 0]);
      }
    });

    it('accumulates into dweight when asked', () => {
      const dw = new Float32Array([1, 1, 1, 1]);
      k.embeddingBackward(new Float32Array([2, 3, 4, 5]), new Int32Array([1, 1]), 2, 2, 2, -1, dw, true);
      expect(Array.from(dw)).toEqual([1, 1, 7, 9]);
    });

    it('refuses an index out of range, naming it, before writing anything', () => {
      const y = new Float32Array(6).fill(5);
      expect(() => k.embedding(new Float32Array(6), new Int32Array([0, 3, 1]), 3, 3, 2, y)).toThrow(
        new RangeError('embedding: indices[1] = 3 is out of range [0, 3)'),
      );
      expect(Array.from(y)).toEqual([5, 5, 5, 5, 5, 5]);
    });
  });
});

describe.skipIf(native === undefined)('native against the TS specification', () => {
  it('layerNorm and its backward give the same bits', () => {
    for (const [N, D, affine, hasBias] of [
      [7, 13, true, true],
      [64, 300, true, false],
      [5, 4, false, false],
    ] as const) {
      const a = runLn(native!, N, D, affine, hasBias, 77);
      const b = runLn(ts, N, D, affine, hasBias, 77);
      for (const key of ['y', 'mean', 'rstd', 'dx', 'dw', 'db'] as const) {
        if (a[key] !== null) expectSameBits(`${key} N=${N} D=${D}`, a[key]!, b[key]!);
      }
    }
  });

  it('embedding and its backward give the same bits', () => {
    const a = runEmb(native!, 500, 20, 33, 4, 5);
    const b = runEmb(ts, 500, 20, 33, 4, 5);
    expectSameBits('y', a.y, b.y);
    expectSameBits('dweight', a.dw, b.dw);
  });

  it('gives bit-identical results with 1, 2, 3 and 4 threads', () => {
    const k = native!;
    const prev = k.getNumThreads();
    try {
      const runs = [1, 2, 3, 4].map((threads) => {
        k.setNumThreads(threads);
        // Sizes above the kernels' parallel thresholds, with rows and columns that do not divide evenly.
        return { ln: runLn(k, 257, 301, true, true, 8), emb: runEmb(k, 3001, 50, 130, 7, 9) };
      });
      for (let i = 1; i < runs.length; i++) {
        for (const key of ['y', 'mean', 'rstd', 'dx', 'dw', 'db'] as const) {
          expectSameBits(`layerNorm ${key}, ${i + 1} threads`, runs[i].ln[key]!, runs[0].ln[key]!);
        }
        expectSameBits(`embedding dweight, ${i + 1} threads`, runs[i].emb.dw, runs[0].emb.dw);
      }
    } finally {
      k.setNumThreads(prev);
    }
  });
});
