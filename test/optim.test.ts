/**
 * The optimizers against PyTorch 1.13 (test/fixtures/torch/gen_optim.py -> optim.json): the same
 * 6-5-ReLU-3 MLP, weights and batches, ten steps of softmax cross-entropy per optimizer config,
 * on every backend. Then the API around the arithmetic: groups, zeroGrad, skipping params
 * without grad, stateDict round trips and refusals, hyper-parameter errors.
 *
 * Tolerance: rel 1e-5 / abs 1e-6 on losses and final params. Both sides compute in float32 but
 * sum in different orders (torch's gemm vs ours), so gradients differ in the last bits and ten
 * steps carry that along; 1e-5 is ~80 float32 ulps.
 */
import { describe, expect, test, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, kernels, withBackend, type BackendName } from '../lib/backend/index.js';
import { linear, relu, softmaxCrossEntropy, Tensor } from '../lib/tensor/index.js';
import {
  Adagrad,
  Adam,
  AdamW,
  type Optimizer,
  RMSprop,
  SGD,
  lrScheduler,
  type OptimizerStateDict,
  type Param,
  type ParamGroupInit,
} from '../lib/optim/index.js';

interface Config {
  name: string;
  optimizer: 'SGD' | 'Adagrad' | 'RMSprop' | 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  groups: { params: number[]; options: Record<string, unknown> }[] | null;
  losses: number[];
  params: number[][];
  stateKeys: string[];
  groupKeys: string[];
}
interface Fixture {
  init: Record<'W1' | 'b1' | 'W2' | 'b2', number[]>;
  shapes: Record<'W1' | 'b1' | 'W2' | 'b2', number[]>;
  batches: { x: number[]; y: number[] }[];
  configs: Config[];
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'optim.json'), 'utf8')) as Fixture;
const BACKENDS = Object.keys(backends()) as BackendName[];
const RTOL = 1e-5;
const ATOL = 1e-6;

const CLASSES = { SGD, Adagrad, RMSprop, Adam, AdamW };

/** The MLP's params in torch's model.parameters() order: W1 [5, 6], b1, W2 [3, 5], b2. */
function makeParams(): Tensor[] {
  return (['W1', 'b1', 'W2', 'b2'] as const).map(
    (k) => new Tensor(Float32Array.from(fixture.init[k]), fixture.shapes[k], true),
  );
}

/** Forward and backward on one batch with the Tensor ops; returns the (float32) loss. */
function lossAndGrads(params: Tensor[], batch: { x: number[]; y: number[] }): number {
  const [W1, b1, W2, b2] = params;
  const x = new Tensor(Float32Array.from(batch.x), [batch.y.length, 6]);
  const loss = softmaxCrossEntropy(linear(relu(linear(x, W1, b1)), W2, b2), batch.y);
  loss.backward();
  return loss.item();
}

function makeOptimizer(cfg: Config, params: Param[]): Optimizer<{ lr: number }> {
  const Cls = CLASSES[cfg.optimizer] as unknown as new (p: unknown, o: unknown) => Optimizer<{ lr: number }>;
  if (cfg.groups === null) return new Cls(params, cfg.options);
  return new Cls(
    cfg.groups.map((g) => ({ params: g.params.map((i) => params[i]), ...g.options })),
    cfg.options,
  );
}

/** Trains steps [from, to) of the fixture's batches; returns the losses. */
function train(opt: Optimizer<{ lr: number }>, params: Tensor[], from = 0, to = fixture.batches.length): number[] {
  const losses: number[] = [];
  for (let s = from; s < to; s++) {
    opt.zeroGrad();
    losses.push(lossAndGrads(params, fixture.batches[s]));
    opt.step();
  }
  return losses;
}

/** Worst violation of |a - b| <= atol + rtol * |b|, with where it happened. */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = RTOL,
  atol = ATOL,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  if (at >= 0) {
    expect.fail(`${what}[${at}]: got ${actual[at]}, torch ${expected[at]} (rtol ${rtol}, atol ${atol})`);
  }
}

const byName = (name: string): Config => {
  const cfg = fixture.configs.find((c) => c.name === name);
  if (cfg === undefined) throw new Error(`no fixture config '${name}'`);
  return cfg;
};

