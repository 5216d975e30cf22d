import { describe, it, expect, beforeEach } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withBackend } from '../lib/backend/index.js';
import { Tensor, tensor, softmaxCrossEntropy, noGrad } from '../lib/tensor/index.js';
import { manualSeed } from '../lib/random.js';
import { Linear, ReLU, Tanh, Sequential, Dropout, Flatten, moduleFromSpec, mlp, init } from '../lib/nn/index.js';
import { all } from './helpers/backends.js';

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/torch/nn.json'), 'utf8'));

function torchModel(): Sequential {
  return new Sequential(new Linear(5, 4), new ReLU(), new Linear(4, 3), new Tanh(), new Linear(3, 3, { bias: false }));
}

function toState(state: Record<string, { shape: number[]; data: number[] }>) {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(state)) out[k] = { shape: v.shape, data: Float32Array.from(v.data) };
  return out;
}

describe('nn.Module naming and state dicts', () => {
  it('names parameters like torch.nn.Sequential, nested modules included', () => {
    const m = torchModel();
    expect(m.namedParameters().map(([n]) => n)).toEqual(Object.keys(fx.state));
    const outer = new Sequential(new Sequential(new Linear(2, 2)), new ReLU());
    expect(outer.namedParameters().map(([n]) => n)).toEqual(['0.0.weight', '0.0.bias']);
  });

  it('prints like PyTorch', () => {
    expect(torchModel().toString()).toBe(fx.repr);
  });

  it('refuses missing, unexpected and wrongly shaped entries, naming them, and changes nothing', () => {
    const m = torchModel();
    const before = m.parameters().map((p) => p.data.slice());
    const state = toState(fx.state);
    delete (state as Record<string, unknown>)['2.bias'];
    state['9.weight'] = { shape: [1], data: new Float32Array(1) };
    state['0.weight'] = { shape: [5, 4], data: new Float32Array(20) };
    expect(() => m.loadStateDict(state)).toThrow(
      /missing: 2\.bias.*unexpected: 9\.weight.*0\.weight: shape \[5,4\] does not match the parameter's \[4,5\]/,
    );
    m.parameters().forEach((p, i) => expect(p.data).toEqual(before[i]));
  });

  it('round-trips through stateDict', () => {
    manualSeed(1);
    const a = torchModel();
    const b = torchModel();
    b.loadStateDict(a.stateDict());
    a.parameters().forEach((p, i) => expect(b.parameters()[i].data).toEqual(p.data));
  });
});

describe.each(all)('nn on the %s backend', (name) => {
  it('Linear is x W^T + b with W [out, in]: forward and gradients match PyTorch', () => {
    withBackend(name, () => {
      const m = torchModel();
      m.loadStateDict(toState(fx.state));
      const x = new Tensor(Float32Array.from(fx.x.data), fx.x.shape);
      const out = m.forward(x);
      for (let i = 0; i < fx.out.length; i++) expect(out.data[i]).toBeCloseTo(fx.out[i], 5);
      const loss = softmaxCrossEntropy(out, fx.labels);
      expect(loss.item()).toBeCloseTo(fx.loss, 5);
      loss.backward();
      for (const [k, p] of m.namedParameters()) {
        const want: number[] = fx.grads[k];
        for (let i = 0; i < want.length; i++) expect(p.grad!.data[i]).toBeCloseTo(want[i], 5);
      }
    });
  });
});

describe('initialisation', () => {
  beforeEach(() => manualSeed(123));

  it('Linear draws W and b from U(-1/sqrt(in), 1/sqrt(in)) like torch.nn.Linear', () => {
    const l = new Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    let max = 0;
    let sumSq = 0;
    for (const v of l.weight.data) {
      max = Math.max(max, Math.abs(v));
      sumSq += v * v;
    }
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.99 * bound);
    // variance of U(-a, a) is a^2 / 3
    expect(sumSq / l.weight.numel).toBeCloseTo((bound * bound) / 3, 5);
    expect(Math.max(...l.bias!.data.map(Math.abs))).toBeLessThanOrEqual(bound);
  });

  it('xavier and kaiming use the documented fans and gains', () => {
    const t = new Tensor(new Float32Array(200 * 100), [200, 100]);
    init.kaimingNormal_(t, { nonlinearity: 'relu' });
    let s = 0;
    for (const v of t.data) s += v * v;
    expect(Math.sqrt(s / t.numel)).toBeCloseTo(Math.sqrt(2 / 100), 2);
    init.xavierUniform_(t);
    const a = Math.sqrt(6 / 300);
    expect(Math.max(...t.data.map(Math.abs))).toBeLessThanOrEqual(a);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3);
    expect(() => init.xavierUniform_(new Tensor(new Float32Array(3), [3]))).toThrow(/fewer than 2 dimensions/);
  });

  it('one seed makes initialisation reproducible', () => {
    manualSeed(5);
    const a = mlp(8, [6], 3);
    manualSeed(5);
    const b = mlp(8, [6], 3);
    a.parameters().forEach((p, i) => expect(b.parameters()[i].data).toEqual(p.data));
  });
});

