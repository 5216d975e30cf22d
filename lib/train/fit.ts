/**
 * The training loop of the lecture: sample a mini-batch, forward it to the loss, backpropagate,
 * update; evaluate on held-out data after each epoch. Synchronous: it runs on the calling
 * thread (see the worker API to keep an event loop free).
 */
import { Tensor, noGrad, softmaxCrossEntropy, svmLoss, argmax } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import { Dataset, DataLoader, type LoaderState } from '../data/index.js';
import { Optimizer, Adam, lrScheduler } from '../optim/index.js';
import { globalRng, type RngState } from '../random.js';
import { makeProgress, type ProgressMode, type StepInfo } from './progress.js';
import { saveTree, loadTree, type LoadedModel } from './serialize.js';
import type { Preprocessor } from '../data/preprocess.js';

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches (weighted by batch size). */
  loss: number;
  /** Training accuracy over the epoch, 0..1 (measured on the fly, in training mode). */
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The first group's learning rate during the epoch's last step. */
  lr: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface History {
  epochs: EpochRecord[];
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** The epoch with the best monitored value (with early stopping), else the last. */
  bestEpoch: number;
}

export type LossFn = (output: Tensor, labels: Int32Array) => Tensor;
type Scheduler = lrScheduler.LRScheduler | lrScheduler.ReduceLROnPlateau;

export interface EarlyStopping {
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Default 'valLoss' (or 'loss' without validation data). */
  monitor?: 'valLoss' | 'valAccuracy' | 'loss' | 'accuracy';
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the best epoch's weights at the end (default true). */
  restoreBest?: boolean;
}

export interface Callbacks {
  /** After every optimizer step. */
  onStep?(info: StepInfo): void;
  /** After every epoch; return false to stop training. */
  onEpochEnd?(record: EpochRecord, history: History): void | boolean;
}

export interface FitOptions {
  train: Dataset;
  validation?: Dataset;
  /** Total epochs (default 10); a resumed run continues up to this number. */
  epochs?: number;
  batchSize?: number;
  /** Default Adam(lr = 1e-3) on the model's parameters. */
  optimizer?: Optimizer<{ lr: number }>;
  /** 'crossEntropy' (default), 'svm' (the lecture's multiclass hinge loss) or a function. */
  loss?: 'crossEntropy' | 'svm' | LossFn;
  /** Stepped every epoch; OneCycleLR every batch; ReduceLROnPlateau with the monitored loss. */
  scheduler?: Scheduler;
  callbacks?: Callbacks;
  earlyStopping?: EarlyStopping;
  /** 'auto' (a bar on a terminal, lines otherwise), 'bar', 'lines', 'json', 'silent' or false. */
  progress?: ProgressMode | boolean;
  /** Where progress goes (default process.stderr). */
  progressStream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Shuffle each epoch (default true), seeded by `seed` (default: drawn from the global generator). */
  shuffle?: boolean;
  seed?: number;
  /** Write a checkpoint (model, optimizer, scheduler, epoch, RNG state) here after every `checkpointEvery` epochs. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Continue from this checkpoint: the run ends bit-identical to one never interrupted. */
  resume?: string;
}

/** Thrown when the loss stops being finite. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
    readonly parameter: string | null,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

function lossFunction(loss: FitOptions['loss']): LossFn {
  if (loss === undefined || loss === 'crossEntropy') return softmaxCrossEntropy;
  if (loss === 'svm') return (out, y) => svmLoss(out, y);
  if (typeof loss === 'function') return loss;
  throw new RangeError(`loss must be 'crossEntropy', 'svm' or a function, got ${String(loss)}`);
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
}

/** Refuses data with NaN or Inf, naming the first bad sample and feature. */
export function checkFinite(ds: Dataset, name: string): void {
  const x = ds.x;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v - v !== 0) {
      const d = ds.features;
      throw new RangeError(`${name} has a non-finite value (${v}) at sample ${Math.floor(i / d)}, feature ${i % d}`);
    }
  }
}

