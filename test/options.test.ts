// Unknown options are refused everywhere in the public API, with the key that was meant.
import { describe, expect, it } from 'vitest';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkChoice, checkHooks, checkOptions, optionKeys, suggestKey } from '../lib/options.js';
import * as ng from '../lib/index.js';
import { CHOOSE_KEYS } from '../lib/backend/index.js';
import { CIFAR_KEYS } from '../lib/data/cifar.js';
import { CSV_KEYS } from '../lib/data/csv.js';
import { DATASET_KEYS, SPLIT_KEYS, STANDARDIZER_KEYS, TWO_WAY_SPLIT_KEYS } from '../lib/data/dataset.js';
import { DIGITS_KEYS } from '../lib/data/digits.js';
import { IDX_KEYS, MNIST_KEYS } from '../lib/data/idx.js';
import { FIT_KEYS as PREPROCESSOR_FIT_KEYS, INIT_KEYS as PREPROCESSOR_KEYS } from '../lib/data/preprocess.js';
import { DOT_KEYS, SVG_KEYS } from '../lib/graph/draw.js';
import { LOAD_KEYS as SAFETENSORS_KEYS } from '../lib/io/safetensors.js';
import { LINEAR_KEYS } from '../lib/nn/layers.js';
import { LOAD_STATE_DICT_KEYS } from '../lib/nn/module.js';
import {
  LINE_CHART_KEYS,
  LR_SWEEP_KEYS,
  NICE_TICKS_KEYS,
  SERIES_KEYS,
  TRAINING_PLOT_KEYS,
  niceTicks,
} from '../lib/plot/chart.js';
import { RAND_KEYS, RANDN_KEYS, TENSOR_FROM_VALUES_KEYS, TENSOR_KEYS } from '../lib/tensor/create.js';
import { GRADCHECK_KEYS } from '../lib/tensor/gradcheck.js';
import { LOSS_KEYS, SVM_KEYS } from '../lib/tensor/losses.js';
import { BACKWARD_KEYS } from '../lib/tensor/methods.js';
import { EARLY_STOPPING_KEYS } from '../lib/train/callbacks/early-stopping.js';
import { EVALUATE_KEYS, FIT_KEYS, INFERENCE_KEYS } from '../lib/train/fit.js';
import { SAVE_KEYS } from '../lib/train/serialize.js';
import { MODULE_FILE_SOURCE_KEYS, SPEC_SOURCE_KEYS, WORKER_FIT_KEYS } from '../lib/worker/types.js';

const param = (): ng.optim.Param => ({ data: new Float32Array(4), grad: null });

describe('checkOptions', () => {
  const keys = optionKeys<{ lr: number; weightDecay?: number; tMax?: number; betas?: [number, number] }>()(
    'lr',
    'weightDecay',
    'tMax',
    'betas',
  );

  it('accepts undefined and objects whose keys are all known', () => {
    expect(() => checkOptions('X', undefined, keys)).not.toThrow();
    expect(() => checkOptions('X', { lr: 1, weightDecay: 0 }, keys)).not.toThrow();
  });

  it('refuses something that is not an object, quoting it by type', () => {
    expect(() => checkOptions('X', 5, keys)).toThrow(new TypeError('X: options must be an object, got 5'));
    expect(() => checkOptions('X', '5', keys)).toThrow("got '5' (a string)");
    expect(() => checkOptions('X', null, keys)).toThrow('got null');
    expect(() => checkOptions('X', [1], keys)).toThrow('got an array');
  });

  it("turns PyTorch's snake_case into the camelCase key", () => {
    expect(() => checkOptions('Adam', { weight_decay: 0 }, keys)).toThrow(
      new TypeError("unknown option 'weight_decay' for Adam: did you mean 'weightDecay'?"),
    );
    expect(suggestKey('T_max', keys)).toBe('tMax');
  });

  it('knows the names other libraries use and near misses', () => {
    expect(suggestKey('learningRate', keys)).toBe('lr');
    expect(suggestKey('learning_rate', keys)).toBe('lr');
    expect(suggestKey('beta1', keys)).toBe('betas');
    expect(suggestKey('weightDecy', keys)).toBe('weightDecay');
    expect(suggestKey('WEIGHTDECAY', keys)).toBe('weightDecay');
  });

  it('lists the options when nothing is close', () => {
    expect(() => checkOptions('X', { zzzzzz: 1 }, keys)).toThrow(
      "unknown option 'zzzzzz' for X (options: 'lr', 'weightDecay', 'tMax', 'betas')",
    );
  });
});

