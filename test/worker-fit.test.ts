// fitInWorker: training in a worker thread gives the same model as fit on this thread, reports
// progress as events and as an async iterator, cancels cleanly, and fails with this thread's
// error classes and the worker's messages. Also: NaN / Inf and out-of-range labels are refused
// with clear errors before training (fit and fitInWorker alike).
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dataset, loadDigits, loadIdx } from '../lib/data/index.js';
import { moduleFromSpec, mlp, type Module, type ModuleSpec } from '../lib/nn/index.js';
import { Adam } from '../lib/optim/index.js';
import { fit, evaluate, TrainingDivergedError } from '../lib/train/fit.js';
import { manualSeed } from '../lib/random.js';
import { backends } from '../lib/backend/index.js';
import {
  fitInWorker,
  shareDataset,
  workerScriptPath,
  AbortError,
  type TrainingEvent,
  type WorkerFitResult,
} from '../lib/worker/index.js';
import { requireBuiltWorker } from './fixtures/dist.js';

const digits = loadDigits();
const train = digits.subset(Array.from({ length: 1400 }, (_, i) => i));
const validation = digits.subset(Array.from({ length: digits.length - 1400 }, (_, i) => 1400 + i));
const spec: ModuleSpec = mlp(64, [32], 10).spec();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-worker-fit-'));

beforeAll(() => {
  requireBuiltWorker();
});

it('runs the compiled worker script from dist/ when nodegrad runs from its TypeScript sources', () => {
  expect(workerScriptPath()).toBe(path.join(__dirname, '..', 'dist', 'worker', 'worker-entry.js'));
});

/** Same bits in every parameter. */
function expectSameWeights(model: Module, sd: WorkerFitResult['stateDict']): void {
  const named = model.namedParameters();
  expect(Object.keys(sd)).toEqual(named.map(([n]) => n));
  for (const [name, p] of named) {
    expect(sd[name].shape, name).toEqual([...p.shape]);
    expect(
      Buffer.from(sd[name].data.buffer).equals(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)),
      `${name} differs`,
    ).toBe(true);
  }
}

