// Every op, on every available backend: values, gradients (gradcheck against centred
// differences with the float32 defaults: eps 1e-2 relative, atol 1e-3, rtol 1e-2), broadcasting,
// shape errors raised before any kernel runs, label validation, and native-vs-TS agreement.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backends, withBackend, type BackendName } from '../lib/backend/index.js';
import * as ng from '../lib/tensor/index.js';
import { Tensor, tensor, gradcheck } from '../lib/tensor/index.js';
import { Rng } from '../lib/random.js';
import { available, compiled } from './helpers/backends.js';

// ---- inputs -------------------------------------------------------------------------------------

type Kind = 'normal' | 'positive' | 'awayFromZero';

/** Random values: normal; positive in [0.5, 2); or |x| in [0.3, 1.5) with random sign. */
function rnd(shape: number[], seed: number, kind: Kind = 'normal'): Tensor {
  const r = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'normal') d[i] = r.normal();
    else if (kind === 'positive') d[i] = 0.5 + 1.5 * r.uniform();
    else d[i] = (r.uniform() < 0.5 ? -1 : 1) * (0.3 + 1.2 * r.uniform());
  }
  return new Tensor(d, shape, true);
}

/** Distinct values 0.3 apart (shuffled): max/argmax stay away from ties, SVM margins from 0. */
function distinct(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Int32Array(n).map((_, i) => i);
  new Rng(seed).shuffle(idx);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (idx[i] - n / 2) * 0.3;
  return new Tensor(d, shape, true);
}

/** Values on a grid: 0.5 k (+ 0.25 when offset), k in [-4, 4). Two tensors, one offset, one
 *  not, are at least 0.25 apart everywhere, so maximum/minimum stay away from ties. */
function grid(shape: number[], seed: number, offset: boolean): Tensor {
  const r = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = 0.5 * (r.int(8) - 4) + (offset ? 0.25 : 0);
  return new Tensor(d, shape, true);
}

interface Case {
  name: string;
  inputs: () => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
}

const broadcastPairs: [number[], number[]][] = [
  [
    [2, 3],
    [2, 3],
  ],
  [
    [3, 1],
    [1, 4],
  ],
  [[2, 3], [3]],
  [[], [2, 3]],
  [[2, 3], []],
  [
    [2, 1, 3],
    [4, 1],
  ],
  [[1], [2, 3]],
  [[4], [3, 1]],
];

const sh = (s: number[]) => `[${s.join(',')}]`;

/** Random broadcastable pairs (fixed seed): each operand a random suffix of a random shape, with dims set to 1 at random. */
function randomPairs(count: number, seed: number): [number[], number[]][] {
  const r = new Rng(seed);
  const pairs: [number[], number[]][] = [];
  while (pairs.length < count) {
    const nd = 2 + r.int(3);
    const full = Array.from({ length: nd }, () => 2 + r.int(3));
    const pick = (): number[] => full.slice(r.int(nd)).map((d) => (r.uniform() < 0.35 ? 1 : d));
    const pair: [number[], number[]] = [pick(), pick()];
    if (!pairs.some(([a, b]) => sh(a) === sh(pair[0]) && sh(b) === sh(pair[1]))) pairs.push(pair);
  }
  return pairs;
}

const cases: Case[] = [];

