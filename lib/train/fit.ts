/**
 * The training loop of the lecture: sample a mini-batch, forward it to the loss, backpropagate,
 * update; evaluate on held-out data after each epoch. Synchronous: it runs on the calling
 * thread (see the worker API to keep an event loop free).
 */
import { Tensor, noGrad, softmaxCrossEntropy, svmLoss, argmax } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import { Dataset, DataLoader, type Batch } from '../data/index.js';
import { Compose, transformList, type Transform } from '../data/transforms.js';
import { l1, huber, mse, type RegressionLossFn } from './losses.js';
import {
  classificationMetrics,
  regressionMetrics,
  type ClassificationMetrics,
  type RegressionMetrics,
} from './metrics.js';
import { type Optimizer, Adam, type lrScheduler } from '../optim/index.js';
import { globalRng } from '../random.js';
import { dataParallel } from '../distributed/ddp.js';
import { checkOptions as checkKeys, optionKeys } from '../options.js';
import type { ProgressMode, ProgressStream } from './progress.js';
import type { EpochRecord, History, StepInfo } from './record.js';
import type { LoadedModel } from './serialize.js';
import type { Preprocessor } from '../data/preprocess.js';
import {
  CallbackList,
  userCallbacks,
  ProgressCallback,
  DivergenceStop,
  SchedulerStep,
  EarlyStoppingCallback,
  ModelCheckpoint,
  resumeFrom,
  type Callback,
  type Callbacks,
  type EarlyStopping,
  type FitContext,
} from './callbacks/index.js';

export type { EpochRecord, History, StepInfo, Callback, Callbacks, EarlyStopping, FitContext, RegressionLossFn };
export type { ClassificationMetrics, RegressionMetrics };

/** What evaluate() reports: the figures that fit the data set's task. */
export type Metrics = ClassificationMetrics | RegressionMetrics;

/**
 * fit's and evaluate's loss: a name or a function. 'crossEntropy' and 'svm' take class labels, 'mse', 'l1' and
 * 'huber' (delta 1) float targets (mean over every element, PyTorch's default); a LossFn is given the labels, a
 * RegressionLossFn the targets as a Tensor [N, K], as the data set's task says.
 */
export type LossChoice = 'crossEntropy' | 'svm' | 'mse' | 'l1' | 'huber' | LossFn | RegressionLossFn;
export { TrainingDivergedError } from './callbacks/index.js';

/**
 * A loss over a batch: the model's output [N, C] and the integer labels (N) in, a scalar Tensor out (e.g.
 * crossEntropy).
 */
export type LossFn = (output: Tensor, labels: Int32Array) => Tensor;

