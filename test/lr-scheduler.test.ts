/**
 * The learning-rate schedulers against PyTorch 1.13 (test/fixtures/torch/gen_optim.py ->
 * lr-scheduler.json): the lr of each of two groups (and momentum / beta1 for OneCycleLR) after
 * construction and after each of 30 steps; ReduceLROnPlateau on a scripted metric sequence.
 *
 * Tolerance: rel 1e-13. The schedulers do torch's double arithmetic in torch's order; only
 * Math.cos / ** may differ from libm's cos / pow by an ulp, and the recursive forms carry
 * such differences along for a few steps.
 */
import { describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../lib/tensor/index.js';
import {
  Adagrad,
  Adam,
  AdamW,
  SGD,
  lrScheduler,
  optimizerFromSpec,
  schedulerFromSpec,
  type Optimizer,
} from '../lib/optim/index.js';

interface SchedConfig {
  name: string;
  optimizer: 'SGD' | 'Adam';
  scheduler: 'StepLR' | 'MultiStepLR' | 'ExponentialLR' | 'CosineAnnealingLR' | 'OneCycleLR' | 'ReduceLROnPlateau';
  options: Record<string, unknown>;
  lrs: number[][];
  momenta?: number[][];
  metrics?: number[];
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch', 'lr-scheduler.json'), 'utf8')) as {
  groupLrs: number[];
  configs: SchedConfig[];
};
const RTOL = 1e-13;

type Sched = lrScheduler.LRScheduler | lrScheduler.ReduceLROnPlateau;

/** The fixture's optimizer: two groups (2 and 3 elements), SGD with momentum 0.9 or Adam. */
function makeOptimizer(kind: 'SGD' | 'Adam'): Optimizer<{ lr: number }> {
  const p1 = new Tensor(new Float32Array(2), [2], true);
  const p2 = new Tensor(new Float32Array(3), [3], true);
  const groups = [
    { params: [p1], lr: fixture.groupLrs[0] },
    { params: [p2], lr: fixture.groupLrs[1] },
  ];
  return kind === 'SGD' ? new SGD(groups, { lr: fixture.groupLrs[0], momentum: 0.9 }) : new Adam(groups);
}

function makeScheduler(cfg: SchedConfig, opt: Optimizer<{ lr: number }>): Sched {
  const Cls = lrScheduler[cfg.scheduler] as unknown as new (o: Optimizer<{ lr: number }>, options: unknown) => Sched;
  return new Cls(opt, cfg.options);
}

function momenta(opt: Optimizer<{ lr: number }>): number[] {
  return opt.paramGroups.map((g) => (Array.isArray(g.betas) ? (g.betas[0] as number) : (g.momentum as number)));
}

function advance(cfg: SchedConfig, opt: Optimizer<{ lr: number }>, sched: Sched, stepIndex: number): void {
  opt.step();
  if (sched instanceof lrScheduler.ReduceLROnPlateau) sched.step(cfg.metrics![stepIndex]);
  else sched.step();
}

function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!(Math.abs(a - expected[i]) <= RTOL * Math.abs(expected[i]))) {
      expect.fail(`${what}, group ${i}: got ${a}, torch ${expected[i]}`);
    }
  });
}

