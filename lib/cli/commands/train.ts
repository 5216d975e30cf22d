/** `nodegrad train`: a classifier or a regression model on a data set, its test figures, the model file and a plot. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fit, evaluate, save, trainingPlot, manualSeed, optim, info, Preprocessor, type History } from '../../index.js';
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { type Out, int, refuseCollisions, requireFile, seconds, writeText } from '../io.js';
import {
  CSV_OPTIONS,
  csvChoice,
  dataInputs,
  loadSplits,
  noteTaskWarning,
  parseDataSpec,
  runMetadata,
  taskLine,
  type DataSpec,
} from '../data.js';
import {
  DEFAULT_LR,
  OPTIMIZERS,
  buildOptimizer,
  buildTaskModel,
  describeModel,
  type ModelKind,
  type OptimizerName,
} from '../model.js';
import { headline, metricsJson, shortFigure } from '../report.js';
import { compareWithCheckpoint, flagsCallback, type RunFlags } from '../resume.js';
import { BACKEND_OPTIONS, DATA_MODEL_OPTIONS, applyBackend, describeBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'train',
  summary:
    'Trains a classifier or a regression model (an MLP, or one Linear layer), prints its test\n' +
    'accuracy (R^2, MAE and RMSE for regression), and writes model.safetensors and training.svg.\n\n' +
    'CSV data (--data csv:FILE): one sample a record, every feature a number, one target column\n' +
    '(--target, default the last). A first line whose feature cells are all text is a header\n' +
    '(or say --header / --no-header). Cells may be quoted (RFC 4180: delimiters, doubled quotes and\n' +
    'line breaks inside quotes); CRLF or LF line ends, a UTF-8 BOM and blank lines are fine; a\n' +
    'ragged row or a feature that is not a number is refused, naming its line and column.\n' +
    'The task is inferred from the target and printed: text labels (class names, kept in the model\n' +
    'file) or a few distinct integers classify; other numbers regress (more than 50 distinct\n' +
    'integers regress with a warning). --task classify|regress decides instead.',
  usage: 'nodegrad train [options]',
  options: [
    ...DATA_MODEL_OPTIONS,
    ...CSV_OPTIONS,
    { name: 'epochs', type: 'int', min: 1, arg: 'N', help: 'epochs to train', defaultText: '20 digits/csv, 10 images' },
    { name: 'batch', type: 'int', min: 1, arg: 'N', help: 'mini-batch size', defaultText: '32 digits/csv, 128 images' },
    {
      name: 'optimizer',
      type: 'string',
      choices: OPTIMIZERS,
      help: 'momentum/nesterov = SGD with momentum 0.9',
      defaultText: 'adam',
    },
    {
      name: 'lr',
      type: 'number',
      min: 0,
      positive: true,
      arg: 'X',
      help: 'learning rate',
      defaultText: 'sgd 0.1, momentum/nesterov/adagrad 0.01, others 1e-3',
    },
    {
      name: 'weight-decay',
      type: 'number',
      min: 0,
      arg: 'X',
      help: 'L2 penalty (decoupled for adamw)',
      defaultText: '0; 0.01 for adamw',
    },
    {
      name: 'schedule',
      type: 'string',
      choices: ['none', 'step', 'cosine', 'onecycle', 'plateau'],
      help: 'learning-rate schedule',
      defaultText: 'none; cosine for --model cnn',
    },
    { name: 'seed', type: 'int', min: 0, arg: 'N', help: 'seed of initialisation and shuffling', defaultText: '1' },
    ...BACKEND_OPTIONS,
    { name: 'out', type: 'string', arg: 'DIR', help: 'where model.safetensors and training.svg go', defaultText: '.' },
    {
      name: 'plot',
      type: 'string',
      arg: 'FILE',
      negatable: true,
      help: 'path of the training plot',
      defaultText: 'DIR/training.svg',
    },
    { name: 'checkpoint', type: 'string', arg: 'FILE', help: 'save a resumable checkpoint after every epoch' },
    {
      name: 'resume',
      type: 'string',
      arg: 'FILE',
      help: 'continue from a checkpoint; other flags must match its run (--lr, and --epochs without a step/cosine/onecycle schedule, may change)',
    },
    { name: 'json', type: 'boolean', help: 'JSON lines on stdout: one per epoch, then a summary' },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'print only the test accuracy' },
  ],
  examples: [
    'nodegrad train',
    'nodegrad train --data fashion-mnist:DIR --hidden 256 --epochs 12',
    'nodegrad train --model softmax --optimizer sgd --lr 0.05 --schedule cosine',
    'nodegrad train --data csv:iris.csv --epochs 50 --json',
    'nodegrad train --data csv:data/wine.csv --target class',
    'nodegrad train --data csv:data/diabetes.csv --task regress --model softmax --lr 0.1 --epochs 100',
  ],
};

export interface TrainSettings {
  data: DataSpec;
  limit?: number;
  model: ModelKind;
  hidden: number[];
  epochs: number;
  batch: number;
  optimizer: OptimizerName;
  lr: number;
  weightDecay?: number;
  seed: number;
}

const isImages = (d: DataSpec): boolean => d.kind === 'fashion-mnist' || d.kind === 'cifar10';

/** The flags shared by train and lr-sweep, with their data-dependent defaults. */
export function settings(
  o: Parsed['options'],
  command: string,
  defaults: { optimizer?: OptimizerName; epochs?: number; batch?: number } = {},
): TrainSettings {
  const data = parseDataSpec((o.data as string | undefined) ?? 'digits', command);
  const optimizer = (o.optimizer as OptimizerName | undefined) ?? defaults.optimizer ?? 'adam';
  const model = (o.model as ModelKind | undefined) ?? 'mlp';
  if (model !== 'mlp' && o.hidden !== undefined)
    throw new UsageError(`--hidden applies to --model mlp, not ${model}`, command);
  if (model === 'cnn' && !isImages(data))
    throw new UsageError('--model cnn needs image data: --data fashion-mnist or cifar10:DIR', command);
  const hidden = (o.hidden as number[] | undefined) ?? (isImages(data) ? [256, 128] : [128, 64]);
  if (hidden.some((h) => !Number.isInteger(h)))
    throw new UsageError(`option --hidden must be a list of integers, got '${hidden.join(',')}'`, command);
  return {
    data,
    limit: o.limit as number | undefined,
    model,
    hidden,
    epochs: (o.epochs as number | undefined) ?? defaults.epochs ?? (isImages(data) ? 10 : 20),
    // the CNN as the anchor trains it (batch 64); MLPs on images take larger batches
    batch: (o.batch as number | undefined) ?? defaults.batch ?? (model === 'cnn' ? 64 : isImages(data) ? 128 : 32),
    optimizer,
    lr: (o.lr as number | undefined) ?? DEFAULT_LR[optimizer],
    weightDecay: o['weight-decay'] as number | undefined,
    seed: (o.seed as number | undefined) ?? 1,
  };
}