/** Options of fit(). Everything but train has a default; a setting left out is stated here with its value. */
export interface FitOptions {
  /** The training set; each epoch is one shuffled pass over it in batches of batchSize. */
  train: Dataset;
  /**
   * Measured after every epoch (valLoss, valAccuracy in eval mode, without a graph); early stopping and
   * ReduceLROnPlateau monitor it when given. @defaultValue none: no validation figures
   */
  validation?: Dataset;
  /** Total epochs (default 10); a resumed run continues up to this number. */
  epochs?: number;
  /**
   * Samples per optimizer step. Larger batches take fewer steps an epoch, so they need more epochs or a higher lr to
   * reach the same accuracy (a hand-written loop with batch 32 takes 8x the steps of the default). The last, smaller
   * batch is kept. @defaultValue 256
   */
  batchSize?: number;
  /** Default Adam(lr = 1e-3) on the model's parameters. */
  optimizer?: Optimizer<{ lr: number }>;
  /**
   * 'crossEntropy' or 'svm' (the lecture's multiclass hinge loss) for class labels; 'mse', 'l1' or 'huber' for
   * float targets; or a function (see LossChoice). Must fit the training set's task.
   * @defaultValue 'crossEntropy' for class labels, 'mse' for float targets
   */
  loss?: LossChoice;
  /**
   * Stepped as its stepOn says: every epoch, every batch (OneCycleLR), or with the monitored loss
   * (ReduceLROnPlateau). Default: none, the lr stays constant.
   */
  scheduler?: lrScheduler.Scheduler;
  /**
   * Hooks called around the loop (see Callback); run after fit's own progress output and before
   * early stopping. Default: none.
   */
  callbacks?: Callbacks;
  /**
   * Stop once the monitored value has not improved for patience epochs (and put the best weights back). @defaultValue
   * none: train all epochs
   */
  earlyStopping?: EarlyStopping;
  /**
   * 'auto' (a bar on a terminal, lines otherwise; the default, also for true), 'bar', 'lines',
   * 'json', 'silent' or false.
   */
  progress?: ProgressMode | boolean;
  /** Where progress goes (default process.stderr). */
  progressStream?: ProgressStream;
  /** Shuffle each epoch (default true), seeded by `seed` (default: drawn from the global generator). */
  shuffle?: boolean;
  /**
   * Seed of the shuffling order, so a run can be repeated exactly. @defaultValue drawn from the global generator (see
   * manualSeed)
   */
  seed?: number;
  /**
   * Write a checkpoint (model, optimizer, scheduler, epoch, RNG state) to this path after every
   * `checkpointEvery` epochs. Default: none.
   */
  checkpoint?: string;
  /** Epochs between two checkpoints when checkpoint is set. @defaultValue 1 */
  checkpointEvery?: number;
  /** Continue from this checkpoint: the run ends bit-identical to one never interrupted. Default: a fresh start. */
  resume?: string;
  /**
   * Image transforms of the training batches (RandomCrop, RandomHorizontalFlip, Normalize, in
   * order), seeded from the loader's seed; the validation data gets only the deterministic
   * ones (Normalize). Default: none.
   */
  transforms?: Compose | readonly Transform[];
  /**
   * Data-parallel training over the process group of `ng.distributed.init()` (torch's DDP with a
   * DistributedSampler): rank 0's parameters are broadcast, each rank trains on its share of every
   * epoch with batchSize samples a step (the global batch is batchSize x worldSize), gradients are
   * averaged before each step, and the epoch's figures are averaged over the ranks. Only rank 0
   * writes the checkpoint. @defaultValue false
   */
  distributed?: boolean;
}
export const FIT_KEYS = optionKeys<FitOptions>()(
  'train',
  'validation',
  'epochs',
  'batchSize',
  'optimizer',
  'loss',
  'scheduler',
  'callbacks',
  'earlyStopping',
  'progress',
  'progressStream',
  'shuffle',
  'seed',
  'checkpoint',
  'checkpointEvery',
  'resume',
  'transforms',
  'distributed',
);

/** A loss over a batch as the loop uses it: the model's output and the batch's labels or targets. */
type BatchLossFn = (output: Tensor, batch: Batch) => Tensor;

const CLASSIFICATION_LOSSES: Record<string, LossFn> = {
  crossEntropy: softmaxCrossEntropy,
  svm: (out, y) => svmLoss(out, y),
};
const REGRESSION_LOSSES: Record<string, RegressionLossFn> = { mse, l1, huber };

