// Convolution and pooling: the ops against PyTorch 1.13's numbers (test/fixtures/torch/conv.json,
// written by gen_conv.py) on every backend, gradcheck, native against TS on random shapes,
// bit-identical native results for any thread count, the nn layers (init, state dict, spec,
// summary), and a CNN's state dict moving between PyTorch and nodegrad as safetensors.
//
// Tolerances: PyTorch and the native backend sum in float32 (in different orders), the TS
// backend in double; the fixtures' sums run over at most 75 products of N(0, 1) numbers
// (magnitudes up to ~30), where float32 accumulation differs by a few units in 1e-6 of the
// magnitude, so |got - want| <= 1e-4 * (1 + |want|) leaves a margin of ~10x and still fails on
// any wrong index, tap or window (those are off by O(1)). Pooling is exact up to its division.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, withBackend } from '../lib/backend/index.js';
import {
  Tensor,
  adaptiveAvgPool2d,
  avgPool2d,
  conv2d,
  conv2dRelu,
  gradcheck,
  maxPool2d,
  randn,
  relu,
  tensor,
} from '../lib/tensor/index.js';
import { windowOut } from '../lib/backend/kernel-table.js';
import * as nn from '../lib/nn/index.js';
import { encodeSafetensors, loadSafetensors } from '../lib/io/index.js';
import { manualSeed } from '../lib/random.js';
import { available } from './helpers/backends.js';

const FIXTURES = path.join(__dirname, 'fixtures', 'torch');
interface T {
  shape: number[];
  data: number[];
}
interface ConvCase {
  name: string;
  opts: Record<string, unknown>;
  x: T;
  w: T;
  b?: T;
  y: T;
  gy: T;
  dx: T;
  dw: T;
  db?: T;
}
interface PoolCase {
  name: string;
  op: 'maxPool2d' | 'avgPool2d' | 'adaptiveAvgPool2d';
  args: unknown[];
  opts: Record<string, unknown>;
  x: T;
  y: T;
  gy: T;
  dx: T;
}
const fx: { conv: ConvCase[]; pool: PoolCase[]; cnn: { x: T; y: T; keys: string[] } } = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'conv.json'), 'utf8'),
);

const leaf = (v: T) => new Tensor(Float32Array.from(v.data), v.shape, true);

function close(got: Float32Array | null | undefined, want: T, what: string): void {
  expect(got, what).toBeTruthy();
  expect(got!.length, what).toBe(want.data.length);
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    const err = Math.abs(got![i] - want.data[i]) / (1 + Math.abs(want.data[i]));
    if (!(err <= worst)) worst = err;
  }
  expect(worst, what).toBeLessThanOrEqual(1e-4);
}

/** PyTorch's keyword names to ours. */
function opts(o: Record<string, unknown>): Record<string, unknown> {
  const names: Record<string, string> = {
    ceil_mode: 'ceilMode',
    count_include_pad: 'countIncludePad',
    divisor_override: 'divisorOverride',
  };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [names[k] ?? k, v]));
}