type Scheduler = optim.lrScheduler.Scheduler;

function buildScheduler(
  name: string,
  opt: optim.Optimizer<{ lr: number }>,
  s: TrainSettings,
  stepsPerEpoch: number,
): Scheduler | undefined {
  const spec: optim.SchedulerSpec | undefined =
    name === 'step'
      ? { type: 'step', stepSize: Math.max(1, Math.round(s.epochs / 3)), gamma: 0.1 }
      : name === 'cosine'
        ? { type: 'cosine', tMax: s.epochs }
        : name === 'onecycle'
          ? { type: 'onecycle', maxLr: s.lr, epochs: s.epochs, stepsPerEpoch }
          : name === 'plateau'
            ? { type: 'plateau', factor: 0.5, patience: 2 }
            : undefined;
  return spec === undefined ? undefined : optim.schedulerFromSpec(spec, opt);
}

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  const s = settings(o, 'train');
  // the CNN overfits Fashion-MNIST at a constant rate after a few epochs; cosine decay gets it past 92%
  const schedule = (o.schedule as string | undefined) ?? (s.model === 'cnn' ? 'cosine' : 'none');
  const outDir = (o.out as string | undefined) ?? '.';
  const plotFile = o.plot === false ? null : ((o.plot as string | undefined) ?? path.join(outDir, 'training.svg'));
  const modelFile = path.join(outDir, 'model.safetensors');
  const json = o.json === true;
  const quiet = o.quiet === true;
  if (o.resume !== undefined) requireFile(o.resume as string, 'the --resume checkpoint');
  refuseCollisions(
    'train',
    [
      { what: 'the model file (--out)', file: modelFile },
      ...(plotFile !== null ? [{ what: '--plot', file: plotFile }] : []),
      ...(o.checkpoint !== undefined ? [{ what: '--checkpoint', file: o.checkpoint as string }] : []),
    ],
    [...(o.resume !== undefined ? [{ what: '--resume', file: o.resume as string }] : []), ...dataInputs(s.data)],
    (out, input) => out.what === '--checkpoint' && input.what === '--resume',
  );
  const flags: RunFlags = {
    data: s.data.text,
    limit: s.limit ?? null,
    target: (o.target as string | undefined) ?? null,
    task: (o.task as string | undefined) ?? null,
    header: (o.header as boolean | undefined) ?? null,
    model: s.model,
    hidden: s.model === 'mlp' ? s.hidden.join(',') : '',
    batch: s.batch,
    optimizer: s.optimizer,
    lr: s.lr,
    'weight-decay': s.weightDecay ?? null,
    schedule,
    seed: s.seed,
    epochs: s.epochs,
  };
  const resumed = o.resume !== undefined ? compareWithCheckpoint(o.resume as string, flags) : null;
  applyBackend(o);

  const t0 = performance.now();
  const choice = csvChoice(o, s.data, 'train');
  const splits = loadSplits(s.data, s.limit, choice);
  const regression = splits.train.task === 'regression';
  const pre = Preprocessor.fit(splits.train, { inputScale: splits.inputScale });
  const train = pre.transform(splits.train);
  const validation = pre.transform(splits.validation);
  const test = pre.transform(splits.test);

  manualSeed(s.seed);
  const model = buildTaskModel(s.model, s.hidden, train);
  const optimizer = buildOptimizer(s.optimizer, model.parameters(), s.lr, s.weightDecay);
  const stepsPerEpoch = Math.ceil(train.length / s.batch);
  const scheduler = buildScheduler(schedule, optimizer, s, stepsPerEpoch);
  const arch = `${s.model} ${describeModel(model)}`;

  if (json) {
    out.json({
      event: 'start',
      data: s.data.text,
      train: train.length,
      validation: validation.length,
      test: test.length,
      features: train.features,
      task: train.task,
      ...(regression ? { target: splits.csv?.target ?? null } : { classes: train.numClasses }),
      model: arch,
      parameters: model.numParameters(),
      optimizer: s.optimizer,
      lr: s.lr,
      weightDecay: s.weightDecay ?? null,
      schedule,
      epochs: s.epochs,
      batch: s.batch,
      seed: s.seed,
      backend: info().backend,
    });
  } else if (!quiet) {
    out.line(
      `data     ${splits.name}: ${int(train.length)} train / ${int(validation.length)} validation / ${int(test.length)} test (${splits.testSource}), ${train.features} features, ${regression ? `target '${splits.csv?.target}'` : `${train.numClasses} classes`}`,
    );
    if (splits.csv !== undefined) out.line(taskLine(splits));
    out.line(
      `model    ${arch} (${int(model.numParameters())} parameters), ${s.optimizer} lr ${s.lr}${s.weightDecay !== undefined ? ` weight decay ${s.weightDecay}` : ''}${schedule !== 'none' ? `, ${schedule} schedule` : ''}, batch ${s.batch}, ${s.epochs} epochs, seed ${s.seed}`,
    );
    out.line(`backend  ${describeBackend()}`);
  }

  noteTaskWarning(splits, out);
  for (const note of resumed?.notes ?? []) out.note(note);
  const history: History = fit(model, {
    train,
    validation,
    epochs: s.epochs,
    batchSize: s.batch,
    optimizer,
    scheduler,
    seed: s.seed,
    progress: json ? 'json' : quiet ? 'silent' : 'auto',
    progressStream: out.io.stdout,
    checkpoint: o.checkpoint as string | undefined,
    resume: o.resume as string | undefined,
    callbacks: [flagsCallback(flags), ...(resumed?.callback ? [resumed.callback] : [])],
  });
  const result = evaluate(model, test);

  fs.mkdirSync(outDir, { recursive: true });
  save(model, modelFile, {
    preprocess: pre,
    metadata: runMetadata({ data: s.data.text, limit: s.limit, target: choice.target, header: choice.header }),
  });
  if (plotFile !== null) {
    const title = `${arch} on ${splits.name}: ${shortFigure(result)}`;
    writeText(plotFile, trainingPlot(history.epochs, { title }));
  }
  const elapsed = (performance.now() - t0) / 1000;

  if (json) {
    const last = history.epochs[history.epochs.length - 1];
    out.json({
      event: 'summary',
      ...metricsJson(result),
      testSamples: test.length,
      valAccuracy: last?.valAccuracy ?? null,
      epochs: history.epochs.length,
      seconds: elapsed,
      model: modelFile,
      plot: plotFile,
    });
  } else {
    out.line(headline(result, test.length));
    if (!quiet) {
      out.line(`wrote ${modelFile}${plotFile !== null ? ` and ${plotFile}` : ''} in ${seconds(elapsed)}`);
    }
  }
  return 0;
}