/** The loss for a data set of this task, refusing a named loss of the other task. */
function lossFunction(loss: LossChoice | undefined, ds: Dataset, caller: string): BatchLossFn {
  const regression = ds.task === 'regression';
  const named = regression ? REGRESSION_LOSSES : CLASSIFICATION_LOSSES;
  const name = loss ?? (regression ? 'mse' : 'crossEntropy');
  let fn: LossFn | RegressionLossFn;
  if (typeof loss === 'function') fn = loss;
  else if (typeof name === 'string' && Object.hasOwn(named, name)) fn = named[name];
  else if (
    typeof name === 'string' &&
    (Object.hasOwn(CLASSIFICATION_LOSSES, name) || Object.hasOwn(REGRESSION_LOSSES, name))
  )
    throw new RangeError(
      `${caller}: loss '${name}' is for ${regression ? 'class labels' : 'float targets'}, but the data set ` +
        `${regression ? 'has float targets (regression)' : 'has class labels (classification)'}; ` +
        `use ${Object.keys(named)
          .map((k) => `'${k}'`)
          .join(', ')} or a function`,
    );
  else
    throw new RangeError(
      `${caller}: loss must be 'crossEntropy', 'svm', 'mse', 'l1', 'huber' or a function, got ${String(loss)}`,
    );
  if (!regression) return (out, b) => (fn as LossFn)(out, b.y);
  const k = ds.targetSize;
  return (out, b) => (fn as RegressionLossFn)(out, new Tensor(b.targets, [b.size, k]));
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

/**
 * The shape a model takes n samples of ds in: [n, ...ds.shape] (images as [N, C, H, W]) when its
 * first parameter is a convolution's 4-D weight, else [n, D] (an MLP's rows).
 */
function inputShape(model: Module, ds: Dataset, n: number): number[] {
  const first = model.parameters()[0];
  return first !== undefined && first.shape.length === 4 && ds.shape.length === 3 ? [n, ...ds.shape] : [n, ds.features];
}

/**
 * The sample shape of rows of D features for a model: [D], or for a convolutional one (first
 * parameter [K, C, kH, kW]) square images [C, s, s] with C * s * s = D (flat rows, e.g. a CSV).
 */
function imageShape(model: Module, D: number): number[] {
  const first = model.parameters()[0];
  if (first === undefined || first.shape.length !== 4) return [D];
  const C = first.shape[1],
    s = Math.round(Math.sqrt(D / C));
  if (C * s * s !== D) {
    throw new RangeError(
      `predict: ${D} features a row are not ${C}-channel square images: give the convolutional model [N, C, H, W] input`,
    );
  }
  return [C, s, s];
}

function checkModelFits(model: Module, ds: Dataset, name: string): void {
  const params = model.namedParameters();
  if (params.length === 0) throw new RangeError('fit: the model has no parameters to train');
  const first = params[0][1];
  if (first.shape.length === 2 && first.shape[1] !== ds.features) {
    throw new RangeError(
      `fit: ${name} has ${ds.features} features a sample but the model's first layer (${params[0][0]}) expects ${first.shape[1]}`,
    );
  }
  // one sample through the model tells its number of outputs: every label must be below it
  const wasTraining = model.training;
  model.eval();
  let outputs: number;
  try {
    outputs = noGrad(() => model.forward(new Tensor(ds.x.subarray(0, ds.features), inputShape(model, ds, 1)))).numel;
  } finally {
    model.train(wasTraining);
  }
  if (ds.task === 'regression') {
    if (outputs !== ds.targetSize)
      throw new RangeError(
        `fit: ${name} has ${ds.targetSize} target value${ds.targetSize === 1 ? '' : 's'} a sample but the model has ${outputs} outputs`,
      );
    return;
  }
  let maxLabel = -1;
  for (let i = 0; i < ds.y.length; i++) if (ds.y[i] > maxLabel) maxLabel = ds.y[i];
  if (maxLabel >= outputs) {
    throw new RangeError(
      `fit: ${name} has labels up to ${maxLabel} but the model has ${outputs} outputs (classes 0..${outputs - 1})`,
    );
  }
}

/** The run's state as callbacks see it (FitContext). */
class Run implements FitContext {
  epoch = 0;
  stopRequested = false;
  readonly history: History = { epochs: [], stoppedEarly: false, bestEpoch: 0 };
  readonly steps: number;
  readonly callbacks: CallbackList;

  constructor(
    readonly model: Module,
    readonly optimizer: Optimizer<{ lr: number }>,
    readonly loader: DataLoader,
    readonly epochs: number,
    callbacks: Callback[],
  ) {
    this.steps = loader.length;
    this.callbacks = new CallbackList(callbacks, this);
  }

  stop(): void {
    this.stopRequested = true;
  }

  log(text: string): void {
    this.callbacks.log(text);
  }
}

/** The options' checks, in the order users meet them; gives the defaulted sizes. */
function checkOptions(model: Module, { train, validation, ...o }: FitOptions): { epochs: number; batchSize: number } {
  if (!(train instanceof Dataset)) throw new TypeError('fit: train must be a Dataset');
  if (validation !== undefined && !(validation instanceof Dataset))
    throw new TypeError('fit: validation must be a Dataset');
  const epochs = o.epochs ?? 10;
  checkInt('epochs', epochs, 0);
  const batchSize = o.batchSize ?? 256;
  checkInt('batchSize', batchSize, 1);
  if (train.length === 0) throw new RangeError('fit: the training set is empty');
  // Found before the first epoch, not by the validation or early stopping after it.
  if (validation !== undefined && validation.task !== train.task)
    throw new RangeError(
      `fit: the training set is ${train.task} data but the validation set is ${validation.task} data`,
    );
  if (validation !== undefined && validation.length === 0) {
    throw new RangeError('fit: the validation set is empty (leave validation out to train without one)');
  }
  const monitor = o.earlyStopping?.monitor;
  if (train.task === 'regression' && (monitor === 'accuracy' || monitor === 'valAccuracy'))
    throw new RangeError(
      `fit: earlyStopping.monitor '${monitor}' needs class labels; for float targets monitor 'valLoss' or 'loss'`,
    );
  if (validation === undefined && (monitor === 'valLoss' || monitor === 'valAccuracy')) {
    throw new RangeError(
      `fit: earlyStopping.monitor '${monitor}' needs validation data, and none was given (pass validation, or monitor 'loss')`,
    );
  }
  checkFinite(train, 'the training set');
  if (validation !== undefined) checkFinite(validation, 'the validation set');
  checkModelFits(model, train, 'the training set');
  if (validation !== undefined) checkModelFits(model, validation, 'the validation set');
  return { epochs, batchSize };
}

/**
 * Trains `model` on `options.train`: each epoch one shuffled pass of optimizer steps, then the
 * validation figures, then the callbacks (see Callback for the order of hooks).
 */
export function fit(model: Module, options: FitOptions): History {
  checkKeys('fit', options, FIT_KEYS);
  const { epochs, batchSize } = checkOptions(model, options);
  const { validation } = options;
  const lossFn = lossFunction(options.loss, options.train, 'fit');
  const optimizer = options.optimizer ?? new Adam(model.parameters(), { lr: 1e-3 });
  const shuffle = options.shuffle ?? true;
  // Each rank's crops would have to be seeded by its share of the epoch, which the sampler does
  // not give the transforms yet: refused rather than silently augmenting the same way on every rank.
  if (options.distributed === true && options.transforms !== undefined)
    throw new RangeError('fit: transforms are not supported with distributed: true yet (augment the data set instead)');
  const dist =
    options.distributed === true
      ? dataParallel(model, options.train, { batchSize, shuffle, seed: options.seed })
      : null;
  const callbacks: Callback[] = [
    // first: the gradients are averaged before any other hook sees them, the figures before they are shown
    ...(dist !== null ? [dist.callback] : []),
    new DivergenceStop(),
    ...(options.scheduler !== undefined ? [new SchedulerStep(options.scheduler)] : []),
    new ProgressCallback(options.progress, options.progressStream),
    ...userCallbacks(options.callbacks),
    new EarlyStoppingCallback(options.earlyStopping, validation !== undefined),
  ];
  const checkpointEvery = options.checkpointEvery ?? 1;
  checkInt('checkpointEvery', checkpointEvery, 1);
  if (options.checkpoint !== undefined && (dist === null || dist.rank === 0))
    callbacks.push(new ModelCheckpoint(options.checkpoint, checkpointEvery, () => run.callbacks));

  const loader =
    dist?.loader ??
    new DataLoader(options.train, {
      batchSize,
      shuffle,
      seed: options.seed ?? globalRng.int(2 ** 31),
      transforms: options.transforms,
    });
  const evalTransforms =
    options.transforms === undefined ? undefined : new Compose([...transformList(options.transforms)]).deterministic();
  const run = new Run(model, optimizer, loader, epochs, callbacks);
  if (options.resume !== undefined) {
    run.epoch = resumeFrom(options.resume, run, run.callbacks);
    run.log(`resumed from ${options.resume} after epoch ${run.epoch}`);
  }
  const validate =
    validation === undefined
      ? null
      : () => {
          const m = evaluateWith(model, validation, Math.max(batchSize, 1024), lossFn, evalTransforms);
          return { loss: m.loss, accuracy: m.task === 'classification' ? m.accuracy : Number.NaN };
        };

  const wasTraining = model.training;
  try {
    run.callbacks.trainBegin();
    while (run.epoch < epochs && !run.stopRequested) {
      run.epoch++;
      run.callbacks.epochBegin(run.epoch);
      const record = trainEpoch(run, lossFn, validate);
      run.history.epochs.push(record);
      run.callbacks.epochEnd(record);
    }
    run.callbacks.trainEnd();
  } finally {
    model.train(wasTraining);
  }
  const { history } = run;
  if (history.bestEpoch === 0 && history.epochs.length > 0)
    history.bestEpoch = history.epochs[history.epochs.length - 1].epoch;
  return history;
}

/** One pass of optimizer steps over the training set, then the validation figures. */
function trainEpoch(
  run: Run,
  lossFn: BatchLossFn,
  validate: (() => { loss: number; accuracy: number }) | null,
): EpochRecord {
  const { model, optimizer, loader, epoch, epochs, steps } = run;
  model.train();
  const t0 = performance.now();
  // Accuracy means nothing for float targets: NaN, which progress leaves out.
  const regression = loader.dataset.task === 'regression';
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let step = 0;
  const sample = inputShape(model, loader.dataset, 1).slice(1); // once, not a parameters() walk a step
  for (const batch of loader) {
    step++;
    optimizer.zeroGrad();
    const out = model.forward(new Tensor(batch.x, [batch.size, ...sample]));
    const loss = lossFn(out, batch);
    const batchLoss = loss.item();
    loss.backward();
    run.callbacks.afterBackward({ epoch, step, loss: batchLoss });
    optimizer.step();
    lossSum += batchLoss * batch.size;
    correct += regression ? Number.NaN : countCorrect(out, batch.y);
    seen += batch.size;
    run.callbacks.batchEnd({
      epoch,
      epochs,
      step,
      steps,
      loss: lossSum / seen,
      batchLoss,
      accuracy: correct / seen,
      samplesPerSecond: seen / ((performance.now() - t0) / 1000),
    });
  }
  const record: EpochRecord = {
    epoch,
    loss: lossSum / seen,
    accuracy: correct / seen,
    lr: optimizer.paramGroups[0].lr,
    seconds: 0,
    samplesPerSecond: seen / ((performance.now() - t0) / 1000),
  };
  if (validate !== null) {
    const v = validate();
    record.valLoss = v.loss;
    if (!regression) record.valAccuracy = v.accuracy;
  }
  record.seconds = (performance.now() - t0) / 1000;
  return record;
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
  /** Samples per forward pass; changes speed and memory, not the results. @defaultValue 1024 */
  batchSize?: number;
  /** false feeds the data as it is, skipping the preprocessor a loaded model carries. @defaultValue true */
  preprocess?: boolean;
}
export const INFERENCE_KEYS = optionKeys<InferenceOptions>()('batchSize', 'preprocess');
export const EVALUATE_KEYS = optionKeys<EvaluateOptions>()('batchSize', 'preprocess', 'loss');

/** Options of evaluate(): inference options plus the loss to report. */
export interface EvaluateOptions extends InferenceOptions {
  /** The loss reported as `loss`. @defaultValue 'crossEntropy' for class labels, 'mse' for float targets */
  loss?: LossChoice;
}

/** The model's preprocessor (see loadModel), unless the caller opted out. */
function preprocessorOf(model: Module, opts: InferenceOptions): Preprocessor | undefined {
  return opts.preprocess === false ? undefined : (model as LoadedModel).preprocessor;
}

/**
 * The figures that fit the data set's task, in eval mode, without building a graph: for class labels the loss,
 * accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix; for float targets the loss, MAE, RMSE
 * and R^2 (see metrics.ts). A model that carries a preprocessor (one from loadModel) is given the data's features and
 * standardises them itself.
 */
export function evaluate(model: Module, data: Dataset, opts: EvaluateOptions = {}): Metrics {
  checkKeys('evaluate', opts, EVALUATE_KEYS);
  if (!(data instanceof Dataset)) throw new TypeError('evaluate: data must be a Dataset');
  if (data.length === 0) throw new RangeError('evaluate: the data set is empty');
  const lossFn = lossFunction(opts.loss, data, 'evaluate');
  const pre = preprocessorOf(model, opts);
  if (pre !== undefined) {
    if (pre.task !== data.task)
      throw new RangeError(`evaluate: the model was trained for ${pre.task}, the data set is ${data.task} data`);
    data = pre.transform(data);
  }
  const batchSize = opts.batchSize ?? 1024;
  checkInt('batchSize', batchSize, 1);
  return evaluateWith(model, data, batchSize, lossFn);
}

/** evaluate() on data already fed as the model takes it. */
function evaluateWith(
  model: Module,
  data: Dataset,
  batchSize: number,
  lossFn: BatchLossFn,
  transforms?: Compose,
): Metrics {
  const loader = new DataLoader(data, { batchSize, shuffle: false, transforms });
  const regression = data.task === 'regression';
  const k = data.targetSize;
  const outputs = regression ? new Float32Array(data.length * k) : null;
  const predicted = regression ? null : new Int32Array(data.length);
  let classes = data.numClasses;
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let seen = 0;
  try {
    noGrad(() => {
      const sample = inputShape(model, data, 1).slice(1);
      for (const batch of loader) {
        const out = model.forward(new Tensor(batch.x, [batch.size, ...sample]));
        lossSum += lossFn(out, batch).item() * batch.size;
        if (outputs !== null) outputs.set(out.data, seen * k);
        else {
          predicted!.set(argmax(out, -1), seen);
          classes = Math.max(classes, out.shape[out.shape.length - 1]);
        }
        seen += batch.size;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const loss = lossSum / data.length;
  if (outputs !== null) return { task: 'regression', loss, ...regressionMetrics(outputs, data.targets!, k) };
  return { task: 'classification', loss, ...classificationMetrics(predicted!, data.y, classes) };
}

/**
 * The model's outputs for x ([N, D] tensor, Float32Array of N x D, or a Dataset), in eval mode,
 * without building a graph, in batches; through the model's preprocessor when it has one.
 */
export function predict(model: Module, x: Tensor | Dataset, opts: InferenceOptions = {}): Tensor {
  checkKeys('predict', opts, INFERENCE_KEYS);
  const ds = x instanceof Dataset ? x : null;
  let data = ds ? ds.x : x instanceof Tensor ? x.data : null;
  if (data === null) throw new TypeError('predict: x must be a Tensor [N, D] or a Dataset');
  const xs = x instanceof Tensor ? x.shape : null;
  // a Tensor of 3 or more dims holds its samples whole ([N, C, H, W]); else rows of D
  const D = ds ? ds.features : xs!.length >= 3 ? xs!.slice(1).reduce((a, b) => a * b, 1) : xs![xs!.length - 1];
  const sample = ds ? inputShape(model, ds, 1).slice(1) : xs!.length >= 3 ? xs!.slice(1) : imageShape(model, D);
  const pre = preprocessorOf(model, opts);
  if (pre !== undefined) {
    if (D !== pre.features)
      throw new RangeError(`predict: x has ${D} features a sample, the model's preprocessing takes ${pre.features}`);
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
        const y = model.forward(new Tensor(data.subarray(start * D, (start + n) * D), [n, ...sample]));
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
  checkKeys('predictClasses', opts, INFERENCE_KEYS);
  return argmax(predict(model, x, opts), -1);
}