function checkModelFits(model: Module, ds: Dataset, name: string): void {
  const params = model.namedParameters();
  if (params.length === 0) throw new RangeError('fit: the model has no parameters to train');
  const first = params[0][1];
  if (first.shape.length === 2 && first.shape[1] !== ds.features) {
    throw new RangeError(`fit: ${name} has ${ds.features} features a sample but the model's first layer (${params[0][0]}) expects ${first.shape[1]}`);
  }
  // one sample through the model tells its number of outputs: every label must be below it
  const wasTraining = model.training;
  model.eval();
  let outputs: number;
  try {
    outputs = noGrad(() => model.forward(new Tensor(ds.x.subarray(0, ds.features), [1, ds.features]))).numel;
  } finally {
    model.train(wasTraining);
  }
  let maxLabel = -1;
  for (let i = 0; i < ds.y.length; i++) if (ds.y[i] > maxLabel) maxLabel = ds.y[i];
  if (maxLabel >= outputs) {
    throw new RangeError(`fit: ${name} has labels up to ${maxLabel} but the model has ${outputs} outputs (classes 0..${outputs - 1})`);
  }
}

interface CheckpointState {
  epoch: number;
  model: Record<string, Float32Array>;
  /** The parameters' shapes, so resuming with another architecture names both; absent in older checkpoints. */
  shapes?: Record<string, number[]>;
  optimizer: unknown;
  scheduler: unknown;
  rng: RngState;
  loader: LoaderState;
  history: History;
  best: { value: number; epoch: number; bad: number; weights: Record<string, Float32Array> | null };
}