/** The message fit throws here for these options, or null. */
function syncError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the synchronous call to throw');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('fitInWorker trains in a worker thread', () => {
  it('returns trained weights that, loaded into moduleFromSpec(spec), classify the validation set', async () => {
    const job = fitInWorker(
      { spec },
      { train, validation, epochs: 4, batchSize: 32, seed: 3, optimizer: { type: 'adam', lr: 5e-3 } },
    );
    const r = await job.result;
    expect(r.history.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(r.spec).toEqual(spec);
    expect(r.backend).toBe(backends().native ? 'native' : 'ts');
    const model = moduleFromSpec(spec);
    model.loadStateDict(r.stateDict);
    const v = evaluate(model, validation);
    expect(v.accuracy).toBeGreaterThan(0.85);
    expect(v.loss).toBeCloseTo(r.history.epochs[3].valLoss as number, 5);
    expect(job.threadId).toBe(-1); // the worker is gone
  });

  it('equals fit on this thread with the same seed, bit for bit (optimizer and scheduler from descriptions)', async () => {
    const opts = { epochs: 3, batchSize: 50, seed: 11 };
    const r = await fitInWorker(
      { spec },
      {
        train,
        ...opts,
        optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
        scheduler: { type: 'step', stepSize: 2, gamma: 0.5 },
      },
    ).result;
    manualSeed(11);
    const model = moduleFromSpec(spec);
    const optimizer = new (await import('../lib/optim/index.js')).SGD(model.parameters(), {
      lr: 0.1,
      momentum: 0.9,
      nesterov: true,
    });
    const { lrScheduler } = await import('../lib/optim/index.js');
    const history = fit(model, {
      train,
      ...opts,
      optimizer,
      scheduler: new lrScheduler.StepLR(optimizer, { stepSize: 2, gamma: 0.5 }),
      progress: false,
    });
    expectSameWeights(model, r.stateDict);
    expect(r.history.epochs.map((e) => [e.loss, e.accuracy, e.lr])).toEqual(
      history.epochs.map((e) => [e.loss, e.accuracy, e.lr]),
    );
  });

  it('fits float targets (regression) as fit on this thread does, bit for bit, and shares the targets', async () => {
    // y = x . w + noise-free offset, two outputs: targets [N, 2] alongside x [N, 3]
    const n = 120;
    const x = new Float32Array(n * 3);
    const t = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) x[i * 3 + j] = Math.sin(i * 1.3 + j * 0.7);
      t[i * 2] = x[i * 3] - 2 * x[i * 3 + 1] + 0.5;
      t[i * 2 + 1] = 0.3 * x[i * 3 + 2];
    }
    const reg = new Dataset({ x, targets: t, targetShape: [2] });
    const regTrain = reg.subset(Array.from({ length: 100 }, (_, i) => i));
    const regValidation = reg.subset(Array.from({ length: 20 }, (_, i) => 100 + i));
    const regSpec = mlp(3, [8], 2).spec();
    const opts = { epochs: 3, batchSize: 16, seed: 4, loss: 'huber' as const };
    const r = await fitInWorker(
      { spec: regSpec },
      { train: regTrain, validation: regValidation, ...opts, optimizer: { type: 'adam', lr: 1e-2 } },
    ).result;
    manualSeed(4);
    const model = moduleFromSpec(regSpec);
    const history = fit(model, {
      train: regTrain,
      validation: regValidation,
      ...opts,
      optimizer: new Adam(model.parameters(), { lr: 1e-2 }),
      progress: false,
    });
    expectSameWeights(model, r.stateDict);
    expect(r.history.epochs.map((e) => [e.loss, e.valLoss])).toEqual(history.epochs.map((e) => [e.loss, e.valLoss]));
    expect(history.epochs[2].valLoss).toBeGreaterThan(0);

    const shared = shareDataset(regTrain);
    expect(shared.task).toBe('regression');
    expect(shared.targetShape).toEqual([2]);
    expect(shared.targets!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.targets).toEqual(regTrain.targets);
    expect(shareDataset(shared)).toBe(shared);
  });

  it('uses a Module as its spec and current weights, and leaves the Module unchanged', async () => {
    const model = mlp(64, [16], 10);
    const before = model.parameters().map((p) => p.data.slice());
    const zero = await fitInWorker(model, { train, epochs: 0 }).result;
    expectSameWeights(model, zero.stateDict);
    const trained = await fitInWorker(model, { train, epochs: 1, seed: 1 }).result;
    model.parameters().forEach((p, i) => expect(p.data).toEqual(before[i]));
    expect(trained.stateDict['0.weight'].data).not.toEqual(before[0]);
  });

  it('builds the model from a module file: a factory called with args, or an instance', async () => {
    const modulePath = path.join(__dirname, 'fixtures', 'worker-model.cjs');
    const r = await fitInWorker({ modulePath, exportName: 'digitsMlp', args: [16] }, { train, epochs: 1, seed: 2 })
      .result;
    expect(r.spec).toEqual(mlp(64, [16], 10).spec());
    expect(r.stateDict['0.weight'].shape).toEqual([16, 64]);
    const tiny = await fitInWorker({ modulePath, exportName: 'tiny' }, { train, epochs: 1, seed: 2 }).result;
    expect(Object.keys(tiny.stateDict)).toEqual(['0.weight', '0.bias']);
    const bad = await rejection(fitInWorker({ modulePath, exportName: 'nope' }, { train, epochs: 1 }).result);
    expect(bad).toBeInstanceOf(TypeError);
    expect(bad.message).toMatch(/has no export 'nope'/);
    const notModel = await rejection(fitInWorker({ modulePath, exportName: 'notAModel' }, { train, epochs: 1 }).result);
    expect(notModel).toBeInstanceOf(TypeError);
    expect(notModel.message).toMatch(/must be an nn.Module/);
  });

  it('shares the data: the caller keeps its arrays (copied once into SharedArrayBuffers)', async () => {
    const mine = train.subset(Array.from({ length: 300 }, (_, i) => i));
    const x = mine.x;
    const copy = x.slice();
    await fitInWorker({ spec }, { train: mine, epochs: 1 }).result;
    expect(mine.x).toBe(x);
    expect(x.buffer.byteLength).toBe(copy.byteLength); // not detached
    expect(x).toEqual(copy); // not changed
    const shared = shareDataset(mine);
    expect(shared.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.y.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.x).toEqual(copy);
    expect(shareDataset(shared)).toBe(shared); // already shared: no copy
  });

  it('the IDX loader returns a shared Dataset, which shareDataset and fitInWorker pass on without a copy', async () => {
    const images = path.join(tmp, 'images.idx');
    const labels = path.join(tmp, 'labels.idx');
    const n = 20;
    fs.writeFileSync(
      images,
      Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 2, 0, 0, 0, 2]), Buffer.alloc(4 * n, 255)]),
    );
    fs.writeFileSync(
      labels,
      Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, n]), Buffer.from(Array.from({ length: n }, (_, i) => i % 2))]),
    );
    const ds = loadIdx(images, labels);
    expect(ds.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ds.y.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shareDataset(ds)).toBe(ds);
    const job = fitInWorker({ spec: mlp(4, [4], 2).spec() }, { train: ds, epochs: 1 });
    expect(job.threadId).toBeGreaterThan(0); // started within the call: no copy to wait for
    await job.result;
  });

  it('copies a Dataset in ordinary memory in slices: the call returns first, and an abort during the copy settles at once', async () => {
    const n = 1 << 18; // 64 MiB of features: many 4 ms slices on any machine
    const big = new Dataset({ x: new Float32Array(64 * n), y: new Int32Array(n), features: 64, numClasses: 10 });
    const job = fitInWorker({ spec }, { train: big, epochs: 1 });
    expect(job.threadId).toBe(-1); // still copying
    await new Promise((r) => setImmediate(r));
    expect(job.threadId).toBe(-1);
    job.abort('stop');
    const err = await rejection(job.result);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.message).toBe('training was aborted before it started');
    expect(job.threadId).toBe(-1);
    expect(big.x.buffer).not.toBeInstanceOf(SharedArrayBuffer); // the caller's arrays stay its own
  });

  it('resumes from a checkpoint written in a worker, ending as a run never interrupted', async () => {
    const ck = path.join(tmp, 'resume.safetensors');
    const base = { train, batchSize: 64, seed: 5, optimizer: { type: 'adam' as const, lr: 3e-3 } };
    const whole = await fitInWorker({ spec }, { ...base, epochs: 2 }).result;
    await fitInWorker({ spec }, { ...base, epochs: 1, checkpoint: ck }).result;
    const messages: string[] = [];
    const job = fitInWorker({ spec }, { ...base, epochs: 2, resume: ck });
    job.on('message', (m) => messages.push(m.text));
    const resumed = await job.result;
    expect(messages).toEqual([`resumed from ${ck} after epoch 1`]);
    for (const [name, t] of Object.entries(whole.stateDict)) expect(resumed.stateDict[name].data, name).toEqual(t.data);
  });
});