for (const [as, bs] of broadcastPairs) {
  const tag = `${sh(as)} ${sh(bs)}`;
  cases.push({ name: `add ${tag}`, inputs: () => [rnd(as, 1), rnd(bs, 2)], fn: ng.add });
  cases.push({ name: `sub ${tag}`, inputs: () => [rnd(as, 3), rnd(bs, 4)], fn: ng.sub });
  cases.push({ name: `mul ${tag}`, inputs: () => [rnd(as, 5), rnd(bs, 6)], fn: ng.mul });
  cases.push({ name: `div ${tag}`, inputs: () => [rnd(as, 7), rnd(bs, 8, 'awayFromZero')], fn: ng.div });
}
for (const [as, bs] of randomPairs(16, 2024)) {
  const tag = `${sh(as)} ${sh(bs)} (random)`;
  cases.push({ name: `add ${tag}`, inputs: () => [rnd(as, 101), rnd(bs, 102)], fn: ng.add });
  cases.push({ name: `mul ${tag}`, inputs: () => [rnd(as, 103), rnd(bs, 104)], fn: ng.mul });
  cases.push({ name: `div ${tag}`, inputs: () => [rnd(as, 105), rnd(bs, 106, 'awayFromZero')], fn: ng.div });
  cases.push({ name: `maximum ${tag}`, inputs: () => [grid(as, 107, false), grid(bs, 108, true)], fn: ng.maximum });
}
for (const [as, bs] of broadcastPairs.slice(0, 4)) {
  const tag = `${sh(as)} ${sh(bs)}`;
  cases.push({ name: `maximum ${tag}`, inputs: () => [grid(as, 9, false), grid(bs, 10, true)], fn: ng.maximum });
  cases.push({ name: `minimum ${tag}`, inputs: () => [grid(as, 11, true), grid(bs, 12, false)], fn: ng.minimum });
}
cases.push(
  { name: 'add number', inputs: () => [rnd([2, 3], 13)], fn: (x) => ng.add(x, 2) },
  { name: 'sub number - tensor', inputs: () => [rnd([2, 3], 14)], fn: (x) => ng.sub(2, x) },
  { name: 'mul by number', inputs: () => [rnd([2, 3], 15)], fn: (x) => x.mul(-3) },
  { name: 'div number / tensor', inputs: () => [rnd([2, 3], 16, 'awayFromZero')], fn: (x) => ng.div(1, x) },
  { name: 'same tensor twice (x * x)', inputs: () => [rnd([3], 17)], fn: (x) => ng.mul(x, x) },
);
for (const s of [[5], [2, 3], []]) {
  cases.push(
    { name: `neg ${sh(s)}`, inputs: () => [rnd(s, 20)], fn: ng.neg },
    { name: `exp ${sh(s)}`, inputs: () => [rnd(s, 21)], fn: ng.exp },
    { name: `log ${sh(s)}`, inputs: () => [rnd(s, 22, 'positive')], fn: ng.log },
    { name: `sqrt ${sh(s)}`, inputs: () => [rnd(s, 23, 'positive')], fn: ng.sqrt },
    { name: `relu ${sh(s)}`, inputs: () => [rnd(s, 24, 'awayFromZero')], fn: ng.relu },
    { name: `sigmoid ${sh(s)}`, inputs: () => [rnd(s, 25)], fn: ng.sigmoid },
    { name: `tanh ${sh(s)}`, inputs: () => [rnd(s, 26)], fn: ng.tanh },
  );
}
for (const p of [2, 3, 0.5, -1.5, 0, 1]) {
  cases.push({ name: `pow ${p}`, inputs: () => [rnd([2, 3], 27, 'positive')], fn: (x) => ng.pow(x, p) });
}
cases.push({ name: 'pow 3 of negatives', inputs: () => [rnd([4], 28)], fn: (x) => x.pow(3) });
for (const [a, b] of [
  [
    [3, 4],
    [4, 5],
  ],
  [
    [1, 3],
    [3, 1],
  ],
  [
    [5, 2],
    [2, 3],
  ],
  [
    [2, 1],
    [1, 3],
  ],
]) {
  cases.push({ name: `matmul ${sh(a)} ${sh(b)}`, inputs: () => [rnd(a, 30), rnd(b, 31)], fn: ng.matmul });
}
cases.push(
  {
    name: 'linear with bias',
    inputs: () => [rnd([4, 3], 32), rnd([5, 3], 33), rnd([5], 34)],
    fn: (x, W, b) => ng.linear(x, W, b),
  },
  { name: 'linear without bias', inputs: () => [rnd([4, 3], 35), rnd([5, 3], 36)], fn: (x, W) => ng.linear(x, W) },
  {
    name: 'linear [1,1]',
    inputs: () => [rnd([1, 1], 37), rnd([1, 1], 38), rnd([1], 39)],
    fn: (x, W, b) => ng.linear(x, W, b),
  },
  {
    name: 'matmul used twice (accumulating gemm)',
    inputs: () => [rnd([3, 3], 40)],
    fn: (a) => ng.matmul(ng.matmul(a, a), a),
  },
);
for (const dim of [null, 0, 1, 2, -1, -3]) {
  for (const keepdim of [false, true]) {
    const tag = `dim=${dim} keepdim=${keepdim}`;
    cases.push(
      { name: `sum ${tag}`, inputs: () => [rnd([2, 3, 4], 41)], fn: (x) => ng.sum(x, dim, keepdim) },
      { name: `mean ${tag}`, inputs: () => [rnd([2, 3, 4], 42)], fn: (x) => ng.mean(x, dim, keepdim) },
      { name: `max ${tag}`, inputs: () => [distinct([2, 3, 4], 43)], fn: (x) => ng.max(x, dim, keepdim) },
    );
  }
}
cases.push(
  {
    name: 'reshape [2,6] -> [3,-1]',
    inputs: () => [rnd([2, 6], 44)],
    fn: (x) => ng.mul(ng.reshape(x, [3, -1]), ng.arange(4)),
  },
  { name: 'flatten', inputs: () => [rnd([2, 3, 2], 45)], fn: (x) => ng.flatten(x) },
  { name: 'transpose [3,4]', inputs: () => [rnd([3, 4], 46)], fn: (x) => x.transpose() },
  { name: 'transpose [40,35] (tiles)', inputs: () => [rnd([40, 35], 47)], fn: (x) => x.T },
);
for (const [s, dim] of [
  [[3, 4], -1],
  [[3, 4], 0],
  [[2, 3, 4], 1],
  [[2, 3, 4], -1],
  [[5], 0],
] as [number[], number][]) {
  cases.push(
    { name: `softmax ${sh(s)} dim=${dim}`, inputs: () => [rnd(s, 48)], fn: (x) => ng.softmax(x, dim) },
    { name: `logSoftmax ${sh(s)} dim=${dim}`, inputs: () => [rnd(s, 49)], fn: (x) => ng.logSoftmax(x, dim) },
  );
}
const labels4 = [2, 0, 4, 1];
cases.push(
  { name: 'softmaxCrossEntropy', inputs: () => [rnd([4, 5], 50)], fn: (x) => ng.softmaxCrossEntropy(x, labels4) },
  {
    name: 'softmaxCrossEntropy scaled upstream',
    inputs: () => [rnd([4, 5], 51)],
    fn: (x) => ng.mul(ng.softmaxCrossEntropy(x, Int32Array.from(labels4)), 3),
  },
  { name: 'svmLoss', inputs: () => [distinct([4, 5], 52)], fn: (x) => ng.svmLoss(x, labels4) },
  {
    name: 'svmLoss delta=0.5',
    inputs: () => [distinct([4, 5], 53)],
    fn: (x) => ng.svmLoss(x, labels4, { delta: 0.5 }),
  },
  { name: 'mseLoss', inputs: () => [rnd([3, 4], 54), rnd([3, 4], 55)], fn: ng.mseLoss },
  {
    name: 'binaryCrossEntropyWithLogits',
    inputs: () => {
      const t = rnd([3, 4], 57, 'positive');
      t.data.forEach((v, i) => {
        t.data[i] = (v - 0.5) / 1.5;
      });
      return [rnd([3, 4], 56), t];
    },
    fn: ng.binaryCrossEntropyWithLogits,
  },
  {
    name: 'MLP layer: linear + relu + linear + CE',
    inputs: () => [rnd([4, 3], 58), rnd([6, 3], 59), rnd([6], 60), rnd([5, 6], 61)],
    fn: (x, W1, b1, W2) => ng.softmaxCrossEntropy(ng.linear(ng.linear(x, W1, b1).relu(), W2), labels4),
  },
);