for (const name of available) {
  describe(`${name} backend: PyTorch's numbers`, () => {
    for (const c of fx.conv) {
      it(`conv2d, ${c.name}: output and the gradients of x, weight and bias`, () => {
        withBackend(name, () => {
          const x = leaf(c.x),
            w = leaf(c.w),
            b = c.b ? leaf(c.b) : null;
          const y = conv2d(x, w, b, opts(c.opts));
          expect(y.shape).toEqual(c.y.shape);
          close(y.data, c.y, 'y');
          y.backward(Float32Array.from(c.gy.data));
          close(x.grad?.data, c.dx, 'dx');
          close(w.grad?.data, c.dw, 'dw');
          if (c.db) close(b!.grad?.data, c.db, 'db');
        });
      });
    }
    for (const c of fx.pool) {
      it(`${c.op}, ${c.name}: output and input gradient`, () => {
        withBackend(name, () => {
          const x = leaf(c.x);
          const y =
            c.op === 'maxPool2d'
              ? maxPool2d(x, c.args[0] as number, opts(c.opts))
              : c.op === 'avgPool2d'
                ? avgPool2d(x, c.args[0] as number, opts(c.opts))
                : adaptiveAvgPool2d(x, c.args[0] as number);
          expect(y.shape).toEqual(c.y.shape);
          close(y.data, c.y, 'y');
          y.backward(Float32Array.from(c.gy.data));
          close(x.grad?.data, c.dx, 'dx');
        });
      });
    }

    it('conv2dRelu gives relu(conv2d) and its gradients', () => {
      withBackend(name, () => {
        manualSeed(1);
        const mk = () => [randn([2, 3, 6, 6]), randn([4, 3, 3, 3]), randn([4])].map((t) => t.requiresGrad_());
        const [x1, w1, b1] = mk();
        manualSeed(1);
        const [x2, w2, b2] = mk();
        const y1 = relu(conv2d(x1, w1, b1, { padding: 1 }));
        const y2 = conv2dRelu(x2, w2, b2, { padding: 1 });
        expect(Array.from(y2.data)).toEqual(Array.from(y1.data));
        y1.sum().backward();
        y2.sum().backward();
        for (const [a, b] of [
          [x1, x2],
          [w1, w2],
          [b1, b2],
        ])
          expect(Array.from(b.grad!.data)).toEqual(Array.from(a.grad!.data));
      });
    });

    it('accumulates gradients into existing ones, as a second backward does', () => {
      withBackend(name, () => {
        manualSeed(2);
        const x = randn([2, 2, 5, 5]).requiresGrad_(),
          w = randn([3, 2, 3, 3]).requiresGrad_(),
          b = randn([3]).requiresGrad_();
        const run = () =>
          maxPool2d(conv2d(x, w, b, { stride: 2, padding: 1 }), 2, { stride: 1 })
            .sum()
            .backward();
        run();
        const once = [x, w, b].map((t) => Float32Array.from(t.grad!.data));
        run();
        [x, w, b].forEach((t, i) => {
          for (let j = 0; j < once[i].length; j++) expect(t.grad!.data[j]).toBeCloseTo(2 * once[i][j], 4);
        });
      });
    });

    it('passes gradcheck: conv2d (groups, stride, dilation, padding) and every pooling', () => {
      withBackend(name, () => {
        manualSeed(3);
        const x = randn([2, 4, 7, 6]).requiresGrad_(),
          w = randn([4, 2, 3, 2]).requiresGrad_(),
          b = randn([4]).requiresGrad_();
        const o = { atol: 2e-2, rtol: 2e-2 };
        const conv = gradcheck(
          (x, w, b) => conv2d(x, w, b, { groups: 2, stride: [2, 1], dilation: [1, 2], padding: 1 }),
          [x, w, b],
          o,
        );
        expect(conv.ok, JSON.stringify(conv.worst)).toBe(true);
        // distinct values a finite step cannot reorder: max pooling's choice stays put
        const y = new Tensor(
          Float32Array.from({ length: 2 * 3 * 7 * 7 }, (_, i) => ((i * 37) % 101) / 10),
          [2, 3, 7, 7],
          true,
        );
        for (const f of [
          (t: Tensor) => maxPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true }),
          (t: Tensor) => avgPool2d(t, 3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
          (t: Tensor) => adaptiveAvgPool2d(t, [3, 4]),
        ]) {
          const r = gradcheck(f, [y], { ...o, eps: 1e-3 });
          expect(r.ok, JSON.stringify(r.worst)).toBe(true);
        }
      });
    });

    it('rejects bad inputs and options with errors naming them', () => {
      withBackend(name, () => {
        const x = randn([1, 4, 5, 5]),
          w = randn([2, 4, 3, 3]);
        expect(() => conv2d(randn([4, 5]), w)).toThrow(/conv2d: x must be \[N, C, H, W\] or \[C, H, W\]/);
        expect(() => conv2d(x, randn([2, 3, 3, 3]))).toThrow(/expects 3 input channels/);
        expect(() => conv2d(x, w, null, { groups: 3 })).toThrow(/groups = 3 must divide/);
        expect(() => conv2d(x, w, null, { padding: 'same', stride: 2 })).toThrow(/'same' needs stride 1/);
        expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(RangeError);
        expect(() => conv2d(x, randn([2, 4, 7, 7]))).toThrow(/smaller than the kernel's/);
        expect(() => conv2d(x, w, null, { strides: 2 } as never)).toThrow(/strides/);
        expect(() => conv2d(x, w, randn([3]))).toThrow(/bias must be \[outC\]/);
        expect(() => maxPool2d(x, 2, { padding: 2 })).toThrow(/at most half the kernel size/);
        expect(() => maxPool2d(x, 2, { ceil_mode: true } as never)).toThrow(TypeError);
        expect(() => avgPool2d(x, 2, { divisorOverride: 0 })).toThrow(/divisorOverride must be an integer >= 1/);
        expect(() => adaptiveAvgPool2d(x, 0)).toThrow(RangeError);
      });
    });
  });
}

