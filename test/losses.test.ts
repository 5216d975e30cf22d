// The losses' gradients against finite differences (every loss, reduction and option, both
// backends), the fused fast path of crossEntropy, and what the losses refuse. Their values
// against PyTorch are in losses-torch.test.ts.
import { describe, expect, it } from 'vitest';
import { withBackend } from '../lib/backend/index.js';
import * as ng from '../lib/tensor/index.js';
import { gradcheck, markModified, type Tensor } from '../lib/tensor/index.js';
import { Rng } from '../lib/random.js';
import { available } from './helpers/backends.js';

function randn(shape: number[], seed: number, scale = 1): Tensor {
  return ng.randn(shape, { rng: new Rng(seed), std: scale, requiresGrad: true });
}
function uniform(shape: number[], seed: number, low: number, high: number, requiresGrad = true): Tensor {
  return ng.rand(shape, { rng: new Rng(seed), low, high, requiresGrad });
}
function ints(n: number, C: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(C));
}

type Case = [name: string, fn: (...x: Tensor[]) => Tensor, inputs: () => Tensor[]];

const W4 = ng.tensor([0.5, 2, 1, 3]);
const reductions = ['mean', 'sum', 'none'] as const;
const labels6 = ints(6, 4, 1);
const ignored6 = Int32Array.from(labels6, (v, i) => (i === 2 || i === 4 ? -100 : v));
const labelsNd = ints(2 * 3 * 2, 4, 2);

const cases: Case[] = [
  ...reductions.flatMap((reduction): Case[] => [
    [`crossEntropy ${reduction}`, (x) => ng.crossEntropy(x, labels6, { reduction }), () => [randn([6, 4], 3)]],
    [
      `crossEntropy weight, ignoreIndex, labelSmoothing, ${reduction}`,
      (x) => ng.crossEntropy(x, ignored6, { reduction, weight: W4, labelSmoothing: 0.2 }),
      () => [randn([6, 4], 4)],
    ],
    [
      `crossEntropy [N, C, d1, d2] ${reduction}`,
      (x) => ng.crossEntropy(x, labelsNd, { reduction, weight: W4 }),
      () => [randn([2, 4, 3, 2], 5)],
    ],
    [
      `crossEntropy probability targets ${reduction}`,
      (x, t) => ng.crossEntropy(x, t, { reduction, weight: W4, labelSmoothing: 0.1 }),
      () => [randn([5, 4], 6), uniform([5, 4], 7, 0, 1)],
    ],
    [`nllLoss ${reduction}`, (x) => ng.nllLoss(x, ignored6, { reduction, weight: W4 }), () => [randn([6, 4], 8)]],
    [
      `softmaxCrossEntropy ${reduction}`,
      (x) => ng.softmaxCrossEntropy(x, labels6, { reduction }),
      () => [randn([6, 4], 9)],
    ],
    // margins kept away from 0 (a kink) by well-separated scores
    [
      `svmLoss ${reduction}`,
      (x) => ng.svmLoss(x, [0, 1, 2], { reduction, delta: 0.5 }),
      () => [
        ng.tensor(
          [
            [3, 1, 0.2],
            [0.4, 2, 1.9],
            [1, -1, 0.1],
          ],
          { requiresGrad: true },
        ),
      ],
    ],
    [`mseLoss ${reduction}`, (x, t) => ng.mseLoss(x, t, { reduction }), () => [randn([3, 4], 10), randn([3, 4], 11)]],
    // kinks at 0 (l1) and at |d| = beta, delta: differences kept >= 0.05 from both
    [
      `l1Loss ${reduction}`,
      (x, t) => ng.l1Loss(x, t, { reduction }),
      () => [ng.tensor([0.5, -1, 2, 0.3], { requiresGrad: true }), ng.tensor([0, 1, 1.5, 0.9], { requiresGrad: true })],
    ],
    [
      `smoothL1Loss beta 0.4 ${reduction}`,
      (x, t) => ng.smoothL1Loss(x, t, { reduction, beta: 0.4 }),
      () => [ng.tensor([0.5, -1, 2, 0.3], { requiresGrad: true }), ng.tensor([0, 1, 1.9, 0.9], { requiresGrad: true })],
    ],
    [
      `huberLoss delta 0.4 ${reduction}`,
      (x, t) => ng.huberLoss(x, t, { reduction, delta: 0.4 }),
      () => [ng.tensor([0.5, -1, 2, 0.3], { requiresGrad: true }), ng.tensor([0, 1, 1.9, 0.9], { requiresGrad: true })],
    ],
    [
      `binaryCrossEntropy weight ${reduction}`,
      (p, t) => ng.binaryCrossEntropy(p, t, { reduction, weight: ng.tensor([1, 0.5, 2]) }),
      () => [uniform([4, 3], 12, 0.1, 0.9), uniform([4, 3], 13, 0, 1)],
    ],
    [
      `binaryCrossEntropyWithLogits posWeight, weight ${reduction}`,
      (x, t) =>
        ng.binaryCrossEntropyWithLogits(x, t, {
          reduction,
          posWeight: ng.tensor([1, 0.5, 2]),
          weight: ng.tensor([[2], [1], [0.5], [1.5]]),
        }),
      () => [randn([4, 3], 14, 2), uniform([4, 3], 15, 0, 1)],
    ],
  ]),
];

