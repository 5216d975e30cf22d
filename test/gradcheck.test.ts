// gradcheck itself: it passes correct gradients, fails wrong ones (custom ops built with the
// same mechanism as the library's ops, makeResult + accumulateGrad), reports the worst element,
// throws on request, and leaves inputs and their grads as they were.
import { describe, expect, it } from 'vitest';
import { withBackend } from '../lib/backend/index.js';
import * as ng from '../lib/tensor/index.js';
import { accumulateGrad, gradcheck, makeResult, Tensor } from '../lib/tensor/index.js';
import { available } from './helpers/backends.js';

/** x^3 elementwise whose backward is off by `factor` (1 = correct). */
function cube(factor: number) {
  return (x: Tensor): Tensor => {
    const y = x.data.map((v) => v * v * v);
    return makeResult(y, x.shape, 'cube', [x], (g) => {
      for (let i = 0; i < g.length; i++) g[i] *= factor * 3 * x.data[i] * x.data[i];
      accumulateGrad(x, g, true);
    });
  };
}

/** a * b whose backward forgets b's gradient in one element. */
function mulDroppingOne(a: Tensor, b: Tensor): Tensor {
  const y = a.data.map((v, i) => v * b.data[i]);
  return makeResult(y, a.shape, 'badmul', [a, b], (g) => {
    const gb = g.map((v, i) => v * a.data[i]);
    gb[2] = 0;
    accumulateGrad(b, gb, true);
    for (let i = 0; i < g.length; i++) g[i] *= b.data[i];
    accumulateGrad(a, g, true);
  });
}

describe('gradcheck', () => {
  it('passes a correct custom op', () => {
    const x = ng.randn([3, 4], { seed: 1, requiresGrad: true });
    const r = gradcheck(cube(1), [x]);
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(12);
    expect(r.maxRelError).toBeLessThan(1e-2);
  });

  it('fails a backward whose local gradient is off by a factor of 2', () => {
    const x = ng.randn([3, 4], { seed: 1, requiresGrad: true });
    const r = gradcheck(cube(2), [x]);
    expect(r.ok).toBe(false);
    expect(r.worst).not.toBeNull();
    expect(r.worst!.input).toBe(0);
    const { analytic, numeric } = r.worst!;
    expect(analytic / numeric).toBeCloseTo(2, 2);
  });

  it('catches a factor as small as 1.05 with the default tolerances', () => {
    const x = ng.randn([3, 4], { seed: 2, requiresGrad: true });
    expect(gradcheck(cube(1.05), [x]).ok).toBe(false);
  });

  it('catches a single missing gradient element and names it', () => {
    const a = ng.randn([5], { seed: 3, requiresGrad: true });
    const b = ng.randn([5], { seed: 4, requiresGrad: true });
    const r = gradcheck(mulDroppingOne, [a, b]);
    expect(r.ok).toBe(false);
    expect(r.worst).toMatchObject({ input: 1, index: 2, analytic: 0 });
    expect(r.worst!.numeric).toBeCloseTo(a.data[2] * 1, 0); // d(sum w*a*b)/db_2 = w_2 a_2, |w| <= 1
  });

  it('throws a descriptive error when asked', () => {
    const x = ng.randn([2, 3], { seed: 5, requiresGrad: true });
    expect(() => gradcheck(cube(2), [x], { throwOnFail: true })).toThrow(
      /gradcheck failed: input 0 \(shape \[2,3\]\) element \d \(at \[\d,\d\]\): analytic .* vs numeric .*atol 0.001 \+ rtol 0.01/,
    );
    expect(() => gradcheck(cube(1), [x], { throwOnFail: true })).not.toThrow();
  });

  it('leaves the inputs and their existing grads untouched', () => {
    const x = ng.randn([4], { seed: 6, requiresGrad: true });
    const before = x.data.slice();
    const g = ng.ones([4]);
    x.grad = g;
    gradcheck((t) => ng.exp(t), [x]);
    expect(x.data).toEqual(before);
    expect(x.grad).toBe(g);
    expect(Array.from(g.data)).toEqual([1, 1, 1, 1]);
  });

  it('checks only inputs that require grad', () => {
    const x = ng.randn([3], { seed: 7, requiresGrad: true });
    const c = ng.randn([3], { seed: 8 });
    const r = gradcheck(ng.mul, [x, c]);
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(3);
  });

  it('validates its options and inputs', () => {
    const x = ng.randn([3], { seed: 9, requiresGrad: true });
    expect(() => gradcheck(ng.exp, [x], { eps: 0 })).toThrow(RangeError);
    expect(() => gradcheck(ng.exp, [ng.exp(x)])).toThrow(/must be a leaf/);
    expect(() => gradcheck(ng.exp, [ng.randn([2], { seed: 1 })])).toThrow(/does not depend on any input/);
  });

  for (const name of available) {
    it(`fails a wrong matmul backward on the ${name} backend`, () => {
      withBackend(name, () => {
        // matmul forward, but dA computed with the wrong transpose (B instead of B^T scaled)
        const bad = (a: Tensor, b: Tensor): Tensor => {
          const y = ng.matmul(a, b).detach();
          return makeResult(y.data, y.shape, 'badmatmul', [a, b], (g) => {
            const ga = ng.matmul(new Tensor(g, y.shape), b.transpose()).data;
            for (let i = 0; i < ga.length; i++) ga[i] *= 1.1;
            accumulateGrad(a, ga, true);
            accumulateGrad(b, ng.matmul(a.transpose(), new Tensor(g.slice(), y.shape)).data, true);
          });
        };
        const a = ng.randn([3, 4], { seed: 10, requiresGrad: true });
        const b = ng.randn([4, 2], { seed: 11, requiresGrad: true });
        expect(gradcheck(ng.matmul, [a, b]).ok).toBe(true);
        const r = gradcheck(bad, [a, b]);
        expect(r.ok).toBe(false);
        expect(r.worst!.input).toBe(0);
      });
    });
  }
});
