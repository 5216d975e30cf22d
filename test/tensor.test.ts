// The Tensor core: factories, accessors, the backward walk (accumulation, freeing, retainGraph),
// noGrad, detach, and the seeded generator in lib/random.ts.
import { describe, expect, it } from 'vitest';
import {
  Tensor,
  tensor,
  zeros,
  ones,
  full,
  randn,
  rand,
  arange,
  noGrad,
  isGradEnabled,
  add,
  mul,
  exp,
  sum,
  makeResult,
  accumulateGrad,
} from '../lib/tensor/index.js';
import { Rng, globalRng, manualSeed } from '../lib/random.js';

describe('factories', () => {
  it('tensor() infers the shape of nested arrays, row-major', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.requiresGrad).toBe(false);
    expect(t.op).toBe('');
    expect(t.parents).toEqual([]);
    expect(t.grad).toBeNull();
  });

  it('tensor() of a number is a scalar of shape []', () => {
    const t = tensor(3.5);
    expect(t.shape).toEqual([]);
    expect(t.item()).toBe(3.5);
    expect(t.numel).toBe(1);
  });

  it('tensor() copies typed arrays and applies shape', () => {
    const src = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(src, { shape: [3, 2], requiresGrad: true });
    expect(t.shape).toEqual([3, 2]);
    expect(t.requiresGrad).toBe(true);
    src[0] = 99;
    expect(t.data[0]).toBe(1);
    const f = new Float32Array([1, 2]);
    expect(tensor(f).data).not.toBe(f);
  });

  it('tensor() rejects ragged arrays with a RangeError naming the position', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(RangeError);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged.*\[1\] has length 1, expected length 2/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/ragged/);
    expect(() => tensor([1, [2, 3]] as never)).toThrow(/ragged/);
  });

  it('tensor() rejects non-numbers with a TypeError', () => {
    expect(() => tensor([1, 'a'] as never)).toThrow(TypeError);
    expect(() =>
      tensor([
        [1, 2],
        [3, null],
      ] as never),
    ).toThrow(/element \[1\]\[1\] is not a number \(got null\)/);
    expect(() => tensor('x' as never)).toThrow(TypeError);
  });

  it('tensor() rejects a shape with the wrong element count', () => {
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/shape \[2,2\] needs 4 elements, got 3/);
  });

  it('zeros, ones, full, arange', () => {
    expect(Array.from(zeros([2, 2]).data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(ones([3]).data)).toEqual([1, 1, 1]);
    expect(Array.from(full([2], 7).data)).toEqual([7, 7]);
    expect(ones([2], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(Array.from(arange(4).data)).toEqual([0, 1, 2, 3]);
    expect(Array.from(arange(1, 7, 2).data)).toEqual([1, 3, 5]);
    expect(Array.from(arange(3, 0, -1).data)).toEqual([3, 2, 1]);
    expect(arange(2, 2).shape).toEqual([0]);
    expect(() => arange(0, 3, 0)).toThrow(RangeError);
    expect(() => zeros([2, -1])).toThrow(RangeError);
    expect(() => zeros([1.5])).toThrow(RangeError);
  });

  it('randn with a seed is reproducible and leaves the global generator alone', () => {
    const before = globalRng.getState();
    const a = randn([3, 4], { seed: 42 });
    const b = randn([3, 4], { seed: 42 });
    expect(a.data).toEqual(b.data);
    expect(globalRng.getState()).toEqual(before);
    expect(randn([3, 4], { seed: 43 }).data).not.toEqual(a.data);
  });

  it('randn without a seed draws from the global generator, which manualSeed resets', () => {
    manualSeed(7);
    const a = randn([5]);
    const r = rand([5]);
    manualSeed(7);
    expect(randn([5]).data).toEqual(a.data);
    expect(rand([5]).data).toEqual(r.data);
  });

  it('rand is in [low, high)', () => {
    const t = rand([1000], { seed: 1, low: -2, high: 3 });
    for (const v of t.data) {
      expect(v).toBeGreaterThanOrEqual(-2);
      expect(v).toBeLessThan(3);
    }
  });
});

describe('accessors', () => {
  it('item() needs exactly one element', () => {
    expect(tensor([[5]]).item()).toBe(5);
    expect(() => tensor([1, 2]).item()).toThrow(/item: tensor has 2 elements/);
  });

  it('toArray() returns nested arrays', () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ]).toArray(),
    ).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
    expect(tensor(2).toArray()).toBe(2);
  });

  it('toString() shows values, gradFn and label', () => {
    const a = tensor(
      [
        [1, 2.5],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    a.label = 'a';
    expect(a.toString()).toBe("tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]], requiresGrad=true, label='a')");
    expect(add(a, 1).toString()).toContain('gradFn=<AddBackward>');
    expect(arange(5000).toString()).toContain('...');
  });

  it('the constructor checks the data length against the shape', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(/5 elements, shape \[2,3\] needs 6/);
  });

  it('ndim, numel, isLeaf', () => {
    const x = ones([2, 3], { requiresGrad: true });
    expect(x.ndim).toBe(2);
    expect(x.numel).toBe(6);
    expect(x.isLeaf).toBe(true);
    expect(mul(x, 2).isLeaf).toBe(false);
  });
});

