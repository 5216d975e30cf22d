// The fused training-step kernels and the step's memory reuse:
// - biasRelu / biasReluBackward on every backend give exactly the values of the unfused kernels
//   (biasAdd then relu; reluBackward then biasGrad), and check their arguments like the others;
// - adamStep's AVX2 and AVX-512 paths (optim_avx2.cc, optim_avx512.cc), single- and
//   multi-threaded, are bit-identical to the scalar kernel;
// - linearRelu and nn.Sequential's fused Linear + ReLU give the unfused values and gradients;
// - gradient buffers reused across steps (optimizer zeroGrad, the backward pool) leave every
//   gradient as a fresh allocation would.
import { describe, expect, it } from 'vitest';
import { backends, withBackend } from '../lib/backend/index.js';
import {
  Tensor,
  linear,
  linearRelu,
  relu,
  softmaxCrossEntropy,
  randn,
  add,
  mul,
  sum,
  mseLoss,
} from '../lib/tensor/index.js';
import { manualSeed } from '../lib/random.js';
import * as nn from '../lib/nn/index.js';
import { Adam } from '../lib/optim/index.js';
import { normal, rng } from './helpers/reference.js';
import { all } from './helpers/backends.js';

const native = backends().native;
const f32 = (n: number) => new Float32Array(n);

function expectError(fn: () => unknown, type: ErrorConstructor, message: string): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(type);
  expect((err as Error).message).toBe(message);
}

/**
 * The first index where a and b differ (NaN equals NaN, +0 differs from -0), or -1: a fast
 * exact comparison for large arrays (toEqual walks them element by element slowly).
 */
function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (x === y ? x === 0 && 1 / x !== 1 / y : !(x !== x && y !== y)) return i;
  }
  return -1;
}
function expectSame(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  for (let j = 0; j < a.length; j++) expect(firstDiff(a[j], b[j]), `array ${j}`).toBe(-1);
}

/** N x C values with zeros, negatives, -0 and NaN mixed in, so the masks meet every case. */
function awkward(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = normal(r, n);
  for (let i = 0; i < n; i += 7) a[i] = 0;
  for (let i = 3; i < n; i += 11) a[i] = -0;
  if (n > 20) a[20] = NaN;
  return a;
}