export function fit(model: Module, options: FitOptions): History {
  const { train, validation } = options;
  if (!(train instanceof Dataset)) throw new TypeError('fit: train must be a Dataset');
  if (validation !== undefined && !(validation instanceof Dataset)) throw new TypeError('fit: validation must be a Dataset');
  const epochs = options.epochs ?? 10;
  checkInt('epochs', epochs, 0);
  const batchSize = options.batchSize ?? 256;
  checkInt('batchSize', batchSize, 1);
  if (train.length === 0) throw new RangeError('fit: the training set is empty');
  checkFinite(train, 'the training set');
  if (validation !== undefined) checkFinite(validation, 'the validation set');
  checkModelFits(model, train, 'the training set');
  if (validation !== undefined && validation.length > 0) checkModelFits(model, validation, 'the validation set');
  const lossFn = lossFunction(options.loss);
  const optimizer = options.optimizer ?? new Adam(model.parameters(), { lr: 1e-3 });
  const scheduler = options.scheduler;
  const perBatchScheduler = scheduler instanceof lrScheduler.OneCycleLR;
  const progress = makeProgress(options.progress, options.progressStream);
  const early = options.earlyStopping;
  const monitor = early?.monitor ?? (validation ? 'valLoss' : 'loss');
  if (early !== undefined) checkInt('earlyStopping.patience', early.patience, 0);
  const maximize = monitor === 'valAccuracy' || monitor === 'accuracy';
  const minDelta = early?.minDelta ?? 0;
  const checkpointEvery = options.checkpointEvery ?? 1;
  checkInt('checkpointEvery', checkpointEvery, 1);

  const loader = new DataLoader(train, {
    batchSize,
    shuffle: options.shuffle ?? true,
    seed: options.seed ?? globalRng.int(2 ** 31),
  });
  const named = model.namedParameters();
  const history: History = { epochs: [], stoppedEarly: false, bestEpoch: 0 };
  let best = { value: maximize ? -Infinity : Infinity, epoch: 0, bad: 0, weights: null as Record<string, Float32Array> | null };
  let startEpoch = 0;

  if (options.resume !== undefined) {
    const ck = loadTree(options.resume) as unknown as CheckpointState;
    try {
      model.loadStateDict(Object.fromEntries(named.map(([n, p]) => [n, { shape: ck.shapes?.[n] ?? p.shape, data: ck.model[n] }])));
      optimizer.loadStateDict(ck.optimizer as Parameters<Optimizer['loadStateDict']>[0]);
      if (scheduler !== undefined && ck.scheduler != null) scheduler.loadStateDict(ck.scheduler as Record<string, unknown>);
      globalRng.setState(ck.rng);
      loader.setState(ck.loader);
    } catch (err) {
      throw new Error(`${options.resume}: cannot resume from this checkpoint: ${(err as Error).message}`);
    }
    history.epochs.push(...ck.history.epochs);
    history.bestEpoch = ck.history.bestEpoch;
    best = ck.best;
    startEpoch = ck.epoch;
    progress.message(`resumed from ${options.resume} after epoch ${startEpoch}`);
  }

  const wasTraining = model.training;
  const D = train.features;
  const steps = loader.length;
  try {
    for (let epoch = startEpoch + 1; epoch <= epochs; epoch++) {
      model.train();
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      for (const batch of loader) {
        step++;
        const x = new Tensor(batch.x, [batch.size, D]);
        optimizer.zeroGrad();
        const out = model.forward(x);
        const loss = lossFn(out, batch.y);
        const lossValue = loss.item();
        loss.backward();
        if (!Number.isFinite(lossValue)) throw diverged(lossValue, epoch, step, named);
        optimizer.step();
        if (perBatchScheduler) (scheduler as lrScheduler.LRScheduler).step();
        lossSum += lossValue * batch.size;
        correct += countCorrect(out, batch.y);
        seen += batch.size;
        const info: StepInfo = {
          epoch, epochs, step, steps,
          loss: lossSum / seen,
          accuracy: correct / seen,
          samplesPerSecond: seen / ((performance.now() - t0) / 1000),
        };
        progress.step(info);
        options.callbacks?.onStep?.(info);
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const record: EpochRecord = {
        epoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        lr: optimizer.paramGroups[0].lr,
        seconds: 0,
        samplesPerSecond: seen / trainSeconds,
      };
      if (validation !== undefined) {
        const v = evaluate(model, validation, { batchSize: Math.max(batchSize, 1024), loss: lossFn, preprocess: false });
        record.valLoss = v.loss;
        record.valAccuracy = v.accuracy;
      }
      record.seconds = (performance.now() - t0) / 1000;
      if (scheduler instanceof lrScheduler.ReduceLROnPlateau) scheduler.step(record.valLoss ?? record.loss);
      else if (scheduler !== undefined && !perBatchScheduler) scheduler.step();
      history.epochs.push(record);
      progress.epoch(record, epochs);

      let stop = options.callbacks?.onEpochEnd?.(record, history) === false;
      const value = record[monitor];
      if (value === undefined) throw new RangeError(`earlyStopping.monitor '${monitor}' needs validation data`);
      const improved = maximize ? value > best.value + minDelta : value < best.value - minDelta;
      if (improved) {
        best = { value, epoch, bad: 0, weights: early?.restoreBest === false || !early ? null : snapshot(named) };
        history.bestEpoch = epoch;
      } else {
        best.bad++;
        if (early !== undefined && best.bad > early.patience) {
          history.stoppedEarly = true;
          progress.message(`early stopping: ${monitor} has not improved for ${best.bad} epochs (best ${value === best.value ? value : best.value} at epoch ${best.epoch})`);
          stop = true;
        }
      }
      if (options.checkpoint !== undefined && (epoch % checkpointEvery === 0 || epoch === epochs || stop)) {
        const state: CheckpointState = {
          epoch,
          model: Object.fromEntries(named.map(([n, p]) => [n, p.data])),
          shapes: Object.fromEntries(named.map(([n, p]) => [n, [...p.shape]])),
          optimizer: optimizer.stateDict(),
          scheduler: scheduler?.stateDict() ?? null,
          rng: globalRng.getState(),
          loader: loader.state(),
          history,
          best,
        };
        saveTree(options.checkpoint, state as unknown as Record<string, unknown>);
      }
      if (stop) break;
    }
  } finally {
    model.train(wasTraining);
  }
  if (history.stoppedEarly && best.weights !== null) {
    for (const [n, p] of named) p.data.set(best.weights[n]);
  }
  if (history.bestEpoch === 0 && history.epochs.length > 0) history.bestEpoch = history.epochs[history.epochs.length - 1].epoch;
  return history;
}

function snapshot(named: [string, Tensor][]): Record<string, Float32Array> {
  return Object.fromEntries(named.map(([n, p]) => [n, p.data.slice()]));
}

function diverged(loss: number, epoch: number, step: number, named: [string, Tensor][]): TrainingDivergedError {
  let culprit: string | null = null;
  let what = '';
  for (const [name, p] of named) {
    if (!allFinite(p.data)) {
      culprit = name;
      what = `parameter ${name} holds non-finite values`;
      break;
    }
    if (p.grad !== null && !allFinite(p.grad.data)) {
      culprit = name;
      what = `first non-finite gradient: ${name}`;
      break;
    }
  }
  const detail = culprit === null ? 'every gradient is finite' : what;
  return new TrainingDivergedError(
    `training diverged: the loss is ${loss} at epoch ${epoch}, step ${step} (${detail}); try a smaller learning rate`,
    epoch, step, culprit,
  );
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}

function countCorrect(out: Tensor, y: Int32Array): number {
  if (out.shape.length !== 2) return 0;
  const [n, c] = out.shape;
  const d = out.data;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = d[i * c];
    for (let j = 1; j < c; j++) {
      const v = d[i * c + j];
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    if (best === y[i]) correct++;
  }
  return correct;
}

/** Inference options: `preprocess: false` feeds the data as it is, past the model's preprocessor. */
export interface InferenceOptions {
  batchSize?: number;
  preprocess?: boolean;
}

/** The model's preprocessor (see loadModel), unless the caller opted out. */
function preprocessorOf(model: Module, opts: InferenceOptions): Preprocessor | undefined {
  return opts.preprocess === false ? undefined : (model as LoadedModel).preprocessor;
}

/**
 * Loss and accuracy over a data set, in eval mode, without building a graph. A model that
 * carries a preprocessor (one from loadModel) is given the data's features and standardises them itself.
 */
export function evaluate(
  model: Module,
  data: Dataset,
  opts: InferenceOptions & { loss?: 'crossEntropy' | 'svm' | LossFn } = {},
): { loss: number; accuracy: number } {
  if (!(data instanceof Dataset)) throw new TypeError('evaluate: data must be a Dataset');
  if (data.length === 0) throw new RangeError('evaluate: the data set is empty');
  const lossFn = lossFunction(opts.loss);
  const pre = preprocessorOf(model, opts);
  if (pre !== undefined) data = pre.transform(data);
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 1024, shuffle: false });
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  try {
    noGrad(() => {
      for (const batch of loader) {
        const out = model.forward(new Tensor(batch.x, [batch.size, data.features]));
        lossSum += lossFn(out, batch.y).item() * batch.size;
        correct += countCorrect(out, batch.y);
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length };
}

/**
 * The model's outputs for x ([N, D] tensor, Float32Array of N x D, or a Dataset), in eval mode,
 * without building a graph, in batches; through the model's preprocessor when it has one.
 */
export function predict(model: Module, x: Tensor | Dataset, opts: InferenceOptions = {}): Tensor {
  const ds = x instanceof Dataset ? x : null;
  let data = ds ? ds.x : x instanceof Tensor ? x.data : null;
  if (data === null) throw new TypeError('predict: x must be a Tensor [N, D] or a Dataset');
  const D = ds ? ds.features : (x as Tensor).shape[(x as Tensor).shape.length - 1];
  const pre = preprocessorOf(model, opts);
  if (pre !== undefined) {
    if (D !== pre.features) throw new RangeError(`predict: x has ${D} features a sample, the model's preprocessing takes ${pre.features}`);
    data = pre.transform(data);
  }
  const N = data.length / D;
  const batchSize = opts.batchSize ?? 1024;
  checkInt('batchSize', batchSize, 1);
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let out: Float32Array | null = null;
      let C = 0;
      for (let start = 0; start < N; start += batchSize) {
        const n = Math.min(batchSize, N - start);
        const y = model.forward(new Tensor(data.subarray(start * D, (start + n) * D), [n, D]));
        if (out === null) {
          C = y.numel / n;
          out = new Float32Array(N * C);
        }
        out.set(y.data, start * C);
      }
      return new Tensor(out ?? new Float32Array(0), [N, C]);
    });
  } finally {
    model.train(wasTraining);
  }
}

/** Predicted classes (argmax of the outputs). */
export function predictClasses(model: Module, x: Tensor | Dataset, opts: InferenceOptions = {}): Int32Array {
  return argmax(predict(model, x, opts), -1);
}
