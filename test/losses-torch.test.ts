// Every loss and option against numbers PyTorch 1.13 produced (torch.nn.functional, float32,
// CPU): test/fixtures/torch/losses.json, written by gen_losses.py (no Python needed here). Each
// case names the nodegrad function and its options; this file calls it on the same inputs, on
// every backend, and compares the output and the gradients of the input (and of a float target
// that requires grad).
//
// Tolerance as test/torch-parity.test.ts: |nodegrad - torch| <= 1e-6 + 1e-5 |torch|. nodegrad
// forms each loss in double and rounds once; torch works in float32, so the two differ by an ulp
// or so of each term.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBackend } from '../lib/backend/index.js';
import * as ng from '../lib/tensor/index.js';
import { Tensor } from '../lib/tensor/index.js';
import { available } from './helpers/backends.js';

const ATOL = 1e-6;
const RTOL = 1e-5;

interface Encoded {
  shape: number[];
  data: number[];
}
interface LossCase {
  name: string;
  fn: string;
  input: Encoded;
  labels?: number[];
  target?: Encoded & { requiresGrad: boolean };
  opts: Record<string, unknown>;
  weightAsArray?: boolean;
  output: Encoded;
  upstream: Encoded | null;
  grads: { input: number[]; target?: number[] };
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'losses.json'), 'utf8')) as {
  torch: string;
  cases: LossCase[];
};

type LossFn = (input: Tensor, target: never, opts: Record<string, unknown>) => Tensor;
const fns: Record<string, LossFn> = {
  crossEntropy: ng.crossEntropy as LossFn,
  softmaxCrossEntropy: ng.softmaxCrossEntropy as LossFn,
  nllLoss: ng.nllLoss as LossFn,
  svmLoss: ng.svmLoss as LossFn,
  mseLoss: ng.mseLoss as LossFn,
  l1Loss: ng.l1Loss as LossFn,
  smoothL1Loss: ng.smoothL1Loss as LossFn,
  huberLoss: ng.huberLoss as LossFn,
  binaryCrossEntropy: ng.binaryCrossEntropy as LossFn,
  binaryCrossEntropyWithLogits: ng.binaryCrossEntropyWithLogits as LossFn,
};

const isEncoded = (v: unknown): v is Encoded => typeof v === 'object' && v !== null && 'shape' in v && 'data' in v;

function close(name: string, what: string, got: ArrayLike<number>, want: number[]): void {
  expect(got.length, `${name}: ${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    if (!(diff <= ATOL + RTOL * Math.abs(want[i]))) {
      throw new Error(`${name}: ${what}[${i}] = ${got[i]}, torch ${want[i]} (|diff| ${diff.toExponential(2)})`);
    }
  }
}

describe(`losses against PyTorch ${fixture.torch}`, () => {
  it('covers every loss, each reduction and every option', () => {
    const seen = new Set(fixture.cases.map((c) => c.fn));
    expect([...seen].sort()).toEqual(Object.keys(fns).sort());
    const reductions = new Set(fixture.cases.map((c) => c.opts.reduction ?? 'mean'));
    expect([...reductions].sort()).toEqual(['mean', 'none', 'sum']);
    const keys = new Set(fixture.cases.flatMap((c) => Object.keys(c.opts)));
    for (const k of ['weight', 'ignoreIndex', 'labelSmoothing', 'posWeight', 'beta', 'delta'])
      expect(keys).toContain(k);
  });

  for (const backend of available) {
    describe(`${backend} backend`, () => {
      it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
        withBackend(backend, () => {
          const input = new Tensor(Float32Array.from(c.input.data), c.input.shape, true);
          const target =
            c.labels !== undefined
              ? c.labels
              : new Tensor(Float32Array.from(c.target!.data), c.target!.shape, c.target!.requiresGrad);
          const opts: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(c.opts)) {
            if (!isEncoded(v)) opts[k] = v;
            else opts[k] = c.weightAsArray === true ? v.data : new Tensor(Float32Array.from(v.data), v.shape);
          }
          const out = fns[c.fn](input, target as never, opts);
          expect(out.shape).toEqual(c.output.shape);
          close(c.name, 'output', out.data, c.output.data);
          if (c.upstream === null) out.backward();
          else out.backward(Float32Array.from(c.upstream.data));
          close(c.name, 'grad of input', input.grad!.data, c.grads.input);
          if (c.grads.target !== undefined)
            close(c.name, 'grad of target', (target as Tensor).grad!.data, c.grads.target);
          else if (target instanceof Tensor) expect(target.grad).toBeNull();
        });
      });
    });
  }
});
