// nn.LayerNorm, nn.Embedding and nn.Dropout2d as modules: PyTorch's init, state-dict keys,
// reprs, options, specs, saving, and Dropout2d's behaviour (its numbers need no fixture: a
// channel is either 0 or scaled by 1 / (1 - p)).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Dropout2d,
  Embedding,
  Flatten,
  LayerNorm,
  Linear,
  moduleFromSpec,
  Sequential,
  specParameterShapes,
} from '../lib/nn/index.js';
import { manualSeed } from '../lib/random.js';
import { dropout2d, embedding, layerNorm, randn, Tensor, tensor } from '../lib/tensor/index.js';
import { loadModel, save } from '../lib/train/serialize.js';

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'layers.json'), 'utf8')) as {
  reprs: Record<string, string>;
};

describe('LayerNorm', () => {
  it('starts with weight 1 and bias 0 of normalizedShape, named weight and bias', () => {
    const m = new LayerNorm([2, 3]);
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['weight', [2, 3]],
      ['bias', [2, 3]],
    ]);
    expect(Array.from(m.weight!.data)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(m.bias!.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(new LayerNorm(4, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
    expect(new LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
  });

  it('prints like PyTorch', () => {
    expect(new LayerNorm([3, 4]).toString()).toBe(fx.reprs['LayerNorm((3, 4))']);
    expect(new LayerNorm(6, { eps: 1e-3, elementwiseAffine: false }).toString()).toBe(
      fx.reprs['LayerNorm(6, eps=1e-3, elementwise_affine=False)'],
    );
  });

  it('normalises each sample to mean 0 and variance 1 (the biased one), the same in train and eval', () => {
    const m = new LayerNorm(4);
    const x = tensor([
      [1, 2, 3, 4],
      [10, 10, 10, 14],
    ]);
    const y = m.forward(x);
    for (let n = 0; n < 2; n++) {
      const row = Array.from(y.data.subarray(n * 4, n * 4 + 4));
      const mean = row.reduce((a, b) => a + b) / 4;
      const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      expect(mean).toBeCloseTo(0, 6);
      expect(v).toBeCloseTo(1, 4);
    }
    m.eval();
    expect(Array.from(m.forward(x).data)).toEqual(Array.from(y.data));
  });

  it('refuses bad options and inputs, naming them', () => {
    expect(() => new LayerNorm(4, { elementwise_affine: false } as never)).toThrow(
      new TypeError("unknown option 'elementwise_affine' for LayerNorm: did you mean 'elementwiseAffine'?"),
    );
    expect(() => new LayerNorm(4, { eps: -1 })).toThrow(RangeError);
    expect(() => new LayerNorm(4, { bias: 1 as never })).toThrow(TypeError);
    expect(() => new LayerNorm([2, 0])).toThrow(
      new RangeError('LayerNorm: normalizedShape must hold integers >= 1, got [2,0]'),
    );
    expect(() => new LayerNorm([])).toThrow(TypeError);
    expect(() => new LayerNorm(4).forward(randn([2, 5]))).toThrow(
      new RangeError('layerNorm: x of shape [2,5] does not end with normalizedShape [4]'),
    );
    expect(() => layerNorm(randn([2, 3]), 3, randn([4]))).toThrow(/weight must have shape normalizedShape \[3\]/);
  });
});

describe('layerNorm gradients add up where the parameters are used more than once', () => {
  const setup = () => {
    manualSeed(4);
    return {
      x: randn([3, 4]),
      x2: randn([2, 4]),
      w: randn([4], { requiresGrad: true }),
      b: randn([4], { requiresGrad: true }),
    };
  };
  const grads = (f: (s: ReturnType<typeof setup>) => Tensor) => {
    const s = setup();
    f(s).backward();
    return [...s.w.grad!.data, ...s.b.grad!.data];
  };
  const ln = (x: Tensor, w: Tensor, b: Tensor) =>
    layerNorm(x, 4, w, b)
      .mul(layerNorm(x, 4, w, b))
      .sum();

  it('two layerNorm calls sharing weight and bias', () => {
    const both = grads(({ x, x2, w, b }) => ln(x, w, b).add(ln(x2, w, b)));
    const one = grads(({ x, w, b }) => ln(x, w, b));
    const two = grads(({ x2, w, b }) => ln(x2, w, b));
    both.forEach((g, i) => expect(g).toBeCloseTo(one[i] + two[i], 4));
  });

  it('a bias that already holds a gradient from another op while the weight gets its first', () => {
    // b.mul(...) is recorded after the layerNorm, so its gradient reaches b first in backward.
    const f = ({ x, w, b }: ReturnType<typeof setup>) => layerNorm(x, 4, w, b).sum().add(b.mul(b).sum());
    const mixed = grads(f);
    const ln1 = grads(({ x, w, b }) => layerNorm(x, 4, w, b).sum());
    const sq = setup().b.data;
    for (let d = 0; d < 4; d++) {
      expect(mixed[d]).toBeCloseTo(ln1[d], 5);
      expect(mixed[4 + d]).toBeCloseTo(ln1[4 + d] + 2 * sq[d], 5);
    }
  });
});

describe('Embedding', () => {
  it('starts N(0, 1), with the paddingIdx row at zero (negative counts from the end)', () => {
    manualSeed(3);
    const m = new Embedding(400, 50);
    const w = m.weight.data;
    const mean = w.reduce((a, b) => a + b) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
    const p = new Embedding(10, 4, { paddingIdx: -2 });
    expect(p.paddingIdx).toBe(8);
    expect(Array.from(p.weight.data.subarray(32, 36))).toEqual([0, 0, 0, 0]);
    expect(p.toString()).toBe(fx.reprs['Embedding(10, 4, padding_idx=-2)']);
    expect(new Embedding(5, 2, { maxNorm: 1.5, normType: 1 }).toString()).toBe(
      fx.reprs['Embedding(5, 2, max_norm=1.5, norm_type=1)'],
    );
    expect(p.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([['weight', [10, 4]]]);
  });

  it('looks up a tensor of indices of any shape, an Int32Array or an array', () => {
    const m = new Embedding(5, 2);
    const y = m.forward(tensor([[4, 0, 4]]));
    expect(y.shape).toEqual([1, 3, 2]);
    expect(Array.from(y.data.subarray(0, 2))).toEqual(Array.from(m.weight.data.subarray(8, 10)));
    expect(Array.from(m.forward(new Int32Array([4, 0, 4])).data)).toEqual(Array.from(y.data));
    expect(m.forward([1]).shape).toEqual([1, 2]);
  });

  it('never gives the padding row a gradient, and adds repeated indices up', () => {
    const m = new Embedding(4, 2, { paddingIdx: 0 });
    m.forward([0, 2, 2, 0, 3]).sum().backward();
    expect(Array.from(m.weight.grad!.data)).toEqual([0, 0, 0, 0, 2, 2, 1, 1]);
  });

  it('refuses an index that is not an integer in [0, numEmbeddings), naming it', () => {
    const m = new Embedding(3, 2);
    expect(() => m.forward([0, 3])).toThrow(new RangeError('embedding: indices[1] = 3 is out of range [0, 3)'));
    expect(() => m.forward(tensor([1, -1]))).toThrow(
      new RangeError('embedding: indices[1] = -1 is out of range [0, 3)'),
    );
    expect(() => m.forward(tensor([0.5]))).toThrow(
      new RangeError('embedding: indices[0] = 0.5 is out of range [0, 3)'),
    );
    expect(() => m.forward('0' as never)).toThrow(TypeError);
    expect(() => embedding([0], m.weight, { padding_idx: 0 } as never)).toThrow(
      new TypeError("unknown option 'padding_idx' for embedding: did you mean 'paddingIdx'?"),
    );
    expect(() => new Embedding(3, 2, { paddingIdx: 3 })).toThrow(RangeError);
    expect(() => new Embedding(0, 2)).toThrow(
      new RangeError('Embedding: numEmbeddings must be an integer >= 1, got 0'),
    );
    expect(() => new Embedding(3, 2, { maxNorm: -1 })).toThrow(RangeError);
  });

  it('copies the indices: changing them after the forward does not change the gradient', () => {
    const m = new Embedding(3, 1);
    const idx = new Int32Array([0, 1]);
    const y = m.forward(idx);
    idx[0] = 2;
    y.sum().backward();
    expect(Array.from(m.weight.grad!.data)).toEqual([1, 1, 0]);
  });
});

describe('Dropout2d', () => {
  const x = () => new Tensor(new Float32Array(2 * 8 * 3 * 3).fill(1), [2, 8, 3, 3], true);

  it('zeroes whole channels in training and scales the others by 1 / (1 - p)', () => {
    manualSeed(5);
    const y = new Dropout2d(0.25).forward(x());
    let zero = 0;
    for (let c = 0; c < 16; c++) {
      const plane = new Set(y.data.subarray(c * 9, c * 9 + 9));
      expect(plane.size).toBe(1);
      const v = [...plane][0];
      expect([0, Math.fround(1 / 0.75)]).toContain(v);
      if (v === 0) zero++;
    }
    expect(zero).toBeGreaterThan(0);
    expect(zero).toBeLessThan(16);
  });

  it('draws the same channels from the same seed, and passes gradients through the kept ones', () => {
    manualSeed(9);
    const a = dropout2d(x(), 0.5);
    manualSeed(9);
    const input = x();
    const b = dropout2d(input, 0.5);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    b.sum().backward();
    expect(Array.from(input.grad!.data)).toEqual(Array.from(b.data));
  });

  it('is the identity in eval mode and with p = 0, and zeroes everything with p = 1', () => {
    const m = new Dropout2d(0.9);
    m.eval();
    const input = x();
    expect(m.forward(input)).toBe(input);
    expect(dropout2d(input, 0)).toBe(input);
    expect(new Set(dropout2d(input, 1).data)).toEqual(new Set([0]));
  });

  it('drops the channels of an unbatched [C, H, W] input independently', () => {
    manualSeed(2);
    const y = dropout2d(new Tensor(new Float32Array(64 * 4).fill(1), [64, 2, 2]), 0.5);
    const planes = Array.from({ length: 64 }, (_, c) => new Set(y.data.subarray(c * 4, c * 4 + 4)));
    expect(planes.every((s) => s.size === 1)).toBe(true);
    expect(new Set(planes.map((s) => [...s][0]))).toEqual(new Set([0, 2]));
  });

  it('refuses a bad p or a shape other than [N, C, H, W] or [C, H, W]', () => {
    expect(() => new Dropout2d(1.5)).toThrow(new RangeError('Dropout2d: p must be a number in [0, 1], got 1.5'));
    expect(() => dropout2d(randn([2, 3]), 0.5)).toThrow(
      new RangeError('dropout2d: x must be [N, C, H, W] or [C, H, W], got [2,3]'),
    );
    expect(new Dropout2d(0.3).toString()).toBe(fx.reprs['Dropout2d(0.3)']);
  });
});

describe('specs and files', () => {
  const model = () =>
    new Sequential(
      new Embedding(10, 4, { paddingIdx: 0, maxNorm: 2 }),
      new LayerNorm(4, { eps: 1e-3 }),
      new Dropout2d(0.2),
      new LayerNorm([3, 4], { bias: false }),
      new Linear(4, 2),
    );

  it('rebuilds each layer from its spec and names the same parameters without building them', () => {
    const m = model();
    const spec = m.spec();
    const again = moduleFromSpec(spec);
    expect(again.spec()).toEqual(spec);
    expect(again.toString()).toBe(m.toString());
    expect([...specParameterShapes(spec)]).toEqual(m.namedParameters().map(([n, p]) => [n, p.shape]));
    expect([...specParameterShapes(new LayerNorm(3, { elementwiseAffine: false }).spec())]).toEqual([]);
  });

  it('saves and loads a model with them, outputs equal', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-layers-'));
    try {
      const m = new Sequential(
        new Embedding(10, 4, { paddingIdx: 0 }),
        new LayerNorm(4),
        new Flatten(),
        new Linear(12, 3),
      );
      m.eval();
      const file = path.join(dir, 'm.safetensors');
      save(m, file);
      const back = loadModel(file);
      back.eval();
      const idx = tensor([[1, 0, 9]]);
      expect(Array.from(back.forward(idx).data)).toEqual(Array.from(m.forward(idx).data));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