describe.each(all)('fused kernels, %s backend', (_name, k) => {
  const shapes: [number, number][] = [
    [1, 1],
    [3, 5],
    [17, 10],
    [256, 256],
    [64, 300],
    [5, 1000],
  ];

  it.each(shapes)('biasRelu equals biasAdd then relu (N=%i, C=%i)', (N, C) => {
    const x = awkward(N * C, N + C),
      bias = awkward(C, 7 * C);
    const want = f32(N * C);
    k.biasAdd(x, bias, N, C, want);
    k.relu(want, N * C, want);
    const got = f32(N * C);
    k.biasRelu(x, bias, N, C, got);
    expectSame([got], [want]);
    // in place
    const inPlace = x.slice();
    k.biasRelu(inPlace, bias, N, C, inPlace);
    expectSame([inPlace], [want]);
  });

  it.each(shapes)('biasReluBackward equals reluBackward then biasGrad (N=%i, C=%i)', (N, C) => {
    const y = f32(N * C);
    k.relu(awkward(N * C, 3 * N + C), N * C, y);
    const dy = awkward(N * C, N * C + 1);
    for (const accumulate of [false, true]) {
      const dxWant = f32(N * C),
        dbWant = normal(rng(C), C);
      const dbGot = dbWant.slice();
      k.reluBackward(dy, y, N * C, dxWant);
      k.biasGrad(dxWant, N, C, dbWant, accumulate);
      const dxGot = f32(N * C);
      k.biasReluBackward(dy, y, N, C, dxGot, dbGot, accumulate);
      expectSame([dxGot, dbGot], [dxWant, dbWant]);
      // dx may be dy itself
      const g = dy.slice();
      const db2 = dbWant.slice();
      k.biasReluBackward(g, y, N, C, g, db2, false);
      expectSame([g], [dxWant]);
    }
  });

  it('biasRelu checks its arguments, naming them', () => {
    expectError(
      () => (k.biasRelu as (...a: unknown[]) => void)(f32(4), f32(2), 2, 2),
      TypeError,
      'biasRelu: expected 5 arguments, got 4',
    );
    expectError(
      () => k.biasRelu(new Float64Array(4) as unknown as Float32Array, f32(2), 2, 2, f32(4)),
      TypeError,
      'biasRelu: x must be a Float32Array, got Float64Array',
    );
    expectError(
      () => k.biasRelu(f32(4), f32(2), 2, 2, null as unknown as Float32Array),
      TypeError,
      'biasRelu: y must be a Float32Array, got null',
    );
    expectError(
      () => k.biasRelu(f32(4), f32(2), -1, 2, f32(4)),
      RangeError,
      'biasRelu: N must be a non-negative integer, got -1',
    );
    expectError(
      () => k.biasRelu(f32(4), f32(2), 2, 2.5, f32(4)),
      RangeError,
      'biasRelu: C must be a non-negative integer, got 2.5',
    );
    expectError(
      () => k.biasRelu(f32(3), f32(2), 2, 2, f32(4)),
      RangeError,
      'biasRelu: x must have at least N*C = 4 elements, got 3',
    );
    expectError(
      () => k.biasRelu(f32(4), f32(1), 2, 2, f32(4)),
      RangeError,
      'biasRelu: bias must have at least C = 2 elements, got 1',
    );
    expectError(
      () => k.biasRelu(f32(4), f32(2), 2, 2, f32(3)),
      RangeError,
      'biasRelu: y must have at least N*C = 4 elements, got 3',
    );
    const buf = f32(8);
    expectError(
      () => k.biasRelu(buf.subarray(0, 4), f32(2), 2, 2, buf.subarray(2, 6)),
      RangeError,
      'biasRelu: y must be x itself or not overlap it (partial overlap)',
    );
    expectError(
      () => k.biasRelu(f32(4), buf.subarray(0, 2), 2, 2, buf.subarray(1, 5)),
      RangeError,
      'biasRelu: y must not overlap bias',
    );
    k.biasRelu(f32(0), f32(0), 0, 0, f32(0)); // empty is fine
  });

  it('biasReluBackward checks its arguments, naming them', () => {
    const call = (...a: unknown[]) => (k.biasReluBackward as (...b: unknown[]) => void)(...a);
    expectError(
      () => call(f32(4), f32(4), 2, 2, f32(4), f32(2)),
      TypeError,
      'biasReluBackward: expected 7 arguments, got 6',
    );
    expectError(
      () => call(f32(4), [0, 0, 0, 0], 2, 2, f32(4), f32(2), false),
      TypeError,
      'biasReluBackward: y must be a Float32Array, got Array',
    );
    expectError(
      () => call(f32(4), f32(4), 2, 2, f32(4), f32(2), 1),
      TypeError,
      'biasReluBackward: accumulate must be a boolean, got number 1',
    );
    expectError(
      () => call(f32(4), f32(4), 2, 2, f32(4), undefined, false),
      TypeError,
      'biasReluBackward: dbias must be a Float32Array, got undefined',
    );
    expectError(
      () => call(f32(4), f32(4), 2, NaN, f32(4), f32(2), false),
      RangeError,
      'biasReluBackward: C must be a non-negative integer, got NaN',
    );
    expectError(
      () => call(f32(4), f32(3), 2, 2, f32(4), f32(2), false),
      RangeError,
      'biasReluBackward: y must have at least N*C = 4 elements, got 3',
    );
    expectError(
      () => call(f32(4), f32(4), 2, 2, f32(4), f32(1), false),
      RangeError,
      'biasReluBackward: dbias must have at least C = 2 elements, got 1',
    );
    const buf = f32(16);
    expectError(
      () => call(buf.subarray(0, 4), f32(4), 2, 2, buf.subarray(1, 5), f32(2), false),
      RangeError,
      'biasReluBackward: dx must be dy itself or not overlap it (partial overlap)',
    );
    expectError(
      () => call(f32(4), buf.subarray(0, 4), 2, 2, buf.subarray(2, 6), f32(2), false),
      RangeError,
      'biasReluBackward: dx must not overlap y',
    );
    expectError(
      () => call(f32(4), f32(4), 2, 2, buf.subarray(0, 4), buf.subarray(3, 5), false),
      RangeError,
      'biasReluBackward: dbias must not overlap dx',
    );
  });
});