describe.each(fixture.configs.map((c) => [c.name, c] as const))('%s', (_, cfg) => {
  test("the lr sequence (and momentum / beta1) matches torch's", () => {
    const opt = makeOptimizer(cfg.optimizer);
    const sched = makeScheduler(cfg, opt);
    const check = (s: number): void => {
      expectClose(sched.getLastLr(), cfg.lrs[s], `lr after step ${s}`);
      expectClose(
        opt.paramGroups.map((g) => g.lr),
        cfg.lrs[s],
        `group lr after step ${s}`,
      );
      if (cfg.momenta !== undefined) expectClose(momenta(opt), cfg.momenta[s], `momentum after step ${s}`);
    };
    check(0);
    for (let s = 1; s < cfg.lrs.length; s++) {
      advance(cfg, opt, sched, s - 1);
      check(s);
    }
  });

  test('a stateDict (through JSON) loaded into a fresh optimizer and scheduler continues the sequence', () => {
    const opt1 = makeOptimizer(cfg.optimizer);
    const sched1 = makeScheduler(cfg, opt1);
    const cut = 12;
    for (let s = 1; s <= cut; s++) advance(cfg, opt1, sched1, s - 1);
    const saved = JSON.stringify({ optimizer: opt1.stateDict(), scheduler: sched1.stateDict() });

    const opt2 = makeOptimizer(cfg.optimizer);
    const sched2 = makeScheduler(cfg, opt2);
    const dicts = JSON.parse(saved) as {
      optimizer: ReturnType<typeof opt1.stateDict>;
      scheduler: Record<string, unknown>;
    };
    opt2.loadStateDict(dicts.optimizer);
    sched2.loadStateDict(dicts.scheduler);
    expectClose(sched2.getLastLr(), cfg.lrs[cut], `lr after loading at step ${cut}`);
    for (let s = cut + 1; s < cfg.lrs.length; s++) {
      advance(cfg, opt2, sched2, s - 1);
      expectClose(sched2.getLastLr(), cfg.lrs[s], `lr after step ${s}`);
      if (cfg.momenta !== undefined) expectClose(momenta(opt2), cfg.momenta[s], `momentum after step ${s}`);
    }
  });
});