describe('backward', () => {
  it('records op and parents for the graph', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4]);
    const c = mul(a, b);
    expect(c.op).toBe('mul');
    expect(c.parents).toEqual([a, b]);
    expect(c.requiresGrad).toBe(true);
  });

  it('a tensor used twice accumulates both contributions', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = sum(add(mul(x, x), x)); // d/dx = 2x + 1
    y.backward();
    expect(Array.from(x.grad!.data)).toEqual([3, 5, 7]);
  });

  it('gradients accumulate (+=) across backward calls into leaves', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    sum(mul(x, 3)).backward();
    sum(mul(x, 3)).backward();
    expect(Array.from(x.grad!.data)).toEqual([6, 6]);
    const g = x.grad;
    sum(mul(x, 1)).backward();
    expect(x.grad).toBe(g); // accumulated in place
    expect(Array.from(x.grad!.data)).toEqual([7, 7]);
  });

  it('leaf grad has the leaf shape and does not require grad', () => {
    const x = ones([2, 3], { requiresGrad: true });
    sum(x).backward();
    expect(x.grad!.shape).toEqual([2, 3]);
    expect(x.grad!.requiresGrad).toBe(false);
  });

  it('backward() without a gradient needs a one-element tensor', () => {
    const x = ones([2], { requiresGrad: true });
    expect(() => mul(x, 2).backward()).toThrow(/only for one-element tensors, got shape \[2\]/);
  });

  it('backward(grad) takes an explicit upstream gradient (Tensor or Float32Array)', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    mul(x, 3).backward(tensor([1, 10]));
    expect(Array.from(x.grad!.data)).toEqual([3, 30]);
    mul(x, 3).backward(new Float32Array([1, 1]));
    expect(Array.from(x.grad!.data)).toEqual([6, 33]);
    expect(() => mul(x, 3).backward(new Float32Array(3))).toThrow(/grad has 3 elements/);
  });

  it('backward() on a tensor that does not require grad throws', () => {
    expect(() => sum(ones([2])).backward()).toThrow(/does not require grad/);
  });

  it('a second backward through a freed graph throws a clear error', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = sum(exp(x));
    y.backward();
    expect(() => y.backward()).toThrow(/graph was already freed.*retainGraph: true/);
  });

  it('retainGraph keeps the closures so backward can run twice', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = sum(mul(x, x));
    y.backward(null, { retainGraph: true });
    y.backward();
    expect(Array.from(x.grad!.data)).toEqual([4, 8]);
    expect(() => y.backward()).toThrow(/freed/);
  });

  it('frees the closures of intermediates after backward (they keep nothing alive)', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = exp(x);
    const y = sum(h);
    expect(h._backward).not.toBeNull();
    y.backward();
    expect(h._backward).toBeNull();
    expect(y._backward).toBeNull();
    expect(h._gradBuf).toBeNull();
    expect(h.grad).toBeNull(); // intermediates keep no grad unless retainGrad()
    expect(y.parents).toEqual([h]); // the structure stays for drawing
  });

  it('retainGrad keeps an intermediate gradient', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = mul(x, 3).retainGrad();
    sum(mul(h, h)).backward();
    expect(Array.from(h.grad!.data)).toEqual([6, 12]);
    expect(Array.from(x.grad!.data)).toEqual([18, 36]);
  });

  it('only leaves that require grad receive gradients', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const c = tensor([5, 6]);
    sum(mul(x, c)).backward();
    expect(c.grad).toBeNull();
    expect(Array.from(x.grad!.data)).toEqual([5, 6]);
  });

  it('walks a deep graph iteratively (no stack overflow)', () => {
    const x = tensor([1], { requiresGrad: true });
    let y: Tensor = x;
    for (let i = 0; i < 20000; i++) y = add(y, 0.5);
    y.backward();
    expect(x.grad!.item()).toBe(1);
    expect(y.item()).toBe(10001);
  });

  it('custom ops use the same mechanism (makeResult + accumulateGrad)', () => {
    const cube = (x: Tensor): Tensor => {
      const y = x.data.map((v) => v * v * v);
      return makeResult(y, x.shape, 'cube', [x], (g) => {
        for (let i = 0; i < g.length; i++) g[i] *= 3 * x.data[i] * x.data[i];
        accumulateGrad(x, g, true);
      });
    };
    const x = tensor([1, 2], { requiresGrad: true });
    sum(cube(x)).backward();
    expect(Array.from(x.grad!.data)).toEqual([3, 12]);
  });
});