describe.each(BACKENDS)('against PyTorch 1.13 on the %s backend', (backendName) => {
  test.each(fixture.configs.map((c) => [c.name, c] as const))('%s: losses and final params match', (_, cfg) => {
    withBackend(backendName, () => {
      const params = makeParams();
      const losses = train(makeOptimizer(cfg, params), params);
      expectClose(losses, cfg.losses, 'loss');
      params.forEach((p, i) => expectClose(p.data, cfg.params[i], `param ${i}`));
    });
  });

  test.each([
    'sgd momentum',
    'adagrad lr decay weight decay',
    'rmsprop centered momentum weight decay',
    'adam amsgrad',
    'adamw amsgrad',
    'adam param groups',
  ])(
    '%s: loading a stateDict (through JSON) into a fresh optimizer continues exactly like uninterrupted training',
    (name) => {
      withBackend(backendName, () => {
        const cfg = byName(name);
        const straight = makeParams();
        train(makeOptimizer(cfg, straight), straight);

        const first = makeParams();
        const opt1 = makeOptimizer(cfg, first);
        train(opt1, first, 0, 4);
        const saved = JSON.stringify(opt1.stateDict(), (_, v: unknown) =>
          v instanceof Float32Array ? Array.from(v) : v,
        );

        const resumed = first.map((p) => new Tensor(p.data.slice(), p.shape, true));
        const opt2 = makeOptimizer(cfg, resumed);
        opt2.loadStateDict(JSON.parse(saved) as OptimizerStateDict);
        train(opt2, resumed, 4);
        resumed.forEach((p, i) => expect(Array.from(p.data), `param ${i}`).toEqual(Array.from(straight[i].data)));
      });
    },
  );

  test('each step makes one fused-kernel call per param with a gradient', () => {
    withBackend(backendName, () => {
      const k = kernels();
      const spies = (['sgdStep', 'adagradStep', 'rmspropStep', 'adamStep'] as const).map((m) => vi.spyOn(k, m));
      try {
        for (const Cls of [SGD, Adagrad, RMSprop, Adam, AdamW]) {
          const params = makeParams();
          const opt = new Cls(params, { lr: 0.1 });
          lossAndGrads(params, fixture.batches[0]);
          params[1].grad = null;
          opt.step();
        }
        expect(spies.map((s) => s.mock.calls.length)).toEqual([3, 3, 3, 6]);
      } finally {
        for (const s of spies) s.mockRestore();
      }
    });
  });
});