describe('checkChoice', () => {
  it('returns a valid choice and refuses others with a hint', () => {
    expect(checkChoice('mseLoss', 'reduction', 'sum', ['mean', 'sum', 'none'])).toBe('sum');
    expect(() => checkChoice('mseLoss', 'reduction', 'summ', ['mean', 'sum', 'none'])).toThrow(
      new RangeError("mseLoss: reduction must be one of 'mean', 'sum', 'none', got 'summ' (did you mean 'sum'?)"),
    );
    expect(() => checkChoice('mseLoss', 'reduction', 1, ['mean', 'sum'])).toThrow(TypeError);
  });
});

describe('the public API refuses unknown options', () => {
  it.each([
    [
      'SGD',
      () => new ng.optim.SGD([param()], { lr: 0.1, weight_decay: 1e-4 } as never),
      "unknown option 'weight_decay' for SGD: did you mean 'weightDecay'?",
    ],
    [
      'Adam',
      () => new ng.optim.Adam([param()], { learningRate: 1e-3 } as never),
      "unknown option 'learningRate' for Adam: did you mean 'lr'?",
    ],
    [
      'AdamW',
      () => new ng.optim.AdamW([param()], { amsGrad: true } as never),
      "unknown option 'amsGrad' for AdamW: did you mean 'amsgrad'?",
    ],
    [
      'RMSprop',
      () => new ng.optim.RMSprop([param()], { centred: true } as never),
      "unknown option 'centred' for RMSprop: did you mean 'centered'?",
    ],
    [
      'Adagrad',
      () => new ng.optim.Adagrad([param()], { lr_decay: 0.1 } as never),
      "unknown option 'lr_decay' for Adagrad: did you mean 'lrDecay'?",
    ],
    [
      'a parameter group',
      () => new ng.optim.SGD([{ params: [param()], lr: 0.1, momentun: 0.9 } as never]),
      "unknown option 'momentun' for SGD parameter group: did you mean 'momentum'?",
    ],
    [
      'DataLoader',
      () =>
        new ng.DataLoader(new ng.Dataset({ x: new Float32Array(4), y: new Int32Array(2) }), { batch_size: 2 } as never),
      "unknown option 'batch_size' for DataLoader: did you mean 'batchSize'?",
    ],
    [
      'Linear',
      () => new ng.nn.Linear(2, 2, { bais: false } as never),
      "unknown option 'bais' for Linear: did you mean 'bias'?",
    ],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(new TypeError(message));
  });

  it('still accepts every documented option', () => {
    expect(
      () =>
        new ng.optim.AdamW([param()], {
          lr: 1e-3,
          betas: [0.9, 0.99],
          eps: 1e-8,
          weightDecay: 0,
          amsgrad: true,
          maximize: false,
        }),
    ).not.toThrow();
    expect(new ng.optim.AdamW([param()]).defaults.weightDecay).toBe(1e-2);
  });
});

// Small fixtures for the calls below; each call fails at its options check, before any work.
const { lrScheduler } = ng.optim;
const sgd = () => new ng.optim.SGD([param()], { lr: 0.1, momentum: 0.9 });
const dataset = () =>
  new ng.Dataset({ x: new Float32Array([0, 1, 1, 0, 1, 1, 0, 0]), y: new Int32Array([0, 1, 1, 0]) });
const model = () => new ng.nn.Linear(2, 2);
const weight = () => ng.zeros([3, 2]);
const scores = () =>
  ng.tensor([
    [1, 2],
    [3, 4],
  ]);
const leaf = () => new ng.Value(1, 'x');
const missing = path.join(os.tmpdir(), 'nodegrad-options-test-missing');

