// The tensor ops against PyTorch: every case of fixtures/torch/ops.json (written by gen_ops.py)
// recomputed on every backend, forward values and input gradients; and each case's gradient
// checked numerically (gradcheck), except where the op is flat or has kinks at the inputs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBackend } from '../lib/backend/index.js';
import * as ng from '../lib/tensor/index.js';
import { gradcheck, Tensor } from '../lib/tensor/index.js';
import { available } from './helpers/backends.js';

const ATOL = 1e-5;
const RTOL = 1e-5;

/** Values as gen_ops.py writes them: numbers, or 'Infinity', '-Infinity', 'NaN' (JSON has none). */
type Num = number | string;
interface Encoded {
  shape: number[];
  data: Num[];
}
interface FixtureCase {
  name: string;
  inputs: Record<string, Encoded & { requiresGrad: boolean }>;
  upstream: Encoded | null;
  output: Encoded;
  grads: Record<string, Num[]>;
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'ops.json'), 'utf8')) as {
  torch: string;
  cases: FixtureCase[];
};

type In = Record<string, Tensor>;
type Impl = (x: In) => Tensor;

/** The nodegrad twin of every case in gen_ops.py. */
const impl: Record<string, Impl> = {
  matmul_dot: ({ a, b }) => ng.matmul(a, b),
  matmul_vec_mat: ({ a, b }) => ng.matmul(a, b),
  matmul_mat_vec: ({ a, b }) => ng.matmul(a, b),
  matmul_2d: ({ a, b }) => a.matmul(b),
  matmul_3d_2d: ({ a, b }) => a.matmul(b),
  matmul_2d_3d: ({ a, b }) => a.matmul(b),
  matmul_batched: ({ a, b }) => a.matmul(b),
  matmul_broadcast_batch: ({ a, b }) => a.matmul(b),
  matmul_vec_batched: ({ a, b }) => a.matmul(b),
  matmul_batched_vec: ({ a, b }) => a.matmul(b),
  matmul_b_no_grad: ({ a, b }) => a.matmul(b),
  transpose_2d: ({ x }) => x.transpose(),
  transpose_3d_0_2: ({ x }) => x.transpose(0, 2),
  transpose_4d_neg: ({ x }) => ng.transpose(x, -1, 1),
  permute_3d: ({ x }) => x.permute([2, 0, 1]),
  permute_4d: ({ x }) => ng.permute(x, [1, 3, 0, 2]),
  expand_leading_and_ones: ({ x }) => x.expand([2, 3, 4]),
  expand_keep_minus_one: ({ x }) => ng.expand(x, [3, -1]),
  squeeze_all: ({ x }) => x.squeeze(),
  squeeze_dim: ({ x }) => x.squeeze(1),
  squeeze_dim_not_one: ({ x }) => ng.squeeze(x, 0),
  unsqueeze_neg: ({ x }) => x.unsqueeze(-1),
  flatten_range: ({ x }) => ng.flatten(x, 1, 2),
  flatten_all: ({ x }) => x.flatten(0),
  flatten_rows: ({ x }) => x.flatten(),
  cat_dim0: ({ a, b, c }) => ng.cat([a, b, c], 0),
  cat_dim1_mixed_grad: ({ a, b }) => ng.cat([a, b], 1),
  cat_last: ({ a, b }) => ng.cat([a, b], -1),
  stack_dim0: ({ a, b }) => ng.stack([a, b]),
  stack_last: ({ a, b, c }) => ng.stack([a, b, c], -1),
  split_size: ({ x }) =>
    ng.cat(
      ng.split(x, 2).map((p, i) => p.mul(i + 1)),
      0,
    ),
  split_sizes_dim1: ({ x }) =>
    ng.cat(
      x.split([1, 3, 2], 1).map((p, i) => p.mul(i + 1)),
      1,
    ),
  chunk_dim1: ({ x }) =>
    ng.cat(
      x.chunk(3, 1).map((p, i) => p.mul(i + 1)),
      1,
    ),
  narrow_mid: ({ x }) => x.narrow(1, 1, 3),
  narrow_neg_start: ({ x }) => ng.narrow(x, 0, -2, 2),
  index_select_repeats: ({ x }) => ng.indexSelect(x, 0, [3, 0, 3, 1]),
  index_select_dim1: ({ x }) => x.indexSelect(1, new Int32Array([2, 2, 0])),
  gather_dim1: ({ x }) =>
    x.gather(
      1,
      ng.tensor([
        [0, 0],
        [3, 1],
        [2, 2],
      ]),
    ),
  gather_dim0_3d: ({ x }) =>
    ng.gather(
      x,
      0,
      ng.tensor([
        [
          [2, 0],
          [1, 1],
        ],
        [
          [0, 0],
          [2, 1],
        ],
      ]),
    ),
  pad_last: ({ x }) => ng.pad(x, [1, 2]),
  pad_two_dims_value: ({ x }) => ng.pad(x, [0, 1, 2, 1], 1.5),
  pow_tensor_exponent: ({ a, b }) => ng.pow(a, b),
  pow_broadcast_exponent: ({ a, b }) => a.pow(b),
  pow_number_base: ({ x }) => ng.pow(2, x),
  pow_number_base_zero: ({ x }) => ng.pow(0, x),
  pow_zero_base_tensor: ({ a, b }) => ng.pow(a, b),
  pow_number_exponent: ({ x }) => x.pow(1.5),
  abs: ({ x }) => x.abs(),
  abs_at_zero: ({ x }) => ng.abs(x),
  square: ({ x }) => x.square(),
  rsqrt: ({ x }) => x.rsqrt(),
  clamp_both: ({ x }) => x.clamp(-1, 0.5),
  clamp_min_only: ({ x }) => ng.clamp(x, 0.2),
  clamp_max_only: ({ x }) => x.clamp(null, -0.3),
  clamp_at_bounds: ({ x }) => x.clamp(-0.5, 0.5),
  sign: ({ x }) => x.sign().mul(2),
  floor: ({ x }) => x.floor(),
  ceil: ({ x }) => ng.ceil(x),
  round_half_even: ({ x }) => x.round(),
  round_plus_x: ({ x }) => x.round().add(x.mul(2)),
  where_broadcast: ({ c, a, b }) => ng.where(c.ne(0), a, b),
  where_mask_from_compare: ({ x }) => ng.where(x.gt(0), x.mul(2), x.exp()),
  compare_eq: ({ a, b }) => a.eq(b),
  compare_ne: ({ a, b }) => ng.ne(a, b),
  compare_lt: ({ a }) => a.lt(1),
  compare_le: ({ a, b }) => ng.le(a, b),
  compare_gt: ({ a }) => a.gt(0),
  compare_ge: ({ a }) => a.ge(1),
  mask_times_x: ({ x }) => x.gt(0).mul(x),
  sum_dims_list: ({ x }) => x.sum([0, 2]),
  sum_dims_list_keepdim: ({ x }) => ng.sum(x, [-1, 0], true),
  sum_all_dims_list: ({ x }) => x.sum([0, 1]),
  mean_dims_list: ({ x }) => x.mean([1, 2]),
  mean_dims_keepdim: ({ x }) => ng.mean(x, [0, 1], true),
  min_all_ties: ({ x }) => x.min().mul(3),
  min_dim_ties: ({ x }) => x.min(1),
  min_dim_keepdim: ({ x }) => ng.minWithIndices(x, -2, true).values,
  amax_dim_ties: ({ x }) => x.amax(1),
  amax_dims_ties_keepdim: ({ x }) => x.amax([0, 2], true),
  amax_all: ({ x }) => ng.amax(x),
  amin_dims_ties: ({ x }) => ng.amin(x, [1, 2]),
  amin_dim: ({ x }) => x.amin(0),
  prod_all: ({ x }) => x.prod(),
  prod_dim: ({ x }) => ng.prod(x, 1),
  prod_dim_keepdim_zero: ({ x }) => x.prod(1, true),
  var_all_unbiased: ({ x }) => x.var(),
  var_dim_biased: ({ x }) => x.var(1, { unbiased: false }),
  var_dims_correction_keepdim: ({ x }) => ng.variance(x, [0, 2], { correction: 2, keepdim: true }),
  std_dim: ({ x }) => x.std(0),
  std_all_biased: ({ x }) => ng.std(x, null, { correction: 0 }),
  logsumexp_dim: ({ x }) => ng.logsumexp(x, 1),
  logsumexp_dims_keepdim: ({ x }) => x.logsumexp([0, 2], true),
  logsumexp_large: ({ x }) => x.logsumexp(-1),
  logsumexp_all: ({ x }) => x.logsumexp(),
  argmax_dim0_ties: ({ x }) => indexTensor(x.argmax(0), [3]),
  argmax_flat: ({ x }) => indexTensor(ng.argmax(x, null), []),
  argmin_last_ties: ({ x }) => indexTensor(x.argmin(), [3]),
  argmin_flat: ({ x }) => indexTensor(x.argmin(null), []),
  max_indices_dim1: ({ x }) => {
    const r = ng.maxWithIndices(x, 1);
    return indexTensor(r.indices, r.values.shape);
  },
  min_indices_keepdim: ({ x }) => {
    const r = ng.minWithIndices(x, 1, true);
    return indexTensor(r.indices, r.values.shape);
  },
};