describe('state dicts', () => {
  test.each(fixture.configs.map((c) => [c.name, c] as const))(
    "%s: state and group keys are torch's (less foreach/differentiable/capturable/fused)",
    (_, cfg) => {
      const params = makeParams();
      const opt = makeOptimizer(cfg, params);
      train(opt, params, 0, 2);
      const sd = opt.stateDict();
      expect(Object.keys(sd.state[0]).sort()).toEqual(cfg.stateKeys);
      expect(Object.keys(sd.param_groups[0]).sort()).toEqual(cfg.groupKeys);
    },
  );

  test("stateDict has torch's layout: state by param index, groups with snake_case options and param indices", () => {
    const params = makeParams();
    const opt = new Adam([{ params: params.slice(0, 2) }, { params: params.slice(2), lr: 0.5, weightDecay: 0.1 }]);
    train(opt, params, 0, 1);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1', '2', '3']);
    expect(sd.state[2].step).toBe(1);
    expect(sd.state[2].exp_avg).toBeInstanceOf(Float32Array);
    expect((sd.state[2].exp_avg as Float32Array).length).toBe(15);
    expect(sd.param_groups).toEqual([
      { params: [0, 1], lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false },
      { params: [2, 3], lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.1, amsgrad: false, maximize: false },
    ]);
  });

  test('stateDict is a snapshot: later steps do not change it', () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
    train(opt, params, 0, 1);
    const sd = opt.stateDict();
    const before = Array.from(sd.state[0].momentum_buffer as Float32Array);
    train(opt, params, 1, 2);
    expect(Array.from(sd.state[0].momentum_buffer as Float32Array)).toEqual(before);
  });

  test("loadStateDict takes the hyper-parameters from the dict, params stay the optimizer's", () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1 });
    const sd = opt.stateDict();
    sd.param_groups[0].lr = 0.25;
    sd.param_groups[0].weight_decay = 0.5;
    opt.loadStateDict(sd);
    expect(opt.paramGroups[0].lr).toBe(0.25);
    expect(opt.paramGroups[0].weightDecay).toBe(0.5);
    expect(opt.paramGroups[0].params).toEqual(params);
  });

  test("loadStateDict accepts torch's one-element step tensor", () => {
    const params = makeParams();
    const a = new Adam(params);
    train(a, params, 0, 1);
    const sd = a.stateDict();
    for (const s of Object.values(sd.state)) s.step = new Float32Array([1]);
    const b = new Adam(params);
    b.loadStateDict(sd);
    expect(b.stateDict().state[3].step).toBe(1);
  });

  describe('loadStateDict refuses a dict that does not fit, and changes nothing', () => {
    const setup = (): { opt: Adam; sd: OptimizerStateDict } => {
      const params = makeParams();
      const opt = new Adam([{ params: params.slice(0, 2) }, { params: params.slice(2) }]);
      train(opt, params, 0, 1);
      return { opt, sd: opt.stateDict() };
    };
    const unchanged = (opt: Adam, before: OptimizerStateDict): void => expect(opt.stateDict()).toEqual(before);

    test('a different number of groups', () => {
      const { opt, sd } = setup();
      sd.param_groups.pop();
      expect(() => opt.loadStateDict(sd)).toThrow(/has 1 parameter groups, the optimizer has 2/);
      unchanged(opt, setup().sd);
    });

    test('a group of a different size', () => {
      const { opt, sd } = setup();
      sd.param_groups[1].params = [2];
      expect(() => opt.loadStateDict(sd)).toThrow(
        /parameter group 1 has 1 params in the state dict, 2 in the optimizer/,
      );
    });

    test("a buffer whose size is not its param's", () => {
      const { opt, sd } = setup();
      const before = opt.stateDict();
      sd.state[2].exp_avg_sq = new Float32Array(14);
      expect(() => opt.loadStateDict(sd)).toThrow(RangeError);
      expect(() => opt.loadStateDict(sd)).toThrow('state 2.exp_avg_sq has 14 elements, but param 2 has 15');
      unchanged(opt, before);
    });

    test('state for a param index that no group holds', () => {
      const { opt, sd } = setup();
      sd.state[7] = { step: 1 };
      expect(() => opt.loadStateDict(sd)).toThrow(/state for param 7/);
    });

    test('bad hyper-parameters in a group', () => {
      const { opt, sd } = setup();
      sd.param_groups[0].betas = [1, 0.999];
      expect(() => opt.loadStateDict(sd)).toThrow('betas[0] must be in [0, 1), got 1');
    });
  });

  test('Adagrad, like torch, has its state (step 0, sum = initialAccumulatorValue) before any step', () => {
    const params = makeParams();
    const sd = new Adagrad(params, { initialAccumulatorValue: 0.5 }).stateDict();
    expect(sd.state[1].step).toBe(0);
    expect(Array.from(sd.state[1].sum as Float32Array)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
  });

  test("the other optimizers allocate state at a param's first step", () => {
    const params = makeParams();
    const opt = new Adam(params);
    expect(opt.stateDict().state).toEqual({});
    lossAndGrads(params, fixture.batches[0]);
    opt.step();
    expect(Object.keys(opt.stateDict().state)).toHaveLength(4);
  });
});