describe.runIf(backends().native)('native against TS', () => {
  const rand = (n: number, seed: number) => {
    let s = seed;
    return Float32Array.from({ length: n }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 1073741824 - 1;
    });
  };
  // [N, G, Cg, H, W, Kg, kH, kW, sH, sW, pH, pW, dH, dW]
  const shapes = [
    [3, 1, 3, 9, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1],
    [5, 2, 2, 7, 9, 3, 3, 2, 2, 1, 0, 2, 2, 1],
    [9, 1, 5, 6, 6, 3, 2, 2, 3, 3, 1, 1, 1, 1],
    [6, 1, 32, 14, 14, 16, 5, 5, 1, 1, 2, 2, 1, 1],
  ];
  const run = (k: ReturnType<typeof backends>['ts'], s: number[], seed: number) => {
    const [N, G, Cg, H, W, Kg, kH, kW, sH, sW, pH, pW, dH, dW] = s;
    const Ho = windowOut(H, kH, sH, pH, dH, false),
      Wo = windowOut(W, kW, sW, pW, dW, false);
    const dims = [N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, sH, sW, pH, pW, dH, dW] as const;
    const x = rand(N * G * Cg * H * W, seed),
      w = rand(G * Kg * Cg * kH * kW, seed + 1),
      b = rand(G * Kg, seed + 2),
      dy = rand(N * G * Kg * Ho * Wo, seed + 3);
    const y = new Float32Array(dy.length),
      dx = new Float32Array(x.length).fill(0.25),
      dw = new Float32Array(w.length).fill(0.5),
      db = new Float32Array(b.length).fill(-1);
    k.conv2d(x, w, b, ...dims, true, true, y);
    k.conv2dBackwardInput(dy, w, ...dims, true, dx);
    k.conv2dBackwardParams(dy, x, ...dims, true, true, true, dw, db);
    const R = Cg * kH * kW,
      P = Ho * Wo;
    return { y, dx, dw, db, R, P, N };
  };

  it('agrees with the TS spec within float32 accumulation error (sums over R taps, N*P positions)', () => {
    shapes.forEach((s, i) => {
      const a = run(backends().ts, s, 10 * i + 1),
        b = run(backends().native!, s, 10 * i + 1);
      // a float32 sum of n terms of size <= 1 is within ~n * 2^-24 * n of the exact one; allow that
      const tol = (n: number) => 4 * n * 2 ** -24 * Math.max(8, Math.sqrt(n));
      const check = (got: Float32Array, want: Float32Array, n: number, what: string) => {
        for (let j = 0; j < want.length; j++)
          expect(Math.abs(got[j] - want[j]), `${what}[${j}]`).toBeLessThanOrEqual(tol(n));
      };
      check(b.y, a.y, a.R, 'y');
      check(b.dx, a.dx, a.R, 'dx');
      check(b.dw, a.dw, a.N * a.P, 'dw');
      expect(Array.from(b.db)).toEqual(Array.from(a.db)); // double sums rounded once: exact
    });
  });

  it('gives bit-identical results for 1, 2 and 3 threads', () => {
    const k = backends().native!;
    const prev = k.getNumThreads();
    try {
      for (const s of shapes) {
        const results = [1, 2, 3].map((t) => {
          k.setNumThreads(t);
          return run(k, s, 7);
        });
        for (const r of results.slice(1)) {
          for (const key of ['y', 'dx', 'dw', 'db'] as const) expect(r[key]).toEqual(results[0][key]);
        }
      }
    } finally {
      k.setNumThreads(prev);
    }
  });

  it('pooling gives the TS numbers exactly (double sums, one rounding)', () => {
    const x = rand(6 * 11 * 10, 5),
      dy = rand(6 * 6 * 5, 6);
    const out = ['ts', 'native'].map((n) => {
      const k = n === 'ts' ? backends().ts : backends().native!;
      const y1 = new Float32Array(6 * 6 * 5),
        y2 = new Float32Array(6 * 6 * 5),
        y3 = new Float32Array(6 * 6 * 5),
        d1 = new Float32Array(x.length),
        d2 = new Float32Array(x.length),
        d3 = new Float32Array(x.length);
      k.maxPool2d(x, 6, 11, 10, 6, 5, 3, 3, 2, 2, 1, 1, 1, 1, false, y1);
      k.maxPool2dBackward(dy, x, 6, 11, 10, 6, 5, 3, 3, 2, 2, 1, 1, 1, 1, false, false, d1);
      k.avgPool2d(x, 6, 11, 10, 6, 5, 3, 3, 2, 2, 1, 1, false, false, 0, y2);
      k.avgPool2dBackward(dy, 6, 11, 10, 6, 5, 3, 3, 2, 2, 1, 1, false, false, 0, false, d2);
      k.adaptiveAvgPool2d(x, 6, 11, 10, 6, 5, y3);
      k.adaptiveAvgPool2dBackward(dy, 6, 11, 10, 6, 5, false, d3);
      return [y1, y2, y3, d1, d2, d3].map((a) => Array.from(a));
    });
    expect(out[1]).toEqual(out[0]);
  });
});