// ---- gradcheck, per backend ---------------------------------------------------------------------

for (const name of available) {
  describe(`gradcheck on the ${name} backend`, () => {
    it.each(cases)('$name', (c) => {
      withBackend(name, () => {
        const xs = c.inputs();
        const r = gradcheck(c.fn, xs);
        if (!r.ok) throw new Error(`${c.name}: ${JSON.stringify(r)}`);
        expect(r.checked).toBe(xs.reduce((s, x) => s + x.numel, 0));
      });
    });
  });
}

// ---- compiled backends (native, wasm) vs TS -----------------------------------------------------

/** Forward values and every input's gradient under the given backend (upstream weights fixed). */
function valuesAndGrads(name: BackendName, c: Case): Float32Array[] {
  return withBackend(name, () => {
    const xs = c.inputs();
    const y = c.fn(...xs);
    const w = new Rng(99).fillUniform(new Float32Array(y.numel), -1, 1) as Float32Array;
    y.backward(w);
    return [y.data, ...xs.map((x) => x.grad?.data ?? new Float32Array(0))];
  });
}

// gemm's summation order differs between the backends (FMA, SIMD lanes, blocking), so they
// agree to float32 rounding, not bit for bit: |native - ts| <= 1e-5 + 1e-4 |ts|, and the same
// for wasm (whose gemm rounds as native's scalar path: a product, then a sum, k ascending). The absolute
// term matters for long dot products that cancel (K = 300..784 terms of size ~1 summing to
// ~0.03 differ by up to 3e-6); the small cases all agree within 1e-7 + 1e-6 |ts|.
const NATIVE_ATOL = 1e-5;
const NATIVE_RTOL = 1e-4;