describe('fitInWorker progress', () => {
  it('emits step and epoch events, and the same events through the async iterator', async () => {
    const job = fitInWorker({ spec }, { train, validation, epochs: 2, batchSize: 100, seed: 1, progressIntervalMs: 0 });
    const steps: number[] = [];
    const epochs: number[] = [];
    job.on('step', (s) => steps.push(s.step));
    job.on('epoch', (e) => epochs.push(e.epoch));
    const seen: TrainingEvent[] = [];
    for await (const ev of job.progress) seen.push(ev);
    const r = await job.result;
    const perEpoch = Math.ceil(train.length / 100);
    expect(steps).toEqual([
      ...Array.from({ length: perEpoch }, (_, i) => i + 1),
      ...Array.from({ length: perEpoch }, (_, i) => i + 1),
    ]);
    expect(epochs).toEqual([1, 2]);
    expect(seen.filter((e) => e.type === 'step')).toHaveLength(2 * perEpoch);
    const epochEvents = seen.filter((e) => e.type === 'epoch');
    expect(epochEvents.map(({ type: _, epochs: __, ...rec }) => rec)).toEqual(r.history.epochs);
    const step = seen.find((e) => e.type === 'step');
    expect(step).toMatchObject({ type: 'step', epoch: 1, epochs: 2, step: 1, steps: perEpoch });
    for (const k of ['loss', 'accuracy', 'samplesPerSecond'] as const)
      expect(Number.isFinite((step as unknown as Record<string, unknown>)[k])).toBe(true);
  });

  it('throttles step events to progressIntervalMs, always keeping the last step of an epoch', async () => {
    const job = fitInWorker({ spec }, { train, epochs: 2, batchSize: 16, seed: 1, progressIntervalMs: 60_000 });
    const steps: [number, number][] = [];
    job.on('step', (s) => steps.push([s.epoch, s.step]));
    await job.result;
    const last = Math.ceil(train.length / 16);
    // the first step (nothing posted before), then each epoch's last
    expect(steps).toEqual([
      [1, 1],
      [1, last],
      [2, last],
    ]);
  });

  it("ends a late iterator at once, and reports a failed run's error to it", async () => {
    const ok = fitInWorker({ spec }, { train, epochs: 1 });
    await ok.result;
    const late: TrainingEvent[] = [];
    for await (const ev of ok) late.push(ev);
    expect(late).toEqual([]);
    const bad = fitInWorker({ spec: { type: 'Conv9d' } as unknown as ModuleSpec }, { train, epochs: 1 });
    await expect(bad.result).rejects.toThrow(RangeError);
    await expect(
      (async () => {
        for await (const _ of bad.progress) {
          /* nothing */
        }
      })(),
    ).rejects.toThrow(/unknown module type/);
  });
});