describe('every options object of the public API refuses an unknown key, suggesting the one meant', () => {
  it.each<[string, () => unknown, string]>([
    [
      'StepLR',
      () => new lrScheduler.StepLR(sgd(), { step_size: 2 } as never),
      "unknown option 'step_size' for StepLR: did you mean 'stepSize'?",
    ],
    [
      'MultiStepLR',
      () => new lrScheduler.MultiStepLR(sgd(), { milestones: [1], gama: 0.5 } as never),
      "unknown option 'gama' for MultiStepLR: did you mean 'gamma'?",
    ],
    [
      'ExponentialLR',
      () => new lrScheduler.ExponentialLR(sgd(), { gamma: 0.9, last_epoch: -1 } as never),
      "unknown option 'last_epoch' for ExponentialLR: did you mean 'lastEpoch'?",
    ],
    [
      'CosineAnnealingLR',
      () => new lrScheduler.CosineAnnealingLR(sgd(), { T_max: 10 } as never),
      "unknown option 'T_max' for CosineAnnealingLR: did you mean 'tMax'?",
    ],
    [
      'OneCycleLR',
      () => new lrScheduler.OneCycleLR(sgd(), { max_lr: 0.1, totalSteps: 10 } as never),
      "unknown option 'max_lr' for OneCycleLR: did you mean 'maxLr'?",
    ],
    [
      'ReduceLROnPlateau',
      () => new lrScheduler.ReduceLROnPlateau(sgd(), { min_lr: 1e-5 } as never),
      "unknown option 'min_lr' for ReduceLROnPlateau: did you mean 'minLr'?",
    ],
    [
      'optimizerFromSpec',
      () => ng.optim.optimizerFromSpec({ type: 'adam', weight_decay: 0 } as never, [param()]),
      "unknown option 'weight_decay' for Adam: did you mean 'weightDecay'?",
    ],
    [
      'schedulerFromSpec',
      () => ng.optim.schedulerFromSpec({ type: 'cosine', tMax: 5, eta_min: 0 } as never, sgd()),
      "unknown option 'eta_min' for CosineAnnealingLR: did you mean 'etaMin'?",
    ],
    [
      'fit',
      () => ng.fit(model(), { train: dataset(), epoch: 1 } as never),
      "unknown option 'epoch' for fit: did you mean 'epochs'?",
    ],
    [
      'fit earlyStopping',
      () => ng.fit(model(), { train: dataset(), epochs: 0, earlyStopping: { patience: 1, min_delta: 0.1 } as never }),
      "unknown option 'min_delta' for fit earlyStopping: did you mean 'minDelta'?",
    ],
    [
      'fit callbacks',
      () => ng.fit(model(), { train: dataset(), epochs: 0, callbacks: { onEpochEnded() {} } as never }),
      "unknown hook 'onEpochEnded' for fit callbacks: did you mean 'onEpochEnd'?",
    ],
    [
      'evaluate',
      () => ng.evaluate(model(), dataset(), { batch_size: 2 } as never),
      "unknown option 'batch_size' for evaluate: did you mean 'batchSize'?",
    ],
    [
      'predict',
      () => ng.predict(model(), dataset(), { preprocessing: false } as never),
      "unknown option 'preprocessing' for predict: did you mean 'preprocess'?",
    ],
    [
      'predictClasses',
      () => ng.predictClasses(model(), dataset(), { batchsize: 2 } as never),
      "unknown option 'batchsize' for predictClasses: did you mean 'batchSize'?",
    ],
    [
      'save',
      () => ng.save(model(), missing, { preprocessor: ng.Preprocessor.fit(dataset()) } as never),
      "unknown option 'preprocessor' for save: did you mean 'preprocess'?",
    ],
    [
      'Preprocessor',
      () => new ng.Preprocessor({ features: 2, input_scale: 1 } as never),
      "unknown option 'input_scale' for Preprocessor: did you mean 'inputScale'?",
    ],
    [
      'Preprocessor.fit',
      () => ng.Preprocessor.fit(dataset(), { min_std: 0 } as never),
      "unknown option 'min_std' for Preprocessor.fit: did you mean 'minStd'?",
    ],
    [
      'Dataset',
      () => new ng.Dataset({ x: new Float32Array(2), y: new Int32Array(1), num_classes: 2 } as never),
      "unknown option 'num_classes' for Dataset: did you mean 'numClasses'?",
    ],
    [
      'trainValTestSplit',
      () => ng.trainValTestSplit(dataset(), { test_size: 0.25 } as never),
      "unknown option 'test_size' for trainValTestSplit: did you mean 'test'?",
    ],
    [
      'split',
      () => ng.split(dataset(), { random_state: 1 } as never),
      "unknown option 'random_state' for split: did you mean 'seed'?",
    ],
    [
      'split has no validation part',
      () => ng.split(dataset(), { validation: 0.25 } as never),
      "unknown option 'validation' for split (options: 'test', 'seed', 'stratify')",
    ],
    [
      'fitStandardizer',
      () => ng.fitStandardizer(dataset(), { minstd: 0 } as never),
      "unknown option 'minstd' for fitStandardizer: did you mean 'minStd'?",
    ],
    [
      'loadCsv',
      () => ng.loadCsv(missing, { label_column: 0 } as never),
      "unknown option 'label_column' for loadCsv: did you mean 'labelColumn'?",
    ],
    [
      'parseCsv',
      () => ng.parseCsv('1,0\n', { sep: ';' } as never),
      "unknown option 'sep' for parseCsv: did you mean 'delimiter'?",
    ],
    [
      'loadIdx',
      () => ng.loadIdx(missing, missing, { max_bytes: 1 } as never),
      "unknown option 'max_bytes' for loadIdx: did you mean 'maxBytes'?",
    ],
    [
      'loadFashionMnist',
      () => ng.loadFashionMnist(missing, { maxbytes: 1 } as never),
      "unknown option 'maxbytes' for loadFashionMnist: did you mean 'maxBytes'?",
    ],
    [
      'loadMnist',
      () => ng.loadMnist(missing, { numClasses: 10 } as never),
      "unknown option 'numClasses' for loadMnist (options: 'raw', 'maxBytes')",
    ],
    [
      'loadCifar10',
      () => ng.loadCifar10(missing, { Raw: true } as never),
      "unknown option 'Raw' for loadCifar10: did you mean 'raw'?",
    ],
    [
      'loadDigits',
      () => ng.loadDigits({ scaled: false } as never),
      "unknown option 'scaled' for loadDigits (options: 'raw')",
    ],
    [
      'tensor',
      () => ng.tensor([1, 2], { requires_grad: true } as never),
      "unknown option 'requires_grad' for tensor: did you mean 'requiresGrad'?",
    ],
    [
      'zeros',
      () => ng.zeros([2], { dtype: 'float32', device: 'cuda' } as never),
      "unknown option 'device' for zeros (options: 'requiresGrad', 'dtype')",
    ],
    [
      'ones',
      () => ng.ones([2], { requiresgrad: true } as never),
      "unknown option 'requiresgrad' for ones: did you mean 'requiresGrad'?",
    ],
    [
      'full',
      () => ng.full([2], 1, { requiresGrads: true } as never),
      "unknown option 'requiresGrads' for full: did you mean 'requiresGrad'?",
    ],
    [
      'zerosLike',
      () => ng.zerosLike(ng.ones([2]), { requires_grad: true } as never),
      "unknown option 'requires_grad' for zerosLike: did you mean 'requiresGrad'?",
    ],
    [
      'onesLike',
      () => ng.onesLike(ng.ones([2]), { requires_grad: true } as never),
      "unknown option 'requires_grad' for onesLike: did you mean 'requiresGrad'?",
    ],
    [
      'arange',
      () => ng.arange(0, 3, 1, { requires_grad: true } as never),
      "unknown option 'requires_grad' for arange: did you mean 'requiresGrad'?",
    ],
    [
      'randn',
      () => ng.randn([2], { generator: new ng.Rng(1) } as never),
      "unknown option 'generator' for randn: did you mean 'rng'?",
    ],
    ['rand', () => ng.rand([2], { Low: 0 } as never), "unknown option 'Low' for rand: did you mean 'low'?"],
    [
      'softmaxCrossEntropy',
      () => ng.softmaxCrossEntropy(scores(), [0, 1], { label_smoothing: 0.1 } as never),
      "unknown option 'label_smoothing' for softmaxCrossEntropy (options: 'reduction')",
    ],
    [
      'svmLoss',
      () => ng.svmLoss(scores(), [0, 1], { margin: 1 } as never),
      "unknown option 'margin' for svmLoss (options: 'delta', 'reduction')",
    ],
    [
      'mseLoss',
      () => ng.mseLoss(scores(), scores(), { reductions: 'mean' } as never),
      "unknown option 'reductions' for mseLoss: did you mean 'reduction'?",
    ],
    [
      'binaryCrossEntropyWithLogits',
      () => ng.binaryCrossEntropyWithLogits(scores(), scores(), { pos_weight: 2 } as never),
      "unknown option 'pos_weight' for binaryCrossEntropyWithLogits: did you mean 'posWeight'?",
    ],
    [
      'Tensor.softmaxCrossEntropy',
      () => scores().softmaxCrossEntropy([0, 1], { weight: 1 } as never),
      "unknown option 'weight' for softmaxCrossEntropy (options: 'reduction')",
    ],
    [
      'backward',
      () => ng.tensor(1, { requiresGrad: true }).backward(null, { retain_graph: true } as never),
      "unknown option 'retain_graph' for backward: did you mean 'retainGraph'?",
    ],
    [
      'gradcheck',
      () => ng.gradcheck((a) => a, [ng.ones([1], { requiresGrad: true })], { raise_exception: true } as never),
      "unknown option 'raise_exception' for gradcheck: did you mean 'throwOnFail'?",
    ],
    [
      'nn.init.uniform_',
      () => ng.nn.init.uniform_(weight(), 0, 1, { generator: new ng.Rng(1) } as never),
      "unknown option 'generator' for uniform_: did you mean 'rng'?",
    ],
    [
      'nn.init.normal_',
      () => ng.nn.init.normal_(weight(), 0, 1, { Rng: new ng.Rng(1) } as never),
      "unknown option 'Rng' for normal_: did you mean 'rng'?",
    ],
    [
      'nn.init.xavierUniform_',
      () => ng.nn.init.xavierUniform_(weight(), 1, { seed: 1 } as never),
      "unknown option 'seed' for xavierUniform_ (options: 'rng')",
    ],
    [
      'nn.init.xavierNormal_',
      () => ng.nn.init.xavierNormal_(weight(), 1, { gain: 1 } as never),
      "unknown option 'gain' for xavierNormal_ (options: 'rng')",
    ],
    [
      'nn.init.kaimingUniform_',
      () => ng.nn.init.kaimingUniform_(weight(), { non_linearity: 'relu' } as never),
      "unknown option 'non_linearity' for kaimingUniform_: did you mean 'nonlinearity'?",
    ],
    [
      'nn.init.kaimingNormal_',
      () => ng.nn.init.kaimingNormal_(weight(), { model: 'fanIn' } as never),
      "unknown option 'model' for kaimingNormal_: did you mean 'mode'?",
    ],
    [
      'Module.loadStateDict',
      () => model().loadStateDict({}, { Strict: false } as never),
      "unknown option 'Strict' for loadStateDict: did you mean 'strict'?",
    ],
    [
      'toDot',
      () => ng.toDot(leaf(), { rank_dir: 'TB' } as never),
      "unknown option 'rank_dir' for toDot: did you mean 'rankdir'?",
    ],
    [
      'toSvg lays out left to right only',
      () => ng.toSvg(leaf(), { rankdir: 'TB' } as never),
      "unknown option 'rankdir' for toSvg (options: 'title', 'showGrad', 'digits')",
    ],
    [
      'lineChart',
      () => ng.lineChart({ series: [], xlabel: 'x' } as never),
      "unknown option 'xlabel' for lineChart: did you mean 'xLabel'?",
    ],
    [
      'lineChart series',
      () => ng.lineChart({ series: [{ name: 'a', points: [1], colour: 'red' }] } as never),
      "unknown option 'colour' for lineChart series[0]: did you mean 'color'?",
    ],
    [
      'trainingPlot',
      () => ng.trainingPlot([], { layot: 'row' } as never),
      "unknown option 'layot' for trainingPlot: did you mean 'layout'?",
    ],
    [
      'lrSweepPlot',
      () => ng.lrSweepPlot([], { x_label: 'step' } as never),
      "unknown option 'x_label' for lrSweepPlot: did you mean 'xLabel'?",
    ],
    [
      'niceTicks',
      () => niceTicks(0, 1, 5, { integers: true } as never),
      "unknown option 'integers' for niceTicks: did you mean 'integer'?",
    ],
    [
      'loadSafetensors',
      () => ng.loadSafetensors(missing, { max_bytes: 1 } as never),
      "unknown option 'max_bytes' for loadSafetensors: did you mean 'maxBytes'?",
    ],
    [
      'chooseBackend',
      () => ng.chooseBackend({ quiet: true } as never),
      "unknown option 'quiet' for chooseBackend (options: 'warn')",
    ],
  ])('%s', (_name, call, message) => {
    expect(call).toThrow(new TypeError(message));
  });

  it.each<[string, () => ng.WorkerTraining, string]>([
    [
      'fitInWorker',
      () => ng.fitInWorker({ spec: model().spec() }, { train: dataset(), epoch: 1 } as never),
      "unknown option 'epoch' for fitInWorker: did you mean 'epochs'?",
    ],
    [
      'fitInWorker takes no callbacks',
      () => ng.fitInWorker({ spec: model().spec() }, { train: dataset(), callbacks: [] } as never),
      "unknown option 'callbacks' for fitInWorker (options: 'train', 'validation', 'epochs', 'batchSize', 'optimizer', 'loss', 'scheduler', 'earlyStopping', 'shuffle', 'seed', 'checkpoint', 'checkpointEvery', 'resume', 'signal', 'backend', 'threads', 'progressIntervalMs', 'abortGraceMs')",
    ],
    [
      'fitInWorker model { spec }',
      () => ng.fitInWorker({ spec: model().spec(), state_dict: {} } as never, { train: dataset() }),
      "unknown option 'state_dict' for fitInWorker model: did you mean 'stateDict'?",
    ],
    [
      'fitInWorker model { modulePath }',
      () => ng.fitInWorker({ modulePath: missing, export: 'x' } as never, { train: dataset() }),
      "unknown option 'export' for fitInWorker model: did you mean 'exportName'?",
    ],
  ])('%s (the result rejects)', async (_name, start, message) => {
    await expect(start().result).rejects.toThrow(new TypeError(message));
  });
});