describe.skipIf(!native || !native.supportedSimd!().includes('avx2'))('adamStep AVX2 and AVX-512 paths', () => {
  const nat = native!;
  const cases = [
    { decoupled: false, amsgrad: false, wd: 0 },
    { decoupled: false, amsgrad: false, wd: 0.01 },
    { decoupled: true, amsgrad: false, wd: 0.01 },
    { decoupled: false, amsgrad: true, wd: 0 },
  ];
  const simds = (['avx2', 'avx512'] as const).filter((x) => nat.supportedSimd!().includes(x));
  for (const n of [5, 8, 17, 1003, 200_711]) {
    it.each(cases)(`is bit-identical to the scalar kernel (n=${n}, %o)`, ({ decoupled, amsgrad, wd }) => {
      const r = rng(n);
      const p = normal(r, n),
        g = normal(r, n).map((v) => v * 0.01);
      const m = normal(r, n).map((v) => v * 1e-3),
        v = normal(r, n).map((x) => Math.abs(x) * 1e-4);
      const vmax = v.map((x) => x * 1.1);
      if (n > 10) {
        g[3] = NaN;
        vmax[4] = NaN;
      }
      const run = (simd: 'avx2' | 'avx512' | 'scalar', threads: number) => {
        const prevSimd = nat.simd()!,
          prevThreads = nat.getNumThreads();
        nat.setSimd!(simd);
        nat.setNumThreads(threads);
        try {
          const st = [p.slice(), m.slice(), v.slice(), vmax.slice()];
          for (let s = 1; s <= 3; s++) {
            nat.adamStep(
              st[0],
              g,
              st[1],
              st[2],
              amsgrad ? st[3] : null,
              n,
              s,
              1e-3,
              0.9,
              0.999,
              1e-8,
              wd,
              decoupled,
              amsgrad,
            );
          }
          return st;
        } finally {
          nat.setSimd!(prevSimd);
          nat.setNumThreads(prevThreads);
        }
      };
      const scalar = run('scalar', 1);
      for (const simd of simds) {
        expectSame(run(simd, 1), scalar);
        expectSame(run(simd, 3), scalar);
      }
    });
  }
});

/** An MLP step's outputs and gradients with the model's layers run fused or one by one. */
function mlpStep(fused: boolean, seed: number) {
  manualSeed(seed);
  const model = new nn.Sequential(
    new nn.Linear(20, 16),
    new nn.ReLU(),
    new nn.Linear(16, 16),
    new nn.ReLU(),
    new nn.Linear(16, 5),
  );
  const x = randn([8, 20], { seed: seed + 1 });
  const labels = Int32Array.from({ length: 8 }, (_, i) => (i * 3) % 5);
  const out = fused ? model.forward(x) : model.layers.reduce((h, m) => m.forward(h), x);
  const loss = softmaxCrossEntropy(out, labels);
  loss.backward();
  return { out: out.data, loss: loss.item(), grads: model.parameters().map((p) => p.grad!.data) };
}