describe('nn layers', () => {
  it("Conv2d: PyTorch's layout, init bounds, state-dict keys, spec round trip and summary", () => {
    manualSeed(4);
    const c = new nn.Conv2d(4, 6, [3, 2], { groups: 2, stride: 2, padding: 1 });
    expect(c.weight.shape).toEqual([6, 2, 3, 2]);
    const bound = 1 / Math.sqrt(2 * 3 * 2); // kaiming_uniform(a = sqrt(5)) and the bias share it
    for (const v of c.weight.data) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    for (const v of c.bias!.data) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    expect(Object.keys(c.stateDict())).toEqual(['weight', 'bias']);
    const back = nn.moduleFromSpec(JSON.parse(JSON.stringify(c.spec())));
    expect(back.spec()).toEqual(c.spec());
    expect(nn.specParameterShapes(c.spec())).toEqual(
      new Map([
        ['weight', [6, 2, 3, 2]],
        ['bias', [6]],
      ]),
    );
    expect(new nn.Conv2d(1, 2, 3, { bias: false }).bias).toBeNull();
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/groups = 2 must divide/);
    expect(() => new nn.Conv2d(3, 4, 3, { stride: 0 })).toThrow(/stride must be an integer >= 1/);
    expect(() => new nn.Conv2d(3, 4, 3, { bais: true } as never)).toThrow(/bais/);
    expect(() => new nn.MaxPool2d(2, { padding: 3 })).toThrow(/at most half/);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.AdaptiveAvgPool2d(2),
      new nn.Flatten(),
      new nn.Linear(16, 3),
    );
    const text = model.summary([1, 8, 8]);
    expect(text).toContain('Conv2d(1 -> 4, 3x3)   [N, 4, 8, 8]        40');
    expect(text).toContain('AdaptiveAvgPool2d     [N, 4, 2, 2]');
    const again = nn.moduleFromSpec(JSON.parse(JSON.stringify(model.spec())));
    expect(again.spec()).toEqual(model.spec());
  });

  it("a CNN's state dict loads from PyTorch's safetensors (strict) and gives PyTorch's output; ours is byte-identical", () => {
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(4, 6, 3, { padding: 1, groups: 2 }),
      new nn.ReLU(),
      new nn.AvgPool2d(2),
      new nn.Flatten(),
      new nn.Linear(24, 5),
    );
    const file = path.join(FIXTURES, 'cnn.safetensors');
    const { tensors } = loadSafetensors(file);
    expect(Object.keys(tensors)).toEqual(fx.cnn.keys);
    model.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, new Tensor(v.data, v.shape)])), {
      strict: true,
    });
    for (const name of available) {
      withBackend(name, () => close(model.forward(tensor(fx.cnn.x.data).reshape(fx.cnn.x.shape)).data, fx.cnn.y, name));
    }
    const sd = model.stateDict();
    const bytes = encodeSafetensors(
      Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, { shape: v.shape, data: v.data }])),
      { format: 'pt' },
    );
    expect(bytes.equals(fs.readFileSync(file))).toBe(true);
  });
});