// Larger shapes for the agreement check only (too slow to gradcheck in TS): full SIMD tiles,
// edge tiles and K blocking in gemm, longer softmax rows.
const largeCases: Case[] = [
  {
    name: 'linear [67,70] x [33,70]^T + b',
    inputs: () => [rnd([67, 70], 70), rnd([33, 70], 71), rnd([33], 72)],
    fn: (x, W, b) => ng.linear(x, W, b),
  },
  { name: 'matmul [65,300] x [300,47]', inputs: () => [rnd([65, 300], 73), rnd([300, 47], 74)], fn: ng.matmul },
  {
    name: 'MLP + CE on [64, 784] -> 100 -> 10',
    inputs: () => [rnd([64, 784], 75), rnd([100, 784], 76), rnd([100], 77), rnd([10, 100], 78), rnd([10], 79)],
    fn: (x, W1, b1, W2, b2) =>
      ng.softmaxCrossEntropy(
        ng.linear(ng.linear(x, W1, b1).relu(), W2, b2),
        Array.from({ length: 64 }, (_, i) => i % 10),
      ),
  },
];

describe.each(compiled.map(([name]) => name))('the %s and TS backends agree', (other) => {
  it.each([...cases, ...largeCases])('$name', (c) => {
    const t = valuesAndGrads('ts', c);
    const n = valuesAndGrads(other, c);
    expect(n.length).toBe(t.length);
    for (let k = 0; k < t.length; k++) {
      expect(n[k].length).toBe(t[k].length);
      for (let i = 0; i < t[k].length; i++) {
        const tol = NATIVE_ATOL + NATIVE_RTOL * Math.abs(t[k][i]);
        if (!(Math.abs(n[k][i] - t[k][i]) <= tol)) {
          throw new Error(
            `${c.name}: ${k === 0 ? 'output' : `grad of input ${k - 1}`}[${i}]: ${other} ${n[k][i]} vs ts ${t[k][i]}`,
          );
        }
      }
    }
  });
});