describe('what is refused besides unknown keys', () => {
  it("a reduction other than 'mean', 'sum' or 'none', naming the one meant", () => {
    expect(() => ng.mseLoss(scores(), scores(), { reduction: 'batchmean' } as never)).toThrow(
      new RangeError("mseLoss: reduction must be one of 'mean', 'sum', 'none', got 'batchmean'"),
    );
    expect(() => ng.svmLoss(scores(), [0, 1], { reduction: 'None' } as never)).toThrow(RangeError);
    expect(() => ng.softmaxCrossEntropy(scores(), [0, 1], { reduction: 'summ' } as never)).toThrow(
      new RangeError(
        "softmaxCrossEntropy: reduction must be one of 'mean', 'sum', 'none', got 'summ' (did you mean 'sum'?)",
      ),
    );
    const mean = ng.softmaxCrossEntropy(scores(), [0, 1]).item();
    expect(ng.softmaxCrossEntropy(scores(), [0, 1], { reduction: 'mean' }).item()).toBe(mean);
  });

  it("torch's kaiming mode 'fan_in', which used to count as fanOut", () => {
    expect(() => ng.nn.init.kaimingUniform_(weight(), { mode: 'fan_in' } as never)).toThrow(
      new RangeError("kaimingUniform_: mode must be one of 'fanIn', 'fanOut', got 'fan_in' (did you mean 'fanIn'?)"),
    );
  });

  it("Keras's earlyStopping monitor 'val_loss', which used to fail later as needing validation data", () => {
    expect(() =>
      ng.fit(model(), {
        train: dataset(),
        validation: dataset(),
        epochs: 0,
        earlyStopping: { patience: 1, monitor: 'val_loss' as never },
      }),
    ).toThrow(
      new RangeError(
        "fit earlyStopping: monitor must be one of 'valLoss', 'valAccuracy', 'loss', 'accuracy', got 'val_loss' (did you mean 'valLoss'?)",
      ),
    );
  });

  it('a hook of a callback class that fit would never call, with its own state left alone', () => {
    class Logger {
      lines: string[] = [];
      onEpochEnd(): void {
        this.lines.push('epoch');
      }
      on_train_end(): void {}
    }
    expect(() => ng.fit(model(), { train: dataset(), epochs: 0, callbacks: [new Logger()] as never })).toThrow(
      new TypeError("unknown hook 'on_train_end' for fit callbacks[0]: did you mean 'onTrainEnd'?"),
    );
    const ok = {
      count: 0,
      onEpochEnd() {
        this.count++;
      },
      helper() {},
    };
    ng.fit(model(), { train: dataset(), epochs: 2, progress: false, callbacks: ok });
    expect(ok.count).toBe(2);
  });

  it('checkHooks looks at methods named like hooks only, own or inherited', () => {
    expect(() => checkHooks('X', { onEpochEnded: 1, run() {} }, ['onEpochEnd'])).not.toThrow();
    expect(() => checkHooks('X', Object.create({ onEpochEnded() {} }), ['onEpochEnd'])).toThrow(
      "unknown hook 'onEpochEnded' for X: did you mean 'onEpochEnd'?",
    );
  });
});