describe('parameter groups', () => {
  test('each group has its own hyper-parameters, the options fill in the rest', () => {
    const params = makeParams();
    const opt = new SGD([{ params: params.slice(0, 2) }, { params: params.slice(2), lr: 0.01, nesterov: true }], {
      lr: 0.1,
      momentum: 0.9,
    });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum, g.nesterov, g.dampening])).toEqual([
      [0.1, 0.9, false, 0],
      [0.01, 0.9, true, 0],
    ]);
  });

  test('paramGroups is mutable: a changed lr applies at the next step', () => {
    const p = new Tensor(new Float32Array([1, 2]), [2], true);
    const opt = new SGD([p], { lr: 0.1 });
    opt.paramGroups[0].lr = 0.5;
    p.grad = new Tensor(new Float32Array([1, -2]), [2]);
    opt.step();
    expect(Array.from(p.data)).toEqual([0.5, 3]);
  });

  test('SGD takes its lr from the groups when the options have none', () => {
    const params = makeParams();
    expect(() => new SGD([{ params, lr: 0.1 }])).not.toThrow();
    expect(() => new SGD([{ params }])).toThrow(TypeError);
    expect(() => new SGD(params, {} as { lr: number })).toThrow('SGD: lr is required');
  });

  test('addParamGroup adds a group with the defaults', () => {
    const params = makeParams();
    const opt = new Adam(params.slice(0, 2), { lr: 0.01 });
    opt.addParamGroup({ params: params.slice(2), eps: 1e-6 });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.01, eps: 1e-6, betas: [0.9, 0.999] });
  });

  test('a param in two groups is refused', () => {
    const params = makeParams();
    expect(() => new SGD([{ params: params.slice(0, 2) }, { params: params.slice(1) }], { lr: 0.1 })).toThrow(
      'some parameters appear in more than one parameter group',
    );
  });

  test("the optimizer does not alias the user's group objects or betas arrays", () => {
    const params = makeParams();
    const betas: [number, number] = [0.8, 0.9];
    const init: ParamGroupInit<{ lr: number }> = { params, betas };
    const opt = new Adam([init]);
    opt.paramGroups[0].betas[0] = 0.5;
    expect(betas).toEqual([0.8, 0.9]);
    expect(opt.paramGroups[0]).not.toBe(init);
  });
});

describe('gradients', () => {
  test("zeroGrad() sets grads to null (PyTorch 2's default set_to_none=true)", () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1 });
    lossAndGrads(params, fixture.batches[0]);
    opt.zeroGrad();
    expect(params.map((p) => p.grad)).toEqual([null, null, null, null]);
  });

  test('zeroGrad(false) fills the existing grads with zeros', () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1 });
    lossAndGrads(params, fixture.batches[0]);
    const grad = params[0].grad!;
    opt.zeroGrad(false);
    expect(params[0].grad).toBe(grad);
    expect(params.every((p) => p.grad!.data.every((v) => v === 0))).toBe(true);
  });

  test.each([
    ['SGD', () => SGD],
    ['Adagrad', () => Adagrad],
    ['RMSprop', () => RMSprop],
    ['Adam', () => Adam],
    ['AdamW', () => AdamW],
  ] as const)('%s skips params whose grad is null (no update, no state)', (name, cls) => {
    const params = makeParams();
    const Cls = cls() as unknown as new (p: Param[], o: object) => Optimizer;
    const opt = new Cls(params, {
      lr: 0.1,
      momentum: name === 'SGD' || name === 'RMSprop' ? 0.9 : undefined,
      weightDecay: 0.1,
    });
    const before = params.map((p) => Array.from(p.data));
    lossAndGrads(params, fixture.batches[0]);
    params[2].grad = null;
    opt.step();
    expect(Array.from(params[2].data)).toEqual(before[2]);
    expect(Array.from(params[0].data)).not.toEqual(before[0]);
    const state = opt.stateDict().state[2];
    if (name === 'Adagrad') expect(state.step).toBe(0);
    else expect(state).toBeUndefined();
  });

  test("a grad whose size differs from its param's is refused", () => {
    const p = new Tensor(new Float32Array(3), [3], true);
    const opt = new Adam([p]);
    p.grad = new Tensor(new Float32Array(2), [2]);
    expect(() => opt.step()).toThrow('a param has 3 elements but its grad has 2');
  });

  test('step(closure) evaluates the closure first and returns its loss', () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      return lossAndGrads(params, fixture.batches[0]);
    });
    expect(loss).toBeCloseTo(fixture.configs[0].losses[0], 5);
    expect(Array.from(params[3].data)).not.toEqual(fixture.init.b2.map(Math.fround));
  });
});