describe.each(available)('%s backend', (backend) => {
  it.each(cases)('gradcheck: %s', (_, fn, inputs) => {
    withBackend(backend, () => {
      const r = gradcheck(fn, inputs());
      expect(r.checked).toBeGreaterThan(0);
      expect(r.ok, JSON.stringify(r.worst)).toBe(true);
    });
  });

  it('crossEntropy runs the plain case on the fused kernel: the same numbers as softmaxCrossEntropy', () => {
    withBackend(backend, () => {
      const a = randn([6, 4], 20);
      const b = randn([6, 4], 20);
      const la = ng.crossEntropy(a, labels6);
      const lb = ng.softmaxCrossEntropy(b, labels6);
      expect(la.op).toBe('crossEntropy');
      expect(la.item()).toBe(lb.item());
      la.backward();
      lb.backward();
      expect(a.grad!.data).toEqual(b.grad!.data);
    });
  });

  it('crossEntropy off the fast path agrees with it (an ignoreIndex nothing uses, a sum / N)', () => {
    withBackend(backend, () => {
      const x = randn([6, 4], 21);
      const fast = ng.crossEntropy(x, labels6).item();
      expect(ng.crossEntropy(x, labels6, { reduction: 'sum' }).item() / 6).toBeCloseTo(fast, 6);
      expect(ng.crossEntropy(x, labels6, { weight: [1, 1, 1, 1] }).item()).toBeCloseTo(fast, 6);
    });
  });
});

describe('crossEntropy semantics', () => {
  it("'none' gives one loss per position, shaped [N, d1, ...]", () => {
    expect(ng.crossEntropy(randn([2, 4, 3, 2], 1), labelsNd, { reduction: 'none' }).shape).toEqual([2, 3, 2]);
    expect(ng.nllLoss(randn([6, 4], 1), labels6, { reduction: 'none' }).shape).toEqual([6]);
    expect(ng.svmLoss(randn([6, 4], 1), labels6, { reduction: 'none' }).shape).toEqual([6]);
    expect(ng.mseLoss(randn([2, 3], 1), randn([2, 3], 2), { reduction: 'none' }).shape).toEqual([2, 3]);
  });

  it('an ignored position has zero loss and zero gradient', () => {
    const x = randn([6, 4], 2);
    const l = ng.crossEntropy(x, ignored6, { reduction: 'none', labelSmoothing: 0.3 });
    expect(l.data[2]).toBe(0);
    expect(l.data[4]).toBe(0);
    l.sum().backward();
    expect(Array.from(x.grad!.data.subarray(8, 12))).toEqual([0, 0, 0, 0]);
    expect(x.grad!.data.subarray(0, 4).some((v) => v !== 0)).toBe(true);
  });

  it('a mean with every target ignored is NaN, as torch', () => {
    expect(ng.crossEntropy(randn([2, 3], 3), [-100, -100]).item()).toBeNaN();
    expect(ng.nllLoss(randn([2, 3], 3), [1, 1], { ignoreIndex: 1 }).item()).toBeNaN();
  });

  it('one-hot probability targets give the class-index loss', () => {
    const x = randn([3, 4], 4);
    const onehot = ng.zeros([3, 4]);
    [2, 0, 3].forEach((c, n) => {
      onehot.data[n * 4 + c] = 1;
    });
    expect(ng.crossEntropy(x, onehot).item()).toBeCloseTo(ng.crossEntropy(x, [2, 0, 3]).item(), 6);
  });

  it('the Tensor method is crossEntropy', () => {
    const x = randn([6, 4], 5);
    expect(x.crossEntropy(labels6, { labelSmoothing: 0.1 }).item()).toBe(
      ng.crossEntropy(x, labels6, { labelSmoothing: 0.1 }).item(),
    );
  });

  it('targets changed in place before backward make backward throw', () => {
    const x = randn([6, 4], 6);
    const y = Int32Array.from(labels6);
    const l = ng.crossEntropy(x, y, { labelSmoothing: 0.1 });
    y[0] = (y[0] + 1) % 4;
    markModified(y);
    expect(() => l.backward()).toThrow(/modified/);
  });
});

