import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import { tensor, add, arange, reshape, div, Tensor } from '../lib/tensor/index.js';
import { Linear, ReLU, Sequential, Dropout } from '../lib/nn/index.js';
import { Adam, SGD } from '../lib/optim/index.js';
import { Dataset } from '../lib/data/index.js';

// The expected strings are PyTorch 1.13's repr of the same tensors, with our names for its
// suffixes (requiresGrad=true for requires_grad=True, gradFn=<AddBackward> for grad_fn=<AddBackward0>).
describe('tensors print like PyTorch', () => {
  it('a leaf that requires grad: fixed notation with four decimals when not all values are whole', () => {
    const a = tensor(
      [
        [1, 2.5],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    expect(inspect(a)).toBe('tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]], requiresGrad=true)');
  });

  it('an op result names its backward function, not requiresGrad', () => {
    const a = tensor([[1, 2.5]], { requiresGrad: true });
    expect(inspect(add(a, 1))).toBe('tensor([[2.0000, 3.5000]], gradFn=<AddBackward>)');
  });

  it('whole numbers end in a dot and are padded to one width', () => {
    expect(inspect(reshape(arange(24), [2, 3, 4]))).toBe(
      'tensor([[[ 0.,  1.,  2.,  3.],\n         [ 4.,  5.,  6.,  7.],\n         [ 8.,  9., 10., 11.]],\n\n' +
        '        [[12., 13., 14., 15.],\n         [16., 17., 18., 19.],\n         [20., 21., 22., 23.]]])',
    );
  });

  it('wraps long rows at 80 columns', () => {
    expect(inspect(arange(30))).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n' +
        '        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n' +
        '        28., 29.])',
    );
  });

  it('switches to scientific notation for a wide range, and prints nan and inf', () => {
    expect(inspect(tensor([1e-5, 1, 1000]))).toBe('tensor([1.0000e-05, 1.0000e+00, 1.0000e+03])');
    expect(inspect(tensor([Number.NaN, 1.5, Number.POSITIVE_INFINITY]))).toBe('tensor([   nan, 1.5000,    inf])');
  });

  it('rounds an exact tie to even, as Python does', () => {
    expect(inspect(tensor([0.03125, 1]))).toBe('tensor([0.0312, 1.0000])');
  });

  it('a scalar prints bare', () => {
    expect(inspect(tensor(3))).toBe('tensor(3.)');
  });

  it('elides all but 3 entries at each end of each dim past 1000 elements, and gives the shape', () => {
    const big = reshape(arange(5000), [50, 100]);
    const s = inspect(big);
    expect(s.split('\n')).toHaveLength(13);
    expect(s).toMatch(/^tensor\(\[\[0\.0000e\+00, 1\.0000e\+00, 2\.0000e\+00, {2}\.\.\., 9\.7000e\+01/);
    expect(s).toContain('\n        ...,\n');
    expect(s).toMatch(/4\.9990e\+03\]\], shape=\[50,100\]\)$/);
    expect(inspect(div(arange(3000), 7))).toBe(
      'tensor([0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 4.2814e+02, 4.2829e+02,\n        4.2843e+02], shape=[3000])',
    );
  });

  it('1000 elements are printed in full', () => {
    const s = inspect(arange(1000));
    expect(s).not.toContain('...');
    expect(s).toContain(' 999.]');
  });

  it('shows none of the internal fields', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    add(a, a).sum().backward();
    expect(inspect(a)).not.toMatch(/_backward|_gradBuf|_spareGrad|data:/);
    expect(inspect({ a })).toBe('{ a: tensor([1., 2.], requiresGrad=true) }');
  });

  it('an empty tensor prints []', () => {
    expect(inspect(new Tensor(new Float32Array(0), [0]))).toBe('tensor([])');
  });
});

describe('modules print like PyTorch', () => {
  it('console.log shows the nested repr, not the fields', () => {
    const m = new Sequential(new Linear(64, 32), new ReLU(), new Sequential(new Dropout(0.2), new Linear(32, 10)));
    expect(inspect(m)).toBe(
      [
        'Sequential(',
        '  (0): Linear(in_features=64, out_features=32, bias=True)',
        '  (1): ReLU()',
        '  (2): Sequential(',
        '    (0): Dropout(p=0.2, inplace=False)',
        '    (1): Linear(in_features=32, out_features=10, bias=True)',
        '  )',
        ')',
      ].join('\n'),
    );
  });
});

describe('optimizers print like PyTorch', () => {
  it("each group's hyper-parameters, sorted, under our names", () => {
    const m = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
    const [w0, b0, ...rest] = m.parameters();
    expect(inspect(new Adam(m.parameters(), { lr: 1e-3 }))).toBe(
      'Adam (\nParameter Group 0\n    amsgrad: false\n    betas: [0.9, 0.999]\n    eps: 1e-8\n    lr: 0.001\n' +
        '    maximize: false\n    weightDecay: 0\n)',
    );
    const sgd = new SGD([{ params: [w0, b0] }, { params: rest, lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
    expect(inspect(sgd)).toContain(
      '    nesterov: false\n    weightDecay: 0\n\nParameter Group 1\n    dampening: 0\n    lr: 0.01\n',
    );
  });

  it('hyper-parameter errors quote a string apart from a number', () => {
    const p = new Sequential(new Linear(2, 2)).parameters();
    expect(() => new SGD(p, { lr: '0.1' as never })).toThrow("lr must be a number, got '0.1' (a string)");
    expect(() => new SGD(p, { lr: -1 })).toThrow('lr must be >= 0, got -1');
    expect(() => new Adam(p, { betas: ['0.9', 0.999] as never })).toThrow(
      "betas must be a pair of numbers, got ['0.9' (a string), 0.999]",
    );
  });
});

describe('datasets print their size, features and classes', () => {
  it('shape and class names when it has them', () => {
    const ds = new Dataset({
      x: new Float32Array(3 * 4),
      y: Int32Array.from([0, 1, 2]),
      shape: [1, 2, 2],
      classNames: ['cat', 'dog', 'eel'],
    });
    expect(inspect(ds)).toBe(
      "Dataset (\n    samples: 3\n    features: 4 (shape [1, 2, 2])\n    classes: 3 ('cat', 'dog', 'eel')\n)",
    );
    expect(inspect(new Dataset({ x: new Float32Array(2), y: Int32Array.from([0, 1]) }))).toBe(
      'Dataset (\n    samples: 2\n    features: 1\n    classes: 2\n)',
    );
  });
});
