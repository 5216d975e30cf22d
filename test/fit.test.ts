import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backends, withBackend, type BackendName } from '../lib/backend/index.js';
import { Tensor } from '../lib/tensor/index.js';
import { manualSeed } from '../lib/random.js';
import { mlp, Sequential, Linear, ReLU, Dropout } from '../lib/nn/index.js';
import { SGD, Adam, lrScheduler } from '../lib/optim/index.js';
import { loadDigits, trainValTestSplit, fitStandardizer, Dataset } from '../lib/data/index.js';
import {
  fit,
  evaluate,
  predict,
  predictClasses,
  TrainingDivergedError,
  save,
  load,
  loadModel,
} from '../lib/train/index.js';

const names = Object.keys(backends()) as BackendName[];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-fit-'));

function digits() {
  const { train, validation, test } = trainValTestSplit(loadDigits(), { validation: 0.1, test: 0.2, seed: 42 });
  const std = fitStandardizer(train);
  return { train: std.apply(train), validation: std.apply(validation), test: std.apply(test) };
}

function run(backend: BackendName, seed: number, epochs: number, extra: Record<string, unknown> = {}) {
  return withBackend(backend, () => {
    manualSeed(seed);
    const { train, validation, test } = digits();
    const model = new Sequential(new Linear(64, 64), new ReLU(), new Dropout(0.1), new Linear(64, 10));
    const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
    const scheduler = new lrScheduler.StepLR(optimizer, { stepSize: 10, gamma: 0.5 });
    const history = fit(model, {
      train,
      validation,
      epochs,
      batchSize: 32,
      optimizer,
      scheduler,
      progress: 'silent',
      seed: 7,
      ...extra,
    });
    return { model, history, test };
  });
}

describe.each(names)('fit on the %s backend', (backend) => {
  it('a seeded 64-64-10 MLP reaches >= 95% test accuracy on the held-out 20% of the digits', () => {
    const { model, history, test } = run(backend, 1, 25);
    const acc = withBackend(backend, () => evaluate(model, test).accuracy);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    expect(history.epochs).toHaveLength(25);
    expect(history.epochs[24].loss).toBeLessThan(history.epochs[0].loss);
    expect(history.epochs[0].valAccuracy).toBeGreaterThan(0);
  });

  it('two runs with the same seed give identical losses and weights', () => {
    const a = run(backend, 3, 4);
    const b = run(backend, 3, 4);
    expect(b.history.epochs.map((e) => e.loss)).toEqual(a.history.epochs.map((e) => e.loss));
    a.model.parameters().forEach((p, i) => expect(b.model.parameters()[i].data).toEqual(p.data));
  });

  it('a run resumed from a mid-training checkpoint ends identical to an uninterrupted one', () => {
    const ck = path.join(tmp, `resume-${backend}.ckpt`);
    const full = run(backend, 5, 6);
    run(backend, 5, 3, { checkpoint: ck });
    // a fresh process would start with other weights and RNG state: scramble both
    const resumed = run(backend, 999, 6, { resume: ck });
    expect(resumed.history.epochs.map((e) => e.loss)).toEqual(full.history.epochs.map((e) => e.loss));
    full.model.parameters().forEach((p, i) => expect(resumed.model.parameters()[i].data).toEqual(p.data));
  });
});