describe('errors name the module', () => {
  it("a wrong input width names the Sequential's child by index and says what it expected", () => {
    expect(() => mlp(64, [32], 10).forward(new Tensor(new Float32Array(8 * 63), [8, 63]))).toThrow(
      /^0: Linear\(64 -> 32\) got an input with 63 features where 64 were expected \(input shape \[8,63\]/,
    );
  });

  it('nested Sequentials give the dotted path, as state-dict keys do, and the error keeps its class', () => {
    const m = new Sequential(new ReLU(), new Sequential(new Linear(3, 2), new Linear(3, 2)));
    expect(() => m.forward(new Tensor(new Float32Array(3), [1, 3]))).toThrow(RangeError);
    expect(() => m.forward(new Tensor(new Float32Array(3), [1, 3]))).toThrow(
      /^1\.1: Linear\(3 -> 2\) got an input with 2 features/,
    );
  });

  it('a Linear called directly names itself; an op error inside another layer is prefixed with it', () => {
    expect(() => new Linear(3, 2).forward(new Tensor(new Float32Array(8), [2, 4]))).toThrow(
      /^Linear\(3 -> 2\) got an input with 4 features where 3 were expected/,
    );
    expect(() => new Sequential(new Linear(3, 2)).forward(new Tensor(new Float32Array(3), [3]))).toThrow(
      /^0: Linear\(3 -> 2\): linear: x must be 2-D/,
    );
    expect(() => new Sequential(new ReLU()).forward('x' as never)).toThrow(/^0: ReLU: relu/);
  });

  it('values in messages are quoted by type', () => {
    expect(() => new Linear('3' as never, 2)).toThrow(TypeError);
    expect(() => new Linear('3' as never, 2)).toThrow("inFeatures must be an integer >= 1, got '3' (a string)");
    expect(() => new Linear(0, 2)).toThrow('inFeatures must be an integer >= 1, got 0');
    expect(() => new Dropout('0.5' as never)).toThrow("got '0.5' (a string)");
    expect(() => init.normal_(new Tensor(new Float32Array(1), [1]), 0, '1' as never)).toThrow("got '1' (a string)");
  });
});

describe('Dropout, Flatten, train/eval, specs', () => {
  it('Dropout zeroes about p of the elements, scales the rest by 1/(1-p), and is the identity in eval mode', () => {
    manualSeed(3);
    const d = new Dropout(0.25);
    const x = tensor(new Float32Array(10000).fill(1), { shape: [100, 100], requiresGrad: true });
    const y = d.forward(x);
    const zeros = y.data.filter((v) => v === 0).length;
    expect(zeros / 10000).toBeGreaterThan(0.22);
    expect(zeros / 10000).toBeLessThan(0.28);
    expect(y.data.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    y.sum().backward();
    expect(x.grad!.data).toEqual(y.data);
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(RangeError);
  });

  it('train() and eval() reach nested modules', () => {
    const m = new Sequential(new Sequential(new Dropout()), new ReLU());
    m.eval();
    expect(m.children()[0].children()[0].training).toBe(false);
    m.train();
    expect(m.children()[0].children()[0].training).toBe(true);
  });

  it('Flatten keeps the batch dimension', () => {
    const y = noGrad(() => new Flatten().forward(new Tensor(new Float32Array(24), [2, 3, 4])));
    expect(y.shape).toEqual([2, 12]);
  });

  it('moduleFromSpec rebuilds the architecture', () => {
    const m = new Sequential(new Linear(4, 3), new ReLU(), new Dropout(0.1), new Linear(3, 2, { bias: false }));
    const again = moduleFromSpec(JSON.parse(JSON.stringify(m.spec())));
    expect(again.toString()).toBe(m.toString());
    expect(again.namedParameters().map(([n, p]) => [n, p.shape])).toEqual(
      m.namedParameters().map(([n, p]) => [n, p.shape]),
    );
    expect(() => moduleFromSpec({ type: 'Conv9d' } as never)).toThrow(/unknown module type/);
  });

  it('rejects bad sizes', () => {
    expect(() => new Linear(0, 3)).toThrow(/inFeatures must be an integer >= 1, got 0/);
  });
});