describe('what the losses refuse', () => {
  const x = () => randn([2, 3], 7);
  it.each<[string, () => unknown, RegExp]>([
    ['a target out of range', () => ng.crossEntropy(x(), [0, 3]), /target\[1\] = 3 is not a class index in \[0, 3\)/],
    ['a wrong count of targets', () => ng.crossEntropy(x(), [0]), /expected 2 targets/],
    ['a 1-D input', () => ng.crossEntropy(ng.zeros([3]), [0]), /input must be \[N, C\] or \[N, C, d1, \.\.\.\]/],
    ['a weight of the wrong length', () => ng.crossEntropy(x(), [0, 1], { weight: [1, 2] }), /weight must be .* of 3/],
    ['labelSmoothing above 1', () => ng.crossEntropy(x(), [0, 1], { labelSmoothing: 1.5 }), /labelSmoothing must be/],
    ['ignoreIndex with probabilities', () => ng.crossEntropy(x(), ng.zeros([2, 3]), { ignoreIndex: 0 }), /class-index/],
    [
      'class indices in a Tensor, naming where they go',
      () => ng.crossEntropy(x(), ng.tensor([0, 1])),
      /pass class indices as an Int32Array or an array of integers/,
    ],
    ['probabilities of another shape', () => ng.crossEntropy(x(), ng.zeros([2, 4])), /must have the input's shape/],
    [
      'a non-integer ignoreIndex',
      () => ng.nllLoss(x(), [0, 1], { ignoreIndex: 0.5 }),
      /ignoreIndex must be an integer/,
    ],
    [
      'a probability above 1',
      () => ng.binaryCrossEntropy(ng.tensor([0.5, 1.5]), ng.tensor([0, 1])),
      /input\[1\] = 1.5/,
    ],
    [
      'a posWeight that does not broadcast',
      () => ng.binaryCrossEntropyWithLogits(x(), ng.zeros([2, 3]), { posWeight: ng.ones([2]) }),
      /cannot be broadcast/,
    ],
    [
      'a weight that would grow the input',
      () => ng.binaryCrossEntropy(ng.full([3], 0.5), ng.zeros([3]), { weight: ng.ones([2, 3]) }),
      /does not broadcast to the input's \[3\]/,
    ],
    ['a negative beta', () => ng.smoothL1Loss(x(), x(), { beta: -1 }), /beta must be a finite number >= 0/],
    ['a zero delta', () => ng.huberLoss(x(), x(), { delta: 0 }), /delta must be a finite number > 0/],
    [
      'a reduction torch does not have',
      () => ng.l1Loss(x(), x(), { reduction: 'batchmean' as never }),
      /reduction must be one of/,
    ],
  ])('%s', (_, f, msg) => {
    expect(f).toThrow(msg);
  });
});