/** Integer indices as a float tensor of the given shape, to compare with the fixture. */
function indexTensor(idx: Int32Array, shape: number[]): Tensor {
  return new Tensor(Float32Array.from(idx), shape);
}

/** Cases not gradchecked: flat (zero gradient) or evaluated at kinks/ties on purpose. */
const noGradcheck = new Set<string>([
  'pow_zero_base_tensor',
  'pow_number_base_zero',
  'abs_at_zero',
  'clamp_at_bounds',
  'sign',
  'floor',
  'ceil',
  'round_half_even',
  'round_plus_x',
  'compare_gt',
  'compare_ne',
  'compare_eq',
  'compare_lt',
  'compare_le',
  'compare_ge',
  'min_all_ties',
  'min_dim_ties',
  'amax_dim_ties',
  'amax_dims_ties_keepdim',
  'amin_dims_ties',
  'argmax_dim0_ties',
  'argmax_flat',
  'argmin_last_ties',
  'argmin_flat',
  'max_indices_dim1',
  'min_indices_keepdim',
]);

function close(name: string, what: string, got: ArrayLike<number>, encoded: Num[]): void {
  const want = encoded.map(Number);
  expect(got.length, `${name}: ${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    const same = got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    if (!same && !(diff <= ATOL + RTOL * Math.abs(want[i]))) {
      throw new Error(`${name}: ${what}[${i}] = ${got[i]}, torch ${want[i]} (|diff| ${diff.toExponential(2)})`);
    }
  }
}

function inputsOf(c: FixtureCase): In {
  const inputs: In = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    inputs[k] = new Tensor(Float32Array.from(v.data, Number), v.shape, v.requiresGrad);
  }
  return inputs;
}

describe(`tensor ops against PyTorch ${fixture.torch}`, () => {
  it('every fixture case has a nodegrad twin, and every twin a case', () => {
    const names = fixture.cases.map((c) => c.name);
    for (const n of names) expect(impl[n], n).toBeTypeOf('function');
    expect(Object.keys(impl).sort()).toEqual(names.slice().sort());
  });

  for (const name of available) {
    describe(`${name} backend`, () => {
      it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
        withBackend(name, () => {
          const inputs = inputsOf(c);
          const out = impl[c.name](inputs);
          expect(out.shape).toEqual(c.output.shape);
          close(c.name, 'output', out.data, c.output.data);
          if (!out.requiresGrad) {
            expect(Object.keys(c.grads).every((k) => c.grads[k].every((v) => v === 0))).toBe(true);
            return;
          }
          if (c.upstream === null) out.backward();
          else out.backward(Float32Array.from(c.upstream.data, Number));
          for (const [k, g] of Object.entries(c.grads)) {
            expect(inputs[k].grad, `${c.name}: grad of ${k}`).not.toBeNull();
            close(c.name, `grad of ${k}`, inputs[k].grad!.data, g);
          }
          for (const [k, v] of Object.entries(c.inputs)) if (!v.requiresGrad) expect(inputs[k].grad).toBeNull();
        });
      });

      const checked = fixture.cases.filter((c) => !noGradcheck.has(c.name));
      it.each(checked.map((c) => [c.name, c] as const))('gradcheck %s', (_, c) => {
        withBackend(name, () => {
          const inputs = inputsOf(c);
          const keys = Object.keys(inputs);
          const r = gradcheck(
            (...xs: Tensor[]) => impl[c.name](Object.fromEntries(keys.map((k, i) => [k, xs[i]]))),
            keys.map((k) => inputs[k]),
          );
          expect(r.ok, `${c.name}: max rel error ${r.maxRelError}`).toBe(true);
        });
      });
    });
  }
});