describe('PyTorch, Keras and scikit-learn names map to ours', () => {
  it.each<[string, string | null, (o: object) => unknown]>([
    ['weight_decay', 'weightDecay', (o) => new ng.optim.Adam([param()], o)],
    ['learning_rate', 'lr', (o) => new ng.optim.Adam([param()], o)],
    ['lr_decay', 'lrDecay', (o) => new ng.optim.Adagrad([param()], o)],
    ['initial_accumulator_value', 'initialAccumulatorValue', (o) => new ng.optim.Adagrad([param()], o)],
    ['step_size', 'stepSize', (o) => new lrScheduler.StepLR(sgd(), o as never)],
    ['T_max', 'tMax', (o) => new lrScheduler.CosineAnnealingLR(sgd(), { tMax: 1, ...o })],
    ['eta_min', 'etaMin', (o) => new lrScheduler.CosineAnnealingLR(sgd(), { tMax: 1, ...o })],
    ['max_lr', 'maxLr', (o) => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 2, ...o })],
    ['total_steps', 'totalSteps', (o) => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, ...o })],
    ['pct_start', 'pctStart', (o) => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 2, ...o })],
    ['anneal_strategy', 'annealStrategy', (o) => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 2, ...o })],
    ['div_factor', 'divFactor', (o) => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 2, ...o })],
    ['min_lr', 'minLr', (o) => new lrScheduler.ReduceLROnPlateau(sgd(), o)],
    ['threshold_mode', 'thresholdMode', (o) => new lrScheduler.ReduceLROnPlateau(sgd(), o)],
    ['verbose', null, (o) => new lrScheduler.ReduceLROnPlateau(sgd(), o)],
    ['batch_size', 'batchSize', (o) => new ng.DataLoader(dataset(), o)],
    ['drop_last', 'dropLast', (o) => new ng.DataLoader(dataset(), o)],
    ['num_workers', null, (o) => new ng.DataLoader(dataset(), o)],
    ['requires_grad', 'requiresGrad', (o) => ng.randn([2], o)],
    ['retain_graph', 'retainGraph', (o) => ng.tensor(1, { requiresGrad: true }).backward(null, o)],
    ['label_smoothing', null, (o) => ng.softmaxCrossEntropy(scores(), [0, 1], o)],
    ['validation_data', 'validation', (o) => ng.fit(model(), { train: dataset(), ...o })],
    ['num_epochs', 'epochs', (o) => ng.fit(model(), { train: dataset(), ...o })],
    ['verbose', 'progress', (o) => ng.fit(model(), { train: dataset(), ...o })],
    [
      'restore_best_weights',
      'restoreBest',
      (o) => ng.fit(model(), { train: dataset(), epochs: 0, earlyStopping: { patience: 1, ...o } }),
    ],
    ['test_size', 'test', (o) => ng.trainValTestSplit(dataset(), o)],
    ['random_state', 'seed', (o) => ng.trainValTestSplit(dataset(), o)],
  ])('%s -> %s', (key, ours, call) => {
    const message = (() => {
      try {
        call({ [key]: 1 });
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    })();
    expect(message).toMatch(new RegExp(`^unknown option '${key}' for `));
    if (ours === null) expect(message).not.toContain('did you mean');
    else expect(message).toMatch(new RegExp(`: did you mean '${ours}'\\?$`));
  });
});