// ---- values ---------------------------------------------------------------------------------------

const arr = (t: Tensor) => Array.from(t.data);

describe('values', () => {
  it('broadcasts [3,1] + [1,4] to [3,4]', () => {
    const y = ng.add(tensor([[0], [10], [20]]), tensor([[1, 2, 3, 4]]));
    expect(y.shape).toEqual([3, 4]);
    expect(y.toArray()).toEqual([
      [1, 2, 3, 4],
      [11, 12, 13, 14],
      [21, 22, 23, 24],
    ]);
  });

  it('broadcasts [2,3] * [3] and scalar + [2,3]', () => {
    expect(
      ng
        .mul(
          tensor([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          tensor([1, 10, 100]),
        )
        .toArray(),
    ).toEqual([
      [1, 20, 300],
      [4, 50, 600],
    ]);
    expect(
      ng
        .add(
          tensor(1),
          tensor([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        )
        .toArray(),
    ).toEqual([
      [2, 3, 4],
      [5, 6, 7],
    ]);
    expect(ng.sub(10, tensor([1, 2])).toArray()).toEqual([9, 8]);
    expect(ng.div(tensor([1, 2]), 4).toArray()).toEqual([0.25, 0.5]);
  });

  it('broadcasts over a middle dim: [2,1,3] + [4,1] -> [2,4,3]', () => {
    const a = ng.arange(6).reshape([2, 1, 3]);
    const b = ng.mul(ng.arange(4), 100).reshape([4, 1]);
    const y = ng.add(a, b);
    expect(y.shape).toEqual([2, 4, 3]);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++)
        for (let k = 0; k < 3; k++) {
          expect(y.data[(i * 4 + j) * 3 + k]).toBe(i * 3 + k + 100 * j);
        }
  });

  it('the backward of a broadcast sums over the broadcast dims', () => {
    const a = tensor([[1], [2], [3]], { requiresGrad: true });
    const b = tensor([[1, 2, 3, 4]], { requiresGrad: true });
    ng.sum(ng.mul(a, b)).backward();
    expect(arr(a.grad!)).toEqual([10, 10, 10]);
    expect(arr(b.grad!)).toEqual([6, 6, 6, 6]);
  });

  it('maximum and minimum split ties half-half, as PyTorch', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([1, 1, 3], { requiresGrad: true });
    ng.sum(ng.maximum(a, b)).backward();
    expect(arr(a.grad!)).toEqual([0.5, 1, 0.5]);
    expect(arr(b.grad!)).toEqual([0.5, 0, 0.5]);
    a.grad = null;
    b.grad = null;
    ng.sum(ng.minimum(a, b)).backward();
    expect(arr(a.grad!)).toEqual([0.5, 0, 0.5]);
    expect(arr(b.grad!)).toEqual([0.5, 1, 0.5]);
  });

  it('max over a dim routes the gradient to the first max index (torch.max(dim))', () => {
    const x = tensor(
      [
        [1, 3, 3, 2],
        [5, 5, 1, 0],
      ],
      { requiresGrad: true },
    );
    const m = ng.max(x, 1);
    expect(arr(m)).toEqual([3, 5]);
    ng.sum(m).backward();
    expect(x.grad!.toArray()).toEqual([
      [0, 1, 0, 0],
      [1, 0, 0, 0],
    ]);
    expect(Array.from(ng.argmax(x, 1))).toEqual([1, 0]);
    expect(Array.from(x.argmax(0))).toEqual([1, 1, 0, 0]);
  });

  it('max over all elements spreads the gradient evenly over ties (torch.max())', () => {
    const x = tensor(
      [
        [1, 5, 3],
        [5, 2, 5],
      ],
      { requiresGrad: true },
    );
    const m = x.max();
    expect(m.shape).toEqual([]);
    expect(m.item()).toBe(5);
    m.backward();
    const third = Math.fround(1 / 3);
    expect(arr(x.grad!)).toEqual([0, third, 0, third, 0, third]);
  });

  it('sum, mean, max with negative dims and keepdim', () => {
    const x = ng.arange(6).reshape([2, 3]);
    expect(ng.sum(x).item()).toBe(15);
    expect(ng.sum(x, -1).toArray()).toEqual([3, 12]);
    expect(ng.sum(x, 0, true).shape).toEqual([1, 3]);
    expect(ng.mean(x, 1, true).toArray()).toEqual([[1], [4]]);
    expect(ng.max(x, -2).toArray()).toEqual([3, 4, 5]);
    expect(ng.sum(x, null, true).shape).toEqual([1, 1]);
    expect(() => ng.sum(x, 2)).toThrow(/sum: dim 2 is out of range for a tensor of 2 dims/);
  });

  it('softmax and logSoftmax are stable for large logits', () => {
    const x = tensor([
      [1000, 1001, 1002],
      [-1000, -1000, -1000],
    ]);
    const p = ng.softmax(x);
    const lp = ng.logSoftmax(x);
    expect(p.data.every(Number.isFinite)).toBe(true);
    expect(lp.data.every(Number.isFinite)).toBe(true);
    expect(p.data[2]).toBeCloseTo(0.66524, 5);
    expect(lp.data[3]).toBeCloseTo(-Math.log(3), 5);
  });

  it('sigmoid saturates without overflow', () => {
    const y = ng.sigmoid(tensor([-1000, 0, 1000]));
    expect(arr(y)).toEqual([0, 0.5, 1]);
  });

  it('reshape shares data, infers one -1, and rejects bad sizes', () => {
    const x = ng.arange(12);
    const y = x.reshape([3, -1]);
    expect(y.shape).toEqual([3, 4]);
    expect(y.data).toBe(x.data);
    expect(() => x.reshape([5, -1])).toThrow(/reshape: cannot reshape \[12\] \(12 elements\) into \[5,-1\]/);
    expect(() => x.reshape([-1, -1])).toThrow(/only one dim can be -1/);
    expect(() => x.reshape([2, 2])).toThrow(RangeError);
  });

  it('matmul and linear compute x W^T + b', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    const W = tensor([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const b = tensor([10, 20, 30]);
    expect(ng.matmul(x, W.T).toArray()).toEqual([
      [1, 2, 3],
      [3, 4, 7],
    ]);
    expect(ng.linear(x, W, b).toArray()).toEqual([
      [11, 22, 33],
      [13, 24, 37],
    ]);
    expect(x.linear(W, b).toArray()).toEqual([
      [11, 22, 33],
      [13, 24, 37],
    ]);
    expect(x.linear(W).toArray()).toEqual([
      [1, 2, 3],
      [3, 4, 7],
    ]);
  });

  it('losses compute the documented values', () => {
    const logits = tensor([
      [0, 0],
      [0, 0],
    ]);
    expect(ng.softmaxCrossEntropy(logits, [0, 1]).item()).toBeCloseTo(Math.log(2), 6);
    const scores = tensor([
      [3, 1, 2.5],
      [0, 4, 1],
    ]); // row 0: y=0: max(0,1-3+1) + max(0,2.5-3+1)=0.5; row 1: y=2: (0-1+1)+(4-1+1)=4
    expect(ng.svmLoss(scores, [0, 2]).item()).toBeCloseTo(2.25, 6);
    expect(ng.svmLoss(scores, [0, 2], { delta: 0 }).item()).toBeCloseTo(1.5, 6);
    expect(ng.mseLoss(tensor([1, 2]), tensor([0, 4])).item()).toBeCloseTo(2.5, 6);
    const bce = ng.binaryCrossEntropyWithLogits(tensor([0, 100, -100]), tensor([1, 1, 1])).item();
    expect(bce).toBeCloseTo((Math.log(2) + 0 + 100) / 3, 4);
  });
});

// ---- errors before any kernel runs ----------------------------------------------------------------

describe('shape and label errors', () => {
  afterEach(() => vi.restoreAllMocks());

  it('matmul: shapes that do not line up', () => {
    const gemm = vi.spyOn(backends().ts, 'gemm');
    withBackend('ts', () => {
      expect(() => ng.matmul(ng.zeros([2, 3]), ng.zeros([4, 5]))).toThrow(RangeError);
      expect(() => ng.matmul(ng.zeros([2, 3]), ng.zeros([4, 5]))).toThrow(
        'matmul: shapes [2,3] and [4,5] do not line up (3 != 4)',
      );
      expect(() => ng.matmul(ng.zeros([]), ng.zeros([3, 4]))).toThrow(
        'matmul: both arguments need at least 1 dim, got [] and [3,4]',
      );
      expect(() => ng.matmul(ng.zeros([2, 5, 3]), ng.zeros([4, 2]))).toThrow(
        'matmul: shapes [2,5,3] and [4,2] do not line up (3 != 4)',
      );
      expect(() => ng.matmul(ng.zeros([2, 5, 3]), ng.zeros([3, 3, 2]))).toThrow(
        'matmul: batch dims of [2,5,3] and [3,3,2]: shapes [2] and [3] cannot be broadcast',
      );
    });
    expect(gemm).not.toHaveBeenCalled();
  });

  it('add/mul/...: shapes that cannot be broadcast', () => {
    expect(() => ng.add(ng.zeros([2, 3]), ng.zeros([4]))).toThrow('add: shapes [2,3] and [4] cannot be broadcast');
    expect(() => ng.mul(ng.zeros([2, 3]), ng.zeros([3, 2]))).toThrow('mul: shapes [2,3] and [3,2] cannot be broadcast');
    expect(() => ng.maximum(ng.zeros([5]), ng.zeros([4]))).toThrow(RangeError);
  });

  it('linear: W and b shapes', () => {
    const gemm = vi.spyOn(backends().ts, 'gemm');
    withBackend('ts', () => {
      expect(() => ng.linear(ng.zeros([2, 3]), ng.zeros([4, 5]))).toThrow(
        'linear: W must be [out, in] with in = 3, got [4,5]',
      );
      expect(() => ng.linear(ng.zeros([2, 3]), ng.zeros([4, 3]), ng.zeros([5]))).toThrow(
        'linear: b must be [out] with out = 4, got [5]',
      );
      expect(() => ng.linear(ng.zeros([3]), ng.zeros([4, 3]))).toThrow('linear: x must be 2-D [N, in], got [3]');
    });
    expect(gemm).not.toHaveBeenCalled();
  });

  it('labels: out of range, non-integer or wrong count throw RangeError before the kernel', () => {
    const sce = vi.spyOn(backends().ts, 'softmaxCrossEntropy');
    withBackend('ts', () => {
      const logits = ng.zeros([2, 3]);
      expect(() => ng.softmaxCrossEntropy(logits, [0, 3])).toThrow(RangeError);
      expect(() => ng.softmaxCrossEntropy(logits, [0, 3])).toThrow(
        'softmaxCrossEntropy: labels[1] = 3 is not a class index in [0, 3)',
      );
      expect(() => ng.softmaxCrossEntropy(logits, [0, -1])).toThrow(RangeError);
      expect(() => ng.softmaxCrossEntropy(logits, [0, 1.5])).toThrow(/labels\[1\] = 1.5/);
      expect(() => ng.softmaxCrossEntropy(logits, [0])).toThrow(
        'softmaxCrossEntropy: expected 2 labels (one per row), got 1',
      );
      expect(() => ng.softmaxCrossEntropy(logits, new Int32Array([0, 7]))).toThrow(RangeError);
      expect(() => ng.svmLoss(logits, [0, 5])).toThrow(RangeError);
      expect(() => ng.svmLoss(logits, [0, 1, 2])).toThrow(RangeError);
      expect(() => ng.softmaxCrossEntropy(ng.zeros([2, 3, 1]), [0, 1])).toThrow(/logits must be \[N, C\]/);
    });
    expect(sce).not.toHaveBeenCalled();
  });

  it('labels may be any integer array (Uint8Array from a data set)', () => {
    const l = ng.softmaxCrossEntropy(ng.zeros([2, 3]), new Uint8Array([0, 2]));
    expect(l.item()).toBeCloseTo(Math.log(3), 6);
  });

  it('mseLoss and BCE need equal shapes', () => {
    expect(() => ng.mseLoss(ng.zeros([2, 3]), ng.zeros([3]))).toThrow(
      'mseLoss: pred [2,3] and target [3] must have the same shape',
    );
    expect(() => ng.binaryCrossEntropyWithLogits(ng.zeros([2]), ng.zeros([3]))).toThrow(RangeError);
  });

  it('transpose needs 2-D; ops reject non-tensors', () => {
    expect(() => ng.transpose(ng.zeros([2, 3, 4]))).toThrow('transpose: expected a 2-D tensor, got [2,3,4]');
    expect(() => ng.exp(3 as never)).toThrow(TypeError);
    expect(() => ng.add('a' as never, 1)).toThrow(TypeError);
  });
});

// ---- how matmul/linear call gemm -------------------------------------------------------------------

describe('gemm use in backward', () => {
  afterEach(() => vi.restoreAllMocks());

  it('matmul backward uses gemm transpose flags, beta 0 for fresh grads and 1 to accumulate', () => {
    const gemm = vi.spyOn(backends().ts, 'gemm');
    withBackend('ts', () => {
      const a = rnd([2, 3], 1),
        b = rnd([3, 4], 2);
      const y = ng.matmul(a, b);
      gemm.mockClear();
      y.backward(ng.ones([2, 4]));
      const calls = gemm.mock.calls.map((c) => [c[0], c[1], c[2], c[3], c[4], c[8]]);
      // dA = dC B^T: [2,4] x [4,3]; dB = A^T dC: [3,2] x [2,4]
      expect(calls).toEqual([
        [false, true, 2, 3, 4, 0],
        [true, false, 3, 4, 2, 0],
      ]);
      const y2 = ng.matmul(a, b);
      gemm.mockClear();
      y2.backward(ng.ones([2, 4]));
      expect(gemm.mock.calls.map((c) => c[8])).toEqual([1, 1]);
    });
  });

  it('linear: gemm(false, true) forward; dX gemm(false, false), dW gemm(true, false); biasGrad', () => {
    const gemm = vi.spyOn(backends().ts, 'gemm');
    const biasGrad = vi.spyOn(backends().ts, 'biasGrad');
    withBackend('ts', () => {
      const x = rnd([4, 3], 1),
        W = rnd([5, 3], 2),
        b = rnd([5], 3);
      const y = ng.linear(x, W, b);
      expect(gemm.mock.calls.map((c) => [c[0], c[1], c[2], c[3], c[4]])).toEqual([[false, true, 4, 5, 3]]);
      gemm.mockClear();
      y.backward(ng.ones([4, 5]));
      expect(gemm.mock.calls.map((c) => [c[0], c[1], c[2], c[3], c[4], c[8]])).toEqual([
        [false, false, 4, 3, 5, 0],
        [true, false, 5, 3, 4, 0],
      ]);
      expect(biasGrad.mock.calls.map((c) => c[4])).toEqual([false]);
      expect(Array.from(b.grad!.data)).toEqual([4, 4, 4, 4, 4]);
    });
  });
});
