// The new tensor ops refuse bad arguments with an error naming the op and the argument.
import { describe, expect, it } from 'vitest';
import * as ng from '../lib/tensor/index.js';

const x = ng.zeros([2, 3]);

describe('shape op errors', () => {
  it('permute needs each dim once', () => {
    expect(() => ng.permute(x, [0])).toThrow('permute: dims must list each of the 2 dims of [2,3] once');
    expect(() => ng.permute(x, [1, 1])).toThrow('permute: dims [1,1] repeat a dim');
  });
  it('transpose names the dim out of range', () => {
    expect(() => x.transpose(0, 2)).toThrow('transpose: dim 2 is out of range for a tensor of 2 dims');
    expect(() => x.transpose(0.5, 1)).toThrow('transpose: dim0 must be an integer, got 0.5');
  });
  it('expand refuses a dim that is not 1', () => {
    expect(() => x.expand([4, 3])).toThrow('expand: shapes [2,3] and [4,3] cannot be broadcast');
    expect(() => x.expand([3])).toThrow('expand: shape must be an array of at least 2 sizes');
  });
  it('cat and stack name the tensor that does not fit', () => {
    expect(() => ng.cat([x, ng.zeros([2, 4])], 0)).toThrow('cat: tensors[1] has shape [2,4]');
    expect(() => ng.stack([x, ng.zeros([3, 2])])).toThrow('stack: tensors[1] has shape [3,2], expected [2,3]');
    expect(() => ng.cat([])).toThrow('cat: tensors must be a non-empty array');
    expect(() => ng.cat([x, 1 as unknown as ng.Tensor])).toThrow('cat: tensors[1] must be a Tensor, got number');
  });
  it('narrow, split and chunk check their ranges', () => {
    expect(() => x.narrow(1, 2, 2)).toThrow('narrow: start 2 + length 2 exceeds dim 1 of size 3');
    expect(() => x.split([1, 1], 1)).toThrow('split: sizes [1,1] must be >= 0 and add up to 3');
    expect(() => x.split(0)).toThrow('split: splitSize must be > 0, got 0');
    expect(() => x.chunk(0)).toThrow('chunk: chunks must be > 0, got 0');
  });
  it('indexSelect and gather name the index out of range', () => {
    expect(() => x.indexSelect(1, [0, 3])).toThrow('indexSelect: index[1] = 3 is out of range for a dim of size 3');
    expect(() => x.gather(0, ng.tensor([[0, 2, 0]]))).toThrow('gather: index[1] = 2 is out of range');
    expect(() => x.gather(0, ng.tensor([0, 1]))).toThrow('gather: index of shape [2] must have the rank of x [2,3]');
  });
  it('pad refuses odd and negative pads', () => {
    expect(() => ng.pad(x, [1])).toThrow('pad: pads must list (before, after) pairs');
    expect(() => ng.pad(x, [1, -1])).toThrow('pad: pads[1] must be >= 0, got -1');
  });
});

describe('elementwise op errors and masks', () => {
  it('clamp needs a bound, and numbers for them', () => {
    expect(() => x.clamp()).toThrow('clamp: at least one of min and max must be a number');
    expect(() => x.clamp('1' as unknown as number)).toThrow('clamp: min must be a number, got string');
  });
  it('pow and where name the bad operand', () => {
    expect(() => ng.pow(2, 'x' as unknown as ng.Tensor)).toThrow(
      'pow: exponent must be a Tensor or a number, got string',
    );
    expect(() => ng.where(1 as unknown as ng.Tensor, x, x)).toThrow('where: cond must be a Tensor, got number');
    expect(() => ng.where(ng.zeros([4]), x, 0)).toThrow('where: shapes [4] and [2,3] cannot be broadcast');
  });
  it('comparisons return float32 0/1 masks that never require grad', () => {
    const a = ng.tensor([1, -2, 3], { requiresGrad: true });
    const m = a.gt(0);
    expect(m.requiresGrad).toBe(false);
    expect(m.data).toEqual(new Float32Array([1, 0, 1]));
  });
});

describe('reduction errors', () => {
  it('dims out of range or repeated are refused', () => {
    expect(() => x.sum([0, 2])).toThrow('sum: dim 2 is out of range for a tensor of 2 dims');
    expect(() => x.amax([1, -1])).toThrow('amax: dim [1,-1] repeats a dim');
  });
  it('var/std check their options with lib/options.ts', () => {
    expect(() => x.var(0, { unbaised: true } as never)).toThrow(/unknown option 'unbaised' for var/);
    expect(() => x.std(0, { unbiased: true, correction: 1 })).toThrow('std: give correction or unbiased, not both');
    expect(() => x.var(0, { correction: -1 })).toThrow('var: correction must be a number >= 0, got -1');
  });
  it('prod takes one dim', () => {
    expect(() => ng.prod(x, [0, 1] as never)).toThrow('prod: dim must be one integer or null');
  });
});

describe('dtype', () => {
  it('float32 is accepted and every other dtype refused, naming the function', () => {
    expect(ng.zeros([2], { dtype: 'float32' }).data).toBeInstanceOf(Float32Array);
    expect(() => ng.tensor([1, 2], { dtype: 'int64' as never })).toThrow(
      "tensor: dtype 'int64' is not supported; nodegrad tensors are float32 only",
    );
    expect(() => ng.randn([2], { dtype: 'float64' as never })).toThrow(TypeError);
    expect(() => ng.arange(0, 3, 1, { dtype: 'int32' as never })).toThrow("arange: dtype 'int32' is not supported");
  });
});