describe.each(all)('fused Linear + ReLU through autograd, %s backend', (name) => {
  it("linearRelu gives relu(linear(...))'s values and gradients, with and without bias", () => {
    withBackend(name, () => {
      for (const withBias of [true, false]) {
        const run = (fused: boolean) => {
          const x = randn([9, 7], { seed: 1, requiresGrad: true });
          const W = randn([6, 7], { seed: 2, requiresGrad: true });
          const b = withBias ? randn([6], { seed: 3, requiresGrad: true }) : null;
          const y = fused ? linearRelu(x, W, b) : relu(linear(x, W, b));
          sum(mul(y, randn([9, 6], { seed: 4 }))).backward();
          return [y.data, x.grad!.data, W.grad!.data, b ? b.grad!.data : null];
        };
        expect(run(true)).toEqual(run(false));
      }
    });
  });

  it('nn.Sequential runs Linear + ReLU fused, with the same outputs and gradients', () => {
    withBackend(name, () => {
      const a = mlpStep(true, 5),
        b = mlpStep(false, 5);
      expect(a).toEqual(b);
      manualSeed(0);
      const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU());
      expect(seq.forward(randn([2, 4])).op).toBe('linearRelu');
    });
  });
});

describe('gradient buffers reused across steps', () => {
  it('training with zeroGrad gives the same weights as fresh gradients every step', () => {
    const train = (reuse: boolean) => {
      manualSeed(3);
      const model = new nn.Sequential(new nn.Linear(30, 64), new nn.ReLU(), new nn.Linear(64, 4));
      const opt = new Adam(model.parameters(), { lr: 1e-2 });
      const x = randn([40, 30], { seed: 9 });
      const labels = Int32Array.from({ length: 40 }, (_, i) => i % 4);
      for (let s = 0; s < 5; s++) {
        if (reuse) opt.zeroGrad();
        else for (const p of model.parameters()) p.grad = null; // no spare buffer kept
        softmaxCrossEntropy(model.forward(x), labels).backward();
        opt.step();
      }
      return model.parameters().map((p) => p.data);
    };
    expect(train(true)).toEqual(train(false));
  });

  it('a reused gradient buffer starts from zero for ops that add into it (broadcast, transpose)', () => {
    const w = randn([1, 2000], { seed: 1, requiresGrad: true });
    const x = randn([3, 2000], { seed: 2 });
    const step = () => {
      w.grad === null || expect.fail('grad should be cleared');
      const y = add(x, w); // w's gradient is a sum over the broadcast rows, added into a fresh buffer
      sum(mul(y, y)).backward();
      return w.grad!.data.slice();
    };
    const opt = new Adam([w]);
    const first = step();
    opt.zeroGrad();
    const second = step();
    expect(second).toEqual(first);
  });

  it('backward recycles only dead intermediate gradients: retained and leaf gradients keep their values', () => {
    const a = randn([50, 40], { seed: 4, requiresGrad: true });
    const h = mul(a, 2).retainGrad();
    const loss = mseLoss(relu(h), randn([50, 40], { seed: 5 }));
    loss.backward();
    const hGrad = h.grad!.data.slice(),
      aGrad = a.grad!.data.slice();
    // another graph of the same sizes takes buffers from the pool: the kept gradients must not change
    const b = randn([50, 40], { seed: 6, requiresGrad: true });
    mseLoss(relu(mul(b, 3)), randn([50, 40], { seed: 7 })).backward();
    expect(h.grad!.data).toEqual(hGrad);
    expect(a.grad!.data).toEqual(aGrad);
    for (let i = 0; i < aGrad.length; i++) expect(aGrad[i]).toBeCloseTo(2 * hGrad[i], 5);
  });

  it('zeroGrad leaves a user-assigned gradient tensor alone', () => {
    const p = new Tensor(new Float32Array(2048), [2048], true);
    const mine = new Tensor(new Float32Array(2048).fill(7), [2048]);
    p.grad = mine;
    new Adam([p]).zeroGrad();
    expect(p.grad).toBeNull();
    sum(mul(p, 1)).backward();
    expect(mine.data[0]).toBe(7);
    expect(p.grad!.data[0]).toBe(1);
  });
});
