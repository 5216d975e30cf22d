// Values and gradients of op compositions against numbers PyTorch 1.13 produced (float32, CPU):
// test/fixtures/torch/autograd.json, written by gen_autograd.py (no Python needed here). Each
// case below computes the same function as its twin of the same name in the generator.
//
// Tolerance: |nodegrad - torch| <= 1e-6 + 1e-5 |torch|, elementwise, for outputs and gradients,
// on every backend. Both sides store float32 but round differently (nodegrad evaluates exp/log
// in double then rounds and sums in double; torch uses float32 SIMD math and other summation
// orders), so each op may differ by an ulp or so and chains compound it. Observed: the largest
// difference is 9.5e-7 absolute (1 ulp of a loss of 9.5), and every case still passes at
// 2e-7 + 2e-6 |torch|, so the bound leaves a 5x margin for other CPUs' SIMD paths. The tie cases
// (max, maximum, minimum on small integers) match exactly.
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
interface FixtureCase {
  name: string;
  inputs: Record<string, Encoded & { requiresGrad: boolean }>;
  labels?: number[];
  upstream: Encoded | null;
  output: Encoded;
  grads: Record<string, number[]>;
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'autograd.json'), 'utf8')) as {
  torch: string;
  cases: FixtureCase[];
};

type In = Record<string, Tensor>;

function svmLoss(x: In, labels: number[], delta?: number): Tensor {
  return ng.svmLoss(x.scores, labels, delta === undefined ? {} : { delta });
}

function oneHot(labels: number[], C: number): Tensor {
  const t = ng.zeros([labels.length, C]);
  labels.forEach((l, i) => {
    t.data[i * C + l] = 1;
  });
  return t;
}

/** The nodegrad twin of every case in gen_autograd.py. */
const impl: Record<string, (x: In, labels: number[]) => Tensor> = {
  mlp_relu_softmax_ce: ({ x, W1, b1, W2, b2 }, labels) =>
    ng.softmaxCrossEntropy(ng.linear(ng.relu(ng.linear(x, W1, b1)), W2, b2), labels),
  svm_loss: (x, labels) => svmLoss(x, labels),
  svm_loss_delta2: (x, labels) => svmLoss(x, labels, 2),
  broadcast_mul_div_chain: ({ a, b, c }) => a.mul(b).div(c.exp().add(1)).sub(a.mul(c)),
  broadcast_scalar: ({ s, X }) => s.mul(X).add(s).div(X.mul(X).add(1)),
  broadcast_middle_dim: ({ a, b }) => ng.maximum(a.mul(b), b.sub(a)).div(b.mul(b).add(2)),
  log_softmax_last: ({ x }) => x.logSoftmax(-1),
  log_softmax_dim0: ({ x }) => x.logSoftmax(0),
  softmax_mid_dim: ({ x }) => x.softmax(1),
  max_dim_ties: ({ x }) => x.max(1),
  max_dim_neg_keepdim_ties: ({ x }) => x.max(-2, true).mul(2),
  max_all_ties: ({ x }) => x.max().mul(3),
  maximum_ties: ({ a, b }) => ng.maximum(a, b),
  minimum_ties_broadcast: ({ a, b }) => ng.minimum(a, b),
  mse_loss: ({ pred, target }) => ng.mseLoss(pred, target),
  bce_with_logits: ({ logits, targets }) => ng.binaryCrossEntropyWithLogits(logits, targets),
  sigmoid_tanh_chain: ({ x }) => x.sigmoid().mul(2).sub(1).tanh().mul(x).sum(0),
  layer_norm_like: ({ x }) => {
    const d = x.sub(x.mean(-1, true));
    const v = d.mul(d).mean(-1, true);
    return d.div(v.add(1e-5).sqrt());
  },
  matmul_chain_transpose: ({ A, B, C }) => A.matmul(B).transpose().matmul(C),
  pow_exp_log_sqrt: ({ x }) =>
    x
      .pow(2)
      .add(1)
      .log()
      .mul(x.neg().exp())
      .add(x.pow(-0.5))
      .add(x.sqrt().mul(x.pow(3))),
  rsub_reshape_sum: ({ x }) => ng.sub(2, x).reshape([3, -1]).sum(0),
  tensor_used_twice: ({ x }) => x.mul(x).add(x.mul(3)).sub(x.div(2)),
  linear_no_bias_ce: ({ x, W }, labels) => ng.softmaxCrossEntropy(ng.linear(x, W), labels),
  relu_times_x_mean: ({ x }) => x.relu().mul(x).mean(),
  neg_sum_keepdim_mean: ({ x }) => x.neg().sum(1, true).mean(-1),
  number_div: ({ x }) => ng.div(1, x).add(x.div(4)),
  log_softmax_nll_by_hand: ({ x }, labels) => x.logSoftmax(-1).mul(oneHot(labels, 3)).sum().neg().div(5),
  tanh_mlp_mse: ({ x, W1, b1, W2, b2, y }) => ng.mseLoss(ng.linear(ng.linear(x, W1, b1).tanh(), W2, b2), y),
};

function close(name: string, what: string, got: ArrayLike<number>, want: number[]): number {
  expect(got.length, `${name}: ${what} length`).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    if (!(diff <= ATOL + RTOL * Math.abs(want[i]))) {
      throw new Error(`${name}: ${what}[${i}] = ${got[i]}, torch ${want[i]} (|diff| ${diff.toExponential(2)})`);
    }
    worst = Math.max(worst, diff / (1e-6 + Math.abs(want[i])));
  }
  return worst;
}

describe(`PyTorch ${fixture.torch} parity`, () => {
  it('has at least 15 cases, each with a nodegrad twin', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(15);
    for (const c of fixture.cases) expect(impl[c.name], c.name).toBeTypeOf('function');
  });

  for (const name of available) {
    describe(`${name} backend`, () => {
      it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
        withBackend(name, () => {
          const inputs: In = {};
          for (const [k, v] of Object.entries(c.inputs)) {
            inputs[k] = new Tensor(Float32Array.from(v.data), v.shape, v.requiresGrad);
          }
          const out = impl[c.name](inputs, c.labels ?? []);
          expect(out.shape).toEqual(c.output.shape);
          close(c.name, 'output', out.data, c.output.data);
          if (c.upstream === null) out.backward();
          else out.backward(Float32Array.from(c.upstream.data));
          for (const [k, g] of Object.entries(c.grads)) {
            expect(inputs[k].grad, `${c.name}: grad of ${k}`).not.toBeNull();
            close(c.name, `grad of ${k}`, inputs[k].grad!.data, g);
          }
          for (const [k, v] of Object.entries(c.inputs)) if (!v.requiresGrad) expect(inputs[k].grad).toBeNull();
        });
      });
    });
  }
});