describe('every documented key is still accepted', () => {
  // Each list is declared with optionKeys<TheInterface>() beside its interface, so it holds the
  // interface's keys exactly (it does not compile otherwise). Given every key of its list, each
  // call may fail on the values (a symbol is no valid value) but never on a key; with one key
  // more it fails on that key, which shows the call checks this very list.
  const junk = Symbol('junk');
  const scheduler = ['lastEpoch'];
  const rng = ['rng'];
  it.each<[string, readonly string[], (o: object) => unknown]>([
    ['StepLR', ['stepSize', 'gamma', ...scheduler], (o) => new lrScheduler.StepLR(sgd(), o as never)],
    ['MultiStepLR', ['milestones', 'gamma', ...scheduler], (o) => new lrScheduler.MultiStepLR(sgd(), o as never)],
    ['ExponentialLR', ['gamma', ...scheduler], (o) => new lrScheduler.ExponentialLR(sgd(), o as never)],
    [
      'CosineAnnealingLR',
      ['tMax', 'etaMin', ...scheduler],
      (o) => new lrScheduler.CosineAnnealingLR(sgd(), o as never),
    ],
    [
      'OneCycleLR',
      [
        'maxLr',
        'totalSteps',
        'epochs',
        'stepsPerEpoch',
        'pctStart',
        'annealStrategy',
        'cycleMomentum',
        'baseMomentum',
        'maxMomentum',
        'divFactor',
        'finalDivFactor',
        'threePhase',
        ...scheduler,
      ],
      (o) => new lrScheduler.OneCycleLR(sgd(), o as never),
    ],
    [
      'ReduceLROnPlateau',
      ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'],
      (o) => new lrScheduler.ReduceLROnPlateau(sgd(), o),
    ],
    ['DataLoader', ['batchSize', 'shuffle', 'seed', 'dropLast'], (o) => new ng.DataLoader(dataset(), o)],
    ['nn.init.uniform_', rng, (o) => ng.nn.init.uniform_(weight(), 0, 1, o)],
    ['nn.init.normal_', rng, (o) => ng.nn.init.normal_(weight(), 0, 1, o)],
    ['nn.init.xavierUniform_', rng, (o) => ng.nn.init.xavierUniform_(weight(), 1, o)],
    ['nn.init.xavierNormal_', rng, (o) => ng.nn.init.xavierNormal_(weight(), 1, o)],
    ['nn.init.kaimingUniform_', ['rng', 'a', 'mode', 'nonlinearity'], (o) => ng.nn.init.kaimingUniform_(weight(), o)],
    ['nn.init.kaimingNormal_', ['rng', 'a', 'mode', 'nonlinearity'], (o) => ng.nn.init.kaimingNormal_(weight(), o)],
    ['Linear', LINEAR_KEYS, (o) => new ng.nn.Linear(2, 2, o)],
    ['Module.loadStateDict', LOAD_STATE_DICT_KEYS, (o) => model().loadStateDict({}, o)],
    ['fit', FIT_KEYS, (o) => ng.fit(model(), o as never)],
    [
      'fit earlyStopping',
      EARLY_STOPPING_KEYS,
      (o) => ng.fit(model(), { train: dataset(), epochs: 0, earlyStopping: o as never }),
    ],
    ['evaluate', EVALUATE_KEYS, (o) => ng.evaluate(model(), dataset(), o)],
    ['predict', INFERENCE_KEYS, (o) => ng.predict(model(), dataset(), o)],
    ['predictClasses', INFERENCE_KEYS, (o) => ng.predictClasses(model(), dataset(), o)],
    ['save', SAVE_KEYS, (o) => ng.save(model(), missing, o)],
    ['Preprocessor', PREPROCESSOR_KEYS, (o) => new ng.Preprocessor(o as never)],
    ['Preprocessor.fit', PREPROCESSOR_FIT_KEYS, (o) => ng.Preprocessor.fit(dataset(), o)],
    ['Dataset', DATASET_KEYS, (o) => new ng.Dataset(o as never)],
    ['trainValTestSplit', SPLIT_KEYS, (o) => ng.trainValTestSplit(dataset(), o)],
    ['split', TWO_WAY_SPLIT_KEYS, (o) => ng.split(dataset(), o)],
    ['fitStandardizer', STANDARDIZER_KEYS, (o) => ng.fitStandardizer(dataset(), o)],
    ['loadCsv', CSV_KEYS, (o) => ng.loadCsv(missing, o)],
    ['parseCsv', CSV_KEYS, (o) => ng.parseCsv('1,0\n', o)],
    ['loadIdx', IDX_KEYS, (o) => ng.loadIdx(missing, missing, o)],
    ['loadFashionMnist', MNIST_KEYS, (o) => ng.loadFashionMnist(missing, o)],
    ['loadMnist', MNIST_KEYS, (o) => ng.loadMnist(missing, o)],
    ['loadCifar10', CIFAR_KEYS, (o) => ng.loadCifar10(missing, o)],
    ['loadDigits', DIGITS_KEYS, (o) => ng.loadDigits(o)],
    ['tensor', TENSOR_FROM_VALUES_KEYS, (o) => ng.tensor([1], o)],
    ['zeros', TENSOR_KEYS, (o) => ng.zeros([1], o)],
    ['arange', TENSOR_KEYS, (o) => ng.arange(0, 1, 1, o)],
    ['randn', RANDN_KEYS, (o) => ng.randn([1], o)],
    ['rand', RAND_KEYS, (o) => ng.rand([1], o)],
    ['softmaxCrossEntropy', LOSS_KEYS, (o) => ng.softmaxCrossEntropy(scores(), [0, 1], o)],
    ['svmLoss', SVM_KEYS, (o) => ng.svmLoss(scores(), [0, 1], o)],
    ['backward', BACKWARD_KEYS, (o) => ng.tensor(1, { requiresGrad: true }).backward(null, o)],
    ['gradcheck', GRADCHECK_KEYS, (o) => ng.gradcheck((a) => a, [ng.ones([1], { requiresGrad: true })], o)],
    ['toDot', DOT_KEYS, (o) => ng.toDot(leaf(), o)],
    ['toSvg', SVG_KEYS, (o) => ng.toSvg(leaf(), o)],
    ['lineChart', LINE_CHART_KEYS, (o) => ng.lineChart(o as never)],
    ['lineChart series', SERIES_KEYS, (o) => ng.lineChart({ series: [o as never] })],
    ['trainingPlot', TRAINING_PLOT_KEYS, (o) => ng.trainingPlot([], o)],
    ['lrSweepPlot', LR_SWEEP_KEYS, (o) => ng.lrSweepPlot([], o)],
    ['niceTicks', NICE_TICKS_KEYS, (o) => niceTicks(0, 1, 5, o)],
    ['loadSafetensors', SAFETENSORS_KEYS, (o) => ng.loadSafetensors(missing, o)],
    ['chooseBackend', CHOOSE_KEYS, (o) => ng.chooseBackend(o)],
  ])('%s', (_name, keys, call) => {
    const unknownKey = (o: object): string | null => {
      try {
        call(o);
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        return /^unknown option/.test(m) ? m : null;
      }
      return null;
    };
    const all = Object.fromEntries(keys.map((k) => [k, junk]));
    expect(unknownKey(all)).toBeNull();
    expect(unknownKey({ ...all, zzzzzz: junk })).toMatch(/^unknown option 'zzzzzz' for /);
  });

  it.each<[string, readonly string[], (o: object) => ng.WorkerTraining]>([
    ['fitInWorker', WORKER_FIT_KEYS, (o) => ng.fitInWorker({ spec: model().spec() }, o as never)],
    ['fitInWorker model { spec }', SPEC_SOURCE_KEYS, (o) => ng.fitInWorker(o as never, { train: dataset() })],
    [
      'fitInWorker model { modulePath }',
      MODULE_FILE_SOURCE_KEYS,
      (o) => ng.fitInWorker(o as never, { train: dataset() }),
    ],
  ])('%s', async (_name, keys, start) => {
    const all = Object.fromEntries(keys.map((k) => [k, junk]));
    const settle = (o: object) =>
      start(o).result.then(
        () => 'ok',
        (e: Error) => e.message,
      );
    expect(await settle(all)).not.toMatch(/^unknown option/);
    expect(await settle({ ...all, zzzzzz: junk })).toMatch(/^unknown option 'zzzzzz' for /);
  });
});