describe('noGrad and detach', () => {
  it('noGrad builds no graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.op).toBe('');
    expect(y.parents).toEqual([]);
    expect(Array.from(y.data)).toEqual([2, 4]);
  });

  it('noGrad nests and restores the previous mode', () => {
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      noGrad(() => expect(isGradEnabled()).toBe(false));
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
  });

  it('noGrad restores the mode when fn throws', () => {
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    const x = tensor([1], { requiresGrad: true });
    expect(mul(x, 2).requiresGrad).toBe(true);
  });

  it('detach shares the data but cuts the graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = mul(x, 2);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.parents).toEqual([]);
    expect(d.data).toBe(y.data);
    const z = sum(mul(d, x)); // d is a constant here
    z.backward();
    expect(Array.from(x.grad!.data)).toEqual([2, 4]);
  });

  it('clone copies the data', () => {
    const x = tensor([1, 2]);
    expect(x.clone().data).not.toBe(x.data);
    expect(x.clone().data).toEqual(x.data);
  });
});

describe('random (xoshiro128**)', () => {
  it('matches the reference implementation for state [1, 2, 3, 4]', () => {
    const r = new Rng().setState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4], spare: null });
    const first = Array.from({ length: 6 }, () => r.nextUint32());
    // from the authors' C code (prng.di.unimi.it/xoshiro128starstar.c)
    expect(first).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    for (let i = 0; i < 994; i++) r.nextUint32();
    expect(r.nextUint32()).toBe(136054147);
  });

  it('getState/setState resume the exact stream, including a pending normal', () => {
    const r = new Rng(123);
    r.normal(); // leaves a spare
    const state = JSON.parse(JSON.stringify(r.getState()));
    const a = [r.normal(), r.uniform(), r.int(10), r.normal()];
    const s = new Rng(999).setState(state);
    expect([s.normal(), s.uniform(), s.int(10), s.normal()]).toEqual(a);
  });

  it('the same seed gives the same stream, different seeds differ', () => {
    expect(new Rng(5).uniform()).toBe(new Rng(5).uniform());
    expect(new Rng(5).uniform()).not.toBe(new Rng(6).uniform());
  });

  it('uniform in [0, 1), normal has mean ~0 and std ~1', () => {
    const r = new Rng(1);
    let s = 0,
      s2 = 0,
      outside = 0;
    const n = 100000;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(outside).toBe(0);
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  it('int(n) is in range and roughly uniform', () => {
    const r = new Rng(2);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(2.5)).toThrow(RangeError);
  });

  it('shuffle permutes in place, reproducibly', () => {
    const a = new Uint32Array(100).map((_, i) => i);
    const b = new Int32Array(100).map((_, i) => i);
    new Rng(3).shuffle(a);
    new Rng(3).shuffle(b);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('setState validates', () => {
    const r = new Rng();
    expect(() => r.setState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0], spare: null })).toThrow(RangeError);
    expect(() => r.setState({ algorithm: 'pcg' as never, s: [1, 2, 3, 4], spare: null })).toThrow(RangeError);
    expect(() => new Rng(1.5)).toThrow(RangeError);
  });
});

describe('methods (attached to the prototype by lib/tensor/methods.ts)', () => {
  it('are non-enumerable functions, as class methods are, so a tensor enumerates only its fields', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    const keys: string[] = [];
    for (const k in t) keys.push(k);
    expect(keys).toEqual(Object.keys(t));
    for (const name of ['add', 'sum', 'softmaxCrossEntropy', 'backward']) {
      const d = Object.getOwnPropertyDescriptor(Tensor.prototype, name);
      expect(d?.enumerable, name).toBe(false);
      expect(typeof d?.value, name).toBe('function');
    }
    const T = Object.getOwnPropertyDescriptor(Tensor.prototype, 'T');
    expect(T?.enumerable).toBe(false);
    expect(T?.set).toBeUndefined();
    expect(t.T.toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });
});