describe('fitInWorker cancellation', () => {
  it('stops at the next step boundary when the AbortSignal fires: AbortError, and no worker left', async () => {
    const controller = new AbortController();
    const job = fitInWorker(
      { spec },
      { train, epochs: 1000, batchSize: 1, seed: 1, progressIntervalMs: 0, signal: controller.signal },
    );
    let stepsSeen = 0;
    job.on('step', () => {
      if (++stepsSeen === 3) controller.abort(new Error('user clicked stop'));
    });
    const iterated = (async () => {
      for await (const _ of job.progress) {
        /* drain */
      }
    })();
    const t0 = performance.now();
    const err = await rejection(job.result);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.name).toBe('AbortError');
    expect(err.message).toMatch(/^training was aborted (at epoch \d+, step \d+|after epoch \d+)$/);
    expect((err as Error & { cause: Error }).cause.message).toBe('user clicked stop');
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(job.threadId).toBe(-1);
    await expect(iterated).rejects.toBeInstanceOf(AbortError);
  });

  it('rejects at once, starting no worker, when the signal is already aborted', async () => {
    const job = fitInWorker({ spec }, { train, epochs: 1, signal: AbortSignal.abort() });
    expect(job.threadId).toBe(-1);
    await expect(job.result).rejects.toBeInstanceOf(AbortError);
  });

  it('terminates a worker that does not reach a step boundary within abortGraceMs', async () => {
    const big = mlp(64, [2048, 2048], 10).spec();
    const job = fitInWorker({ spec: big }, { train, epochs: 5, batchSize: 1400, abortGraceMs: 0 });
    await new Promise((r) => setTimeout(r, 300));
    job.abort('stop now');
    const err = await rejection(job.result);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.message).toBe(
      'training was aborted; the worker did not reach a step boundary within 0 ms and was terminated',
    );
    expect(job.threadId).toBe(-1);
    expect((err as Error & { cause: unknown }).cause).toBe('stop now');
  });
});

describe('fitInWorker errors: the same class and message as on this thread', () => {
  it('a bad spec: RangeError', async () => {
    const bad = {
      type: 'Sequential',
      layers: [{ type: 'Linear', inFeatures: 64, outFeatures: -3, bias: true }],
    } as ModuleSpec;
    const here = syncError(() => moduleFromSpec(bad));
    const err = await rejection(fitInWorker({ spec: bad }, { train, epochs: 1 }).result);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(here.message);
    expect(err.stack).toContain('<nodegrad training worker>');
  });

  it('a bad optimizer description or hyper-parameter: RangeError', async () => {
    const unknown = await rejection(fitInWorker({ spec }, { train, optimizer: { type: 'lion' } as never }).result);
    expect(unknown).toBeInstanceOf(RangeError);
    expect(unknown.message).toMatch(/optimizer.type must be 'sgd', 'adam'.*got 'lion'/);
    const here = syncError(() => new Adam(mlp(2, [], 2).parameters(), { lr: -1 }));
    const lr = await rejection(fitInWorker({ spec }, { train, optimizer: { type: 'adam', lr: -1 } }).result);
    expect(lr).toBeInstanceOf(RangeError);
    expect(lr.message).toBe(here.message);
  });

  it('a loss function (not serialisable): TypeError, without starting a worker', async () => {
    const job = fitInWorker({ spec }, { train, loss: (() => null) as never });
    expect(job.threadId).toBe(-1);
    await expect(job.result).rejects.toThrow(TypeError);
  });

  it('diverged training: TrainingDivergedError with the epoch, step and parameter', async () => {
    const opts = { epochs: 2, batchSize: 64, seed: 4 };
    manualSeed(4);
    const model = moduleFromSpec(spec);
    const here = syncError(() =>
      fit(model, { train, ...opts, optimizer: new Adam(model.parameters(), { lr: 1e30 }), progress: false }),
    );
    expect(here).toBeInstanceOf(TrainingDivergedError);
    const err = await rejection(
      fitInWorker({ spec }, { train, ...opts, optimizer: { type: 'adam', lr: 1e30 } }).result,
    );
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err.message).toBe(here.message);
    const d = err as TrainingDivergedError;
    const h = here as TrainingDivergedError;
    expect([d.epoch, d.step, d.parameter]).toEqual([h.epoch, h.step, h.parameter]);
  });
});