describe('scheduler semantics', () => {
  test('constructing a scheduler records initialLr and makes the initial step (lastEpoch -1 -> 0)', () => {
    const opt = makeOptimizer('SGD');
    const sched = new lrScheduler.ExponentialLR(opt, { gamma: 0.5 });
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.05]);
    expect(sched.lastEpoch).toBe(0);
    expect(sched.baseLrs).toEqual([0.1, 0.05]);
    expect(sched.getLastLr()).toEqual([0.1, 0.05]);
  });

  test("stateDict uses torch's key names", () => {
    const sched = new lrScheduler.StepLR(makeOptimizer('SGD'), { stepSize: 3 });
    expect(sched.stateDict()).toEqual({
      base_lrs: [0.1, 0.05],
      last_epoch: 0,
      _step_count: 1,
      _last_lr: [0.1, 0.05],
      step_size: 3,
      gamma: 0.1,
    });
    const plateau = new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'));
    expect(Object.keys(plateau.stateDict()).sort()).toEqual([
      '_last_lr',
      'best',
      'cooldown',
      'cooldown_counter',
      'eps',
      'factor',
      'last_epoch',
      'min_lrs',
      'mode',
      'mode_worse',
      'num_bad_epochs',
      'patience',
      'threshold',
      'threshold_mode',
    ]);
  });

  test('the optimizer sees the scheduled lr at its next step', () => {
    const p = new Tensor(new Float32Array([0]), [1], true);
    const opt = new SGD([p], { lr: 1 });
    const sched = new lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    sched.step();
    p.grad = new Tensor(new Float32Array([1]), [1]);
    opt.step();
    expect(p.data[0]).toBe(-0.5);
  });

  test('getLastLr returns a copy', () => {
    const sched = new lrScheduler.ExponentialLR(makeOptimizer('SGD'), { gamma: 0.5 });
    sched.getLastLr()[0] = 7;
    expect(sched.getLastLr()).toEqual([0.1, 0.05]);
  });

  test('OneCycleLR throws when stepped past totalSteps, as torch does', () => {
    const sched = new lrScheduler.OneCycleLR(makeOptimizer('SGD'), { maxLr: 0.1, totalSteps: 3 });
    for (let i = 0; i < 3; i++) sched.step();
    expect(() => sched.step()).toThrow('Tried to step 5 times. The specified number of total steps is 3');
  });

  test('OneCycleLR needs momentum or betas to cycle, and a step count', () => {
    const p = new Tensor(new Float32Array(1), [1], true);
    expect(() => new lrScheduler.OneCycleLR(new Adagrad([p]), { maxLr: 0.1, totalSteps: 10 })).toThrow(
      /must support momentum/,
    );
    expect(
      () => new lrScheduler.OneCycleLR(new Adagrad([p]), { maxLr: 0.1, totalSteps: 10, cycleMomentum: false }),
    ).not.toThrow();
    expect(() => new lrScheduler.OneCycleLR(makeOptimizer('SGD'), { maxLr: 0.1 })).toThrow(/totalSteps OR/);
    expect(() => new lrScheduler.OneCycleLR(makeOptimizer('SGD'), { maxLr: 0.1, totalSteps: 2.5 })).toThrow(RangeError);
    expect(() => new lrScheduler.OneCycleLR(makeOptimizer('SGD'), { maxLr: [0.1], totalSteps: 5 })).toThrow(
      'expected 2 values for maxLr, got 1',
    );
  });

  test('ReduceLROnPlateau refuses factor >= 1 and unknown modes', () => {
    expect(() => new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'), { factor: 1 })).toThrow(RangeError);
    expect(() => new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'), { mode: 'avg' as 'min' })).toThrow(RangeError);
    expect(() => new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD'), { minLr: [0, 0, 0] })).toThrow(RangeError);
  });

  test('schedulers refuse what is not an Optimizer', () => {
    expect(() => new lrScheduler.StepLR({} as Optimizer, { stepSize: 1 })).toThrow(TypeError);
  });

  test('resuming with lastEpoch needs initialLr in every group', () => {
    expect(() => new lrScheduler.StepLR(makeOptimizer('SGD'), { stepSize: 2, lastEpoch: 5 })).toThrow(/initialLr/);
  });
});

describe('when a scheduler is stepped, and the factory', () => {
  test('each scheduler says when fit steps it: OneCycleLR per batch, ReduceLROnPlateau on a metric, the others per epoch', () => {
    const opt = makeOptimizer('SGD');
    const kinds = [
      new lrScheduler.StepLR(opt, { stepSize: 2 }),
      new lrScheduler.MultiStepLR(makeOptimizer('SGD'), { milestones: [2] }),
      new lrScheduler.ExponentialLR(makeOptimizer('SGD'), { gamma: 0.9 }),
      new lrScheduler.CosineAnnealingLR(makeOptimizer('SGD'), { tMax: 5 }),
      new lrScheduler.OneCycleLR(makeOptimizer('SGD'), { maxLr: 0.1, totalSteps: 10 }),
      new lrScheduler.ReduceLROnPlateau(makeOptimizer('SGD')),
    ].map((s) => s.stepOn);
    expect(kinds).toEqual(['epoch', 'epoch', 'epoch', 'epoch', 'batch', 'metric']);
  });

  test("stepOn is not part of the state dict (torch's keys only)", () => {
    const s = new lrScheduler.OneCycleLR(makeOptimizer('SGD'), { maxLr: 0.1, totalSteps: 10 });
    expect(Object.keys(s.stateDict())).not.toContain('step_on');
    expect(Object.keys(s.stateDict())).not.toContain('stepOn');
  });

  test('optimizerFromSpec and schedulerFromSpec build what a description names, by short or torch name', () => {
    const p = new Tensor(new Float32Array(2), [2], true);
    const opt = optimizerFromSpec({ type: 'AdamW', lr: 0.01, weightDecay: 0.1 }, [p]);
    expect(opt).toBeInstanceOf(AdamW);
    expect(opt.paramGroups[0]).toMatchObject({ lr: 0.01, weightDecay: 0.1 });
    expect(optimizerFromSpec({ type: 'sgd', lr: 0.1, momentum: 0.9 }, [p])).toBeInstanceOf(SGD);
    expect(schedulerFromSpec({ type: 'onecycle', maxLr: 0.1, totalSteps: 5 }, opt)).toBeInstanceOf(
      lrScheduler.OneCycleLR,
    );
    expect(schedulerFromSpec({ type: 'ReduceLROnPlateau', patience: 1 }, opt)).toBeInstanceOf(
      lrScheduler.ReduceLROnPlateau,
    );
    expect(() => optimizerFromSpec({ type: 'lion' } as never, [p])).toThrow(/optimizer.type must be 'sgd'.*got 'lion'/);
    expect(() => schedulerFromSpec('step' as never, opt)).toThrow(
      new TypeError("scheduler must be an object with a string type, got 'step'"),
    );
  });
});
