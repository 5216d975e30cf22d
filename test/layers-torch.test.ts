// layerNorm and embedding against PyTorch 1.13 (fixtures/torch/layers.json, written by
// gen_layers.py) on every backend: forward values and the gradients of sum(out * upstream) for
// every input; and their gradients checked numerically (gradcheck).
//
// Tolerance: float32 outputs of O(1) computed with float64 sums here and float32 ones in
// PyTorch: 1e-5 absolute + 1e-5 relative leaves a margin over both roundings, and is far below
// any wrong term. The offset case (inputs near 50, std 3) is as well conditioned after
// normalisation, since both sides subtract the mean before squaring.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, type Kernels, withBackend, type BackendName } from '../lib/backend/index.js';
import { embedding, gradcheck, layerNorm, Tensor } from '../lib/tensor/index.js';

interface Enc {
  shape: number[];
  data: number[];
}
interface LnCase {
  name: string;
  normalizedShape: number[];
  eps: number;
  inputs: Record<string, Enc>;
  upstream: Enc;
  output: Enc;
  grads: Record<string, number[]>;
}
interface EmbCase {
  name: string;
  paddingIdx: number | null;
  maxNorm: number | null;
  weight: Enc;
  indices: Enc;
  upstream: Enc;
  output: Enc;
  weightAfter: Enc;
  grad: number[];
}
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'layers.json'), 'utf8')) as {
  torch: string;
  layerNorm: LnCase[];
  embedding: EmbCase[];
};

const available = Object.entries(backends()).filter((e): e is [BackendName, Kernels] => e[1] !== undefined);

const t = (e: Enc, requiresGrad = false) => new Tensor(Float32Array.from(e.data), e.shape, requiresGrad);

function expectClose(label: string, got: ArrayLike<number>, want: readonly number[], atol = 1e-5): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (err > atol + 1e-5 * Math.abs(want[i])) expect(`${label}[${i}] = ${got[i]}`).toBe(`${want[i]}`);
  }
}

it('the fixtures come from PyTorch 1.13', () => {
  expect(fx.torch).toMatch(/^1\.13/);
});

describe.each(available)('%s backend', (name) => {
  describe.each(fx.layerNorm.map((c) => [c.name, c] as const))('layerNorm %s', (_n, c) => {
    it('matches PyTorch: output and the gradients of x, weight and bias', () => {
      withBackend(name, () => {
        const x = t(c.inputs.x, true);
        const w = c.inputs.weight ? t(c.inputs.weight, true) : null;
        const b = c.inputs.bias ? t(c.inputs.bias, true) : null;
        const y = layerNorm(x, c.normalizedShape, w, b, c.eps);
        expect(y.shape).toEqual(c.output.shape);
        expectClose('output', y.data, c.output.data);
        y.backward(t(c.upstream));
        // Rows of one element have rstd = 1/sqrt(eps) ~ 316, which scales PyTorch's float32
        // rounding of x - mean up to ~1e-5 where the exact xhat, dx and dweight (ours) are 0.
        const atol = c.normalizedShape.join() === '1' ? 1e-4 : 1e-5;
        expectClose('dx', x.grad!.data, c.grads.x, atol);
        if (w) expectClose('dweight', w.grad!.data, c.grads.weight, atol);
        if (b) expectClose('dbias', b.grad!.data, c.grads.bias);
      });
    });

    it('passes gradcheck', () => {
      withBackend(name, () => {
        const inputs = [t(c.inputs.x, true)];
        if (c.inputs.weight) inputs.push(t(c.inputs.weight, true));
        if (c.inputs.bias) inputs.push(t(c.inputs.bias, true));
        const hasW = c.inputs.weight !== undefined;
        const r = gradcheck(
          (x, a, bb) => layerNorm(x, c.normalizedShape, hasW ? a : null, hasW ? bb : a, c.eps),
          inputs,
          // One-element rows are constant (y = bias): their x gradient is exactly 0 both ways.
          { eps: 1e-2, atol: 2e-3 },
        );
        expect(r.ok, JSON.stringify(r.worst)).toBe(true);
      });
    });
  });

  describe.each(fx.embedding.map((c) => [c.name, c] as const))('embedding %s', (_n, c) => {
    it('matches PyTorch: output, the weight gradient (repeats add up, paddingIdx gets none), maxNorm', () => {
      withBackend(name, () => {
        const w = t(c.weight, true);
        const y = embedding(t(c.indices), w, { paddingIdx: c.paddingIdx, maxNorm: c.maxNorm });
        expect(y.shape).toEqual(c.output.shape);
        expectClose('output', y.data, c.output.data);
        expectClose('weight after maxNorm', w.data, c.weightAfter.data);
        y.backward(t(c.upstream));
        expectClose('dweight', w.grad!.data, c.grad);
      });
    });

    // paddingIdx zeroes a gradient on purpose and maxNorm changes the weight in place: gradcheck
    // fits neither, so it runs on the plain cases.
    it.skipIf(c.maxNorm !== null || c.paddingIdx !== null)('passes gradcheck', () => {
      withBackend(name, () => {
        const idx = Int32Array.from(c.indices.data);
        const r = gradcheck((w) => embedding(idx, w), [t(c.weight, true)]);
        expect(r.ok, JSON.stringify(r.worst)).toBe(true);
      });
    });
  });
});