describe('NaN, Inf and out-of-range labels are refused before training', () => {
  const withValue = (ds: Dataset, i: number, v: number): Dataset => {
    const x = ds.x.slice();
    x[i] = v;
    return ds.like(x, ds.y.slice());
  };

  it('NaN in the training set: RangeError naming the sample and feature (fit and fitInWorker)', async () => {
    const bad = withValue(train, 3 * 64 + 5, NaN);
    const here = syncError(() => fit(mlp(64, [8], 10), { train: bad, epochs: 1, progress: false }));
    expect(here).toBeInstanceOf(RangeError);
    expect(here.message).toBe('the training set has a non-finite value (NaN) at sample 3, feature 5');
    const err = await rejection(fitInWorker({ spec }, { train: bad, epochs: 1 }).result);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(here.message);
  });

  it('Infinity in the validation set: RangeError (fit and fitInWorker)', async () => {
    const bad = withValue(validation, 10 * 64, -Infinity);
    const message = 'the validation set has a non-finite value (-Infinity) at sample 10, feature 0';
    expect(() => fit(mlp(64, [8], 10), { train, validation: bad, epochs: 1, progress: false })).toThrow(message);
    const err = await rejection(fitInWorker({ spec }, { train, validation: bad, epochs: 1 }).result);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(message);
  });

  it('a label >= numClasses or < 0: RangeError when the Dataset is built', () => {
    const y = train.y.slice(0, 10);
    y[4] = 10;
    expect(() => new Dataset({ x: train.x.slice(0, 640), y, numClasses: 10 })).toThrow(
      new RangeError('labels must be < numClasses = 10, got 10'),
    );
    y[4] = -1;
    expect(() => new Dataset({ x: train.x.slice(0, 640), y })).toThrow(
      new RangeError('labels must be >= 0, got y[4] = -1'),
    );
  });

  it("a label beyond the model's outputs: RangeError before training starts", async () => {
    const y = train.y.slice(0, 64);
    y[7] = 11;
    const ds = new Dataset({ x: train.x.slice(0, 64 * 64), y, numClasses: 12 });
    const model = mlp(64, [8], 10);
    const before = model.parameters().map((p) => p.data.slice());
    const here = syncError(() => fit(model, { train: ds, epochs: 1, batchSize: 64, shuffle: false, progress: false }));
    expect(here).toBeInstanceOf(RangeError);
    expect(here.message).toBe('fit: the training set has labels up to 11 but the model has 10 outputs (classes 0..9)');
    model.parameters().forEach((p, i) => expect(p.data).toEqual(before[i]));
    const err = await rejection(fitInWorker({ spec }, { train: ds, epochs: 1, batchSize: 64, shuffle: false }).result);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(here.message);
  });

  it.skipIf(!backends().native)('the native loss kernel refuses a bad label without writing its output', () => {
    const k = backends().native!;
    const probs = new Float32Array(6).fill(7);
    expect(() => k.softmaxCrossEntropy(new Float32Array(6), Int32Array.of(0, 3), 2, 3, probs)).toThrow(RangeError);
    expect([...probs]).toEqual([7, 7, 7, 7, 7, 7]);
    const d = new Float32Array(6).fill(7);
    expect(() => k.softmaxCrossEntropyBackward(new Float32Array(6), Int32Array.of(-1, 0), 2, 3, d)).toThrow(RangeError);
    expect([...d]).toEqual([7, 7, 7, 7, 7, 7]);
  });
});