describe('hyper-parameters', () => {
  const params = (): Tensor[] => makeParams();

  test("defaults are torch 1.13's", () => {
    expect(new SGD(params(), { lr: 0.1 }).defaults).toEqual({
      lr: 0.1,
      momentum: 0,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
      maximize: false,
    });
    expect(new Adagrad(params()).defaults).toEqual({
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
      maximize: false,
    });
    expect(new RMSprop(params()).defaults).toEqual({
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
    });
    expect(new Adam(params()).defaults).toEqual({
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
    });
    expect(new AdamW(params()).defaults).toEqual({
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
      amsgrad: false,
      maximize: false,
    });
  });

  test.each([
    ['SGD lr', () => new SGD(params(), { lr: -1 }), 'lr must be >= 0, got -1'],
    ['SGD momentum', () => new SGD(params(), { lr: 0.1, momentum: -0.5 }), 'momentum must be >= 0, got -0.5'],
    [
      'SGD weightDecay',
      () => new SGD(params(), { lr: 0.1, weightDecay: -1e-4 }),
      'weightDecay must be >= 0, got -0.0001',
    ],
    [
      'SGD nesterov without momentum',
      () => new SGD(params(), { lr: 0.1, nesterov: true }),
      'nesterov momentum requires momentum > 0 and dampening = 0',
    ],
    [
      'SGD nesterov with dampening',
      () => new SGD(params(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
      'nesterov momentum requires momentum > 0 and dampening = 0',
    ],
    ['Adagrad lrDecay', () => new Adagrad(params(), { lrDecay: -1 }), 'lrDecay must be >= 0, got -1'],
    ['Adagrad eps', () => new Adagrad(params(), { eps: -1e-10 }), 'eps must be >= 0, got -1e-10'],
    [
      'Adagrad initialAccumulatorValue',
      () => new Adagrad(params(), { initialAccumulatorValue: -1 }),
      'initialAccumulatorValue must be >= 0, got -1',
    ],
    ['RMSprop alpha', () => new RMSprop(params(), { alpha: -0.1 }), 'alpha must be >= 0, got -0.1'],
    ['RMSprop momentum', () => new RMSprop(params(), { momentum: -1 }), 'momentum must be >= 0, got -1'],
    ['RMSprop eps', () => new RMSprop(params(), { eps: -1 }), 'eps must be >= 0, got -1'],
    ['Adam lr NaN', () => new Adam(params(), { lr: NaN }), 'lr must be >= 0, got NaN'],
    ['Adam beta1', () => new Adam(params(), { betas: [1, 0.999] }), 'betas[0] must be in [0, 1), got 1'],
    ['Adam beta2', () => new Adam(params(), { betas: [0.9, -0.1] }), 'betas[1] must be in [0, 1), got -0.1'],
    ['Adam weightDecay', () => new Adam(params(), { weightDecay: -1 }), 'weightDecay must be >= 0, got -1'],
    ['AdamW eps', () => new AdamW(params(), { eps: -1 }), 'eps must be >= 0, got -1'],
    ["a group's lr", () => new Adam([{ params: params(), lr: -2 }]), 'lr must be >= 0, got -2'],
    [
      'options overridden by every group',
      () => new Adam([{ params: params(), lr: 1 }], { lr: -3 }),
      'lr must be >= 0, got -3',
    ],
    [
      'addParamGroup',
      () => new SGD(params().slice(0, 1), { lr: 0.1 }).addParamGroup({ params: params().slice(1), momentum: -1 }),
      'momentum must be >= 0, got -1',
    ],
    ['an empty parameter list', () => new Adam([]), 'optimizer got an empty parameter list'],
  ])('%s out of range throws RangeError', (_, make, message) => {
    expect(make).toThrow(RangeError);
    expect(make).toThrow(message);
  });

  test('a non-number hyper-parameter throws TypeError', () => {
    expect(() => new Adam(makeParams(), { lr: '0.1' as unknown as number })).toThrow(TypeError);
  });

  test('lrScheduler is exported as a namespace', () => {
    expect(typeof lrScheduler.StepLR).toBe('function');
  });
});