describe('fit: bad input and divergence', () => {
  it('stops with an error naming the epoch, step and first non-finite gradient when the loss diverges', () => {
    manualSeed(1);
    const { train } = digits();
    const model = mlp(64, [32], 10);
    const optimizer = new SGD(model.parameters(), { lr: 1e20 });
    let err: unknown;
    try {
      fit(model, { train, epochs: 5, optimizer, progress: 'silent', batchSize: 64 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainingDivergedError);
    const e = err as TrainingDivergedError;
    expect(e.message).toMatch(/training diverged: the loss is (NaN|Infinity) at epoch \d+, step \d+/);
    expect(e.parameter).toMatch(/^\d\.(weight|bias)$/);
  });

  it('refuses training data holding NaN, naming the sample and feature', () => {
    const x = new Float32Array(12).fill(1);
    x[7] = NaN;
    const ds = new Dataset({ x, y: new Int32Array([0, 1, 0]), features: 4 });
    expect(() => fit(mlp(4, [], 2), { train: ds, progress: 'silent' })).toThrow(
      /non-finite value \(NaN\) at sample 1, feature 3/,
    );
  });

  it("refuses labels beyond the model's outputs before training starts", () => {
    const ds = new Dataset({ x: new Float32Array(6), y: new Int32Array([0, 3]), features: 3 });
    const model = mlp(3, [], 2);
    const before = model.parameters()[0].data.slice();
    expect(() => fit(model, { train: ds, progress: 'silent' })).toThrow(/labels up to 3 but the model has 2 outputs/);
    expect(model.parameters()[0].data).toEqual(before);
  });

  it('refuses data whose width does not match the first layer', () => {
    const ds = new Dataset({ x: new Float32Array(6), y: new Int32Array([0, 1]), features: 3 });
    expect(() => fit(mlp(4, [], 2), { train: ds, progress: 'silent' })).toThrow(
      /3 features a sample but the model's first layer \(0\.weight\) expects 4/,
    );
  });
});

describe('fit: early stopping, progress, predict, save', () => {
  it('early stopping ends the run and restores the best weights', () => {
    manualSeed(2);
    const { train, validation } = digits();
    const model = mlp(64, [16], 10);
    // a learning rate this high makes the validation loss bounce, so patience 0 stops early
    const history = fit(model, {
      train,
      validation,
      epochs: 40,
      optimizer: new SGD(model.parameters(), { lr: 0.5, momentum: 0.9 }),
      earlyStopping: { patience: 0 },
      progress: 'silent',
      seed: 1,
    });
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochs.length).toBeLessThan(40);
    const best = history.epochs.find((e) => e.epoch === history.bestEpoch)!;
    expect(evaluate(model, validation).loss).toBeCloseTo(best.valLoss!, 4);
  });

  it('writes one plain line per epoch when not on a terminal, JSON lines when asked', () => {
    const { train } = digits();
    let text = '';
    const stream = {
      write: (s: string) => {
        text += s;
      },
      isTTY: false,
    };
    fit(mlp(64, [8], 10), { train, epochs: 2, progressStream: stream });
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(text).toMatch(/^epoch 1\/2 {2}loss \d+\.\d{4} {2}acc \d+\.\d\d% {2}lr 0\.001 {2}[\d,]+ samples\/s/);
    text = '';
    fit(mlp(64, [8], 10), { train, epochs: 1, progress: 'json', progressStream: stream });
    const rec = JSON.parse(text.trim());
    expect(rec).toMatchObject({ event: 'epoch', epoch: 1 });
    text = '';
    const tty = {
      write: (s: string) => {
        text += s;
      },
      isTTY: true,
      columns: 100,
    };
    fit(mlp(64, [8], 10), { train, epochs: 1, progressStream: tty });
    expect(text).toContain('\r\x1b[2K');
    expect(text).toMatch(/samples\/s/);
  });

  it('predict and evaluate build no graph and leave the training mode as it was', () => {
    manualSeed(4);
    const { train, test } = digits();
    const model = mlp(64, [32], 10);
    fit(model, { train, epochs: 5, progress: 'silent' });
    const out = predict(model, test);
    expect(out.shape).toEqual([test.length, 10]);
    expect(out.requiresGrad).toBe(false);
    const cls = predictClasses(model, new Tensor(test.x, [test.length, 64]));
    let correct = 0;
    cls.forEach((c, i) => {
      if (c === test.y[i]) correct++;
    });
    expect(correct / test.length).toBeCloseTo(evaluate(model, test).accuracy, 10);
    expect(model.training).toBe(true);
  });

  it('save writes safetensors with the architecture; load and loadModel read it back', () => {
    manualSeed(6);
    const model = mlp(64, [32, 16], 10);
    const file = path.join(tmp, 'model.safetensors');
    save(model, file);
    const tensors = load(file);
    expect(Object.keys(tensors)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']);
    expect(tensors['2.weight'].shape).toEqual([16, 32]);
    const again = loadModel(file);
    expect(again.toString()).toBe(model.toString());
    again.parameters().forEach((p, i) => expect(p.data).toEqual(model.parameters()[i].data));
    expect(() => fit(model, { train: digits().train, epochs: 1, progress: 'silent', resume: file })).toThrow(
      /not a nodegrad checkpoint/,
    );
  });
});
