// fit's callbacks: user hooks stop training, change the learning rate, see every batch, keep
// state across a resume; fitInWorker forwards the same events an in-process callback sees.
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDigits } from '../lib/data/index.js';
import { mlp, moduleFromSpec } from '../lib/nn/index.js';
import { SGD } from '../lib/optim/index.js';
import { manualSeed } from '../lib/random.js';
import { fit, type Callback, type EpochRecord, type StepInfo } from '../lib/train/index.js';
import { fitInWorker, type TrainingEvent } from '../lib/worker/index.js';
import { requireBuiltWorker } from './fixtures/dist.js';

const digits = loadDigits();
const train = digits.subset(Array.from({ length: 600 }, (_, i) => i));
const validation = digits.subset(Array.from({ length: 200 }, (_, i) => 600 + i));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-callbacks-'));
const STEPS = Math.ceil(train.length / 100);

describe('user callbacks', () => {
  it('a callback calling ctx.stop() at epoch 2 ends the run after epoch 2', () => {
    const stopAt2: Callback = {
      onEpochEnd: (r, _h, ctx) => {
        if (r.epoch === 2) ctx.stop();
      },
    };
    const history = fit(mlp(64, [8], 10), {
      train,
      epochs: 5,
      batchSize: 100,
      seed: 1,
      progress: false,
      callbacks: [stopAt2],
    });
    expect(history.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(history.stoppedEarly).toBe(false);
  });

  it('the old form still works: onEpochEnd returning false stops, onStep sees every batch', () => {
    let steps = 0;
    const history = fit(mlp(64, [8], 10), {
      train,
      epochs: 5,
      batchSize: 100,
      seed: 1,
      progress: false,
      callbacks: { onStep: () => void steps++, onEpochEnd: (r) => r.epoch < 2 },
    });
    expect(history.epochs).toHaveLength(2);
    expect(steps).toBe(2 * STEPS);
  });

  it('an lr set in onEpochBegin is the one the optimizer steps with', () => {
    manualSeed(3);
    const model = mlp(64, [8], 10);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const weights: Float32Array[] = [];
    const lrsSeen: number[] = [];
    fit(model, {
      train,
      epochs: 3,
      batchSize: 100,
      seed: 1,
      optimizer,
      progress: false,
      callbacks: [
        {
          onEpochBegin: (epoch, ctx) => {
            if (epoch >= 2) ctx.optimizer.paramGroups[0].lr = 0;
          },
          onBatchEnd: (_s, ctx) => void lrsSeen.push(ctx.optimizer.paramGroups[0].lr),
          onEpochEnd: (_r, _h, ctx) => void weights.push(ctx.model.parameters()[0].data.slice()),
        },
      ],
    });
    expect(lrsSeen).toEqual([...new Array(STEPS).fill(0.1), ...new Array(2 * STEPS).fill(0)]);
    // epoch 1 trained; with lr 0 epochs 2 and 3 leave the weights as they were
    expect(weights[1]).toEqual(weights[0]);
    expect(weights[2]).toEqual(weights[0]);
  });

  it('a callback logging every batch sees each step once, in order, with its batch loss', () => {
    const log: StepInfo[] = [];
    fit(mlp(64, [8], 10), {
      train,
      epochs: 2,
      batchSize: 100,
      seed: 1,
      progress: false,
      callbacks: { onBatchEnd: (s) => void log.push(s) },
    });
    expect(log.map((s) => [s.epoch, s.step])).toEqual(
      [1, 2].flatMap((e) => Array.from({ length: STEPS }, (_, i) => [e, i + 1])),
    );
    expect(log.every((s) => s.steps === STEPS && s.epochs === 2 && Number.isFinite(s.batchLoss))).toBe(true);
    // the first step's running mean is its own batch loss
    expect(log[0].loss).toBe(log[0].batchLoss);
  });

  it('calls the hooks in order: train begin, epoch begin, after backward and batch end per step, epoch end, train end', () => {
    const calls: string[] = [];
    const cb: Callback = {
      onTrainBegin: () => void calls.push('trainBegin'),
      onEpochBegin: (e) => void calls.push(`epochBegin ${e}`),
      onAfterBackward: (b) => void calls.push(`afterBackward ${b.step}`),
      onBatchEnd: (s) => void calls.push(`batchEnd ${s.step}`),
      onEpochEnd: (r) => void calls.push(`epochEnd ${r.epoch}`),
      onTrainEnd: (h) => void calls.push(`trainEnd ${h.epochs.length}`),
    };
    fit(mlp(64, [8], 10), {
      train: train.subset([0, 1, 2, 3]),
      epochs: 1,
      batchSize: 2,
      seed: 1,
      progress: false,
      callbacks: cb,
    });
    expect(calls).toEqual([
      'trainBegin',
      'epochBegin 1',
      'afterBackward 1',
      'batchEnd 1',
      'afterBackward 2',
      'batchEnd 2',
      'epochEnd 1',
      'trainEnd 1',
    ]);
  });

  it("a stateful callback's state goes into the checkpoint and comes back on resume", () => {
    const counter = (): Callback & { batches: number } => ({
      batches: 0,
      stateKey: 'counter',
      onBatchEnd() {
        this.batches++;
      },
      stateDict() {
        return { batches: this.batches };
      },
      loadStateDict(s) {
        this.batches = (s as { batches: number }).batches;
      },
    });
    const ck = path.join(tmp, 'counter.ckpt');
    const first = counter();
    fit(mlp(64, [8], 10), {
      train,
      epochs: 2,
      batchSize: 100,
      seed: 1,
      progress: false,
      checkpoint: ck,
      callbacks: first,
    });
    const resumed = counter();
    fit(mlp(64, [8], 10), {
      train,
      epochs: 3,
      batchSize: 100,
      seed: 1,
      progress: false,
      resume: ck,
      callbacks: resumed,
    });
    expect(first.batches).toBe(2 * STEPS);
    expect(resumed.batches).toBe(3 * STEPS);
  });

  it('refuses a callbacks option that is not an object', () => {
    expect(() => fit(mlp(64, [8], 10), { train, epochs: 1, progress: false, callbacks: [null as never] })).toThrow(
      TypeError,
    );
  });
});

describe('fitInWorker forwards the callback events', () => {
  beforeAll(() => {
    requireBuiltWorker();
  });

  it('its step, epoch and message events equal what an in-process callback sees (timings aside)', async () => {
    const spec = mlp(64, [16], 10).spec();
    // a learning rate this high makes the validation loss bounce, so patience 0 logs an early stop
    const opts = { train, validation, epochs: 6, batchSize: 100, seed: 9, earlyStopping: { patience: 0 } };
    const here: TrainingEvent[] = [];
    manualSeed(9);
    const model = moduleFromSpec(spec);
    fit(model, {
      ...opts,
      optimizer: new SGD(model.parameters(), { lr: 0.5, momentum: 0.9 }),
      progress: false,
      callbacks: {
        onBatchEnd: (s) => void here.push({ type: 'step', ...s }),
        onEpochEnd: (r: EpochRecord, _h, ctx) => void here.push({ type: 'epoch', epochs: ctx.epochs, ...r }),
        onLog: (text) => void here.push({ type: 'message', text }),
      },
    });
    const job = fitInWorker(
      { spec },
      { ...opts, optimizer: { type: 'sgd', lr: 0.5, momentum: 0.9 }, progressIntervalMs: 0 },
    );
    const there: TrainingEvent[] = [];
    job.on('progress', (e) => there.push(e));
    await job.result;
    const timeless = (e: TrainingEvent) => {
      const {
        samplesPerSecond: _,
        seconds: __,
        ...rest
      } = e as TrainingEvent & { samplesPerSecond?: number; seconds?: number };
      return rest;
    };
    expect(here.some((e) => e.type === 'message' && e.text.startsWith('early stopping'))).toBe(true);
    expect(there.map(timeless)).toEqual(here.map(timeless));
  });
});
