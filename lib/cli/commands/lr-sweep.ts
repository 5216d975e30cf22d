/**
 * `nodegrad lr-sweep`: the lecture's "effects of step size". Short runs from the same seed (so
 * the same initial weights and batches) at several learning rates, the loss of every step on
 * one plot. A run whose loss stops being finite, or climbs past 10x its first loss, is shown as
 * diverged. The loss is train's: cross-entropy over class labels, the mean squared error over a
 * CSV's float targets (read, and the task chosen, as train does).
 */
import * as path from 'node:path';
import {
  fit,
  lrSweepPlot,
  manualSeed,
  mseLoss,
  softmaxCrossEntropy,
  Preprocessor,
  TrainingDivergedError,
  type Tensor,
} from '../../index.js';
import { UsageError, type CommandSpec, type Parsed } from '../args.js';
import { type Out, refuseCollisions, writeText } from '../io.js';
import { CSV_OPTIONS, csvChoice, dataInputs, loadSplits, noteTaskWarning, taskLine } from '../data.js';
import { OPTIMIZERS, buildOptimizer, buildTaskModel, describeModel } from '../model.js';
import { BACKEND_OPTIONS, DATA_MODEL_OPTIONS, applyBackend } from '../options.js';
import { settings } from './train.js';

export const spec: CommandSpec = {
  name: 'lr-sweep',
  summary:
    'Trains the same model from the same initial weights at several learning rates, plots every\n' +
    "run's loss per step in one chart (lr-sweep.svg), and names the best learning rate.",
  usage: 'nodegrad lr-sweep [options]',
  options: [
    {
      name: 'lrs',
      type: 'numbers',
      min: 0,
      positive: true,
      arg: 'X,Y,...',
      help: 'learning rates to try',
      defaultText: '1e-3,1e-2,1e-1,1,10',
    },
    { name: 'optimizer', type: 'string', choices: OPTIMIZERS, help: 'the optimizer of every run', defaultText: 'sgd' },
    ...DATA_MODEL_OPTIONS,
    ...CSV_OPTIONS,
    { name: 'epochs', type: 'int', min: 1, arg: 'N', help: 'epochs of each run', defaultText: '2' },
    { name: 'batch', type: 'int', min: 1, arg: 'N', help: 'mini-batch size', defaultText: '32' },
    { name: 'seed', type: 'int', min: 0, arg: 'N', help: 'seed of initialisation and shuffling', defaultText: '1' },
    ...BACKEND_OPTIONS,
    { name: 'out', type: 'string', arg: 'DIR', help: 'where lr-sweep.svg goes', defaultText: '.' },
    { name: 'plot', type: 'string', arg: 'FILE', help: 'path of the plot', defaultText: 'DIR/lr-sweep.svg' },
    { name: 'json', type: 'boolean', help: 'JSON lines: one a run, then the best' },
  ],
  examples: [
    'nodegrad lr-sweep',
    'nodegrad lr-sweep --optimizer adam --lrs 1e-4,1e-3,1e-2,0.1',
    'nodegrad lr-sweep --data csv:data/diabetes.csv --task regress --model softmax --lrs 0.01,0.1,1',
  ],
};

interface Run {
  lr: number;
  losses: number[];
  diverged: boolean;
  /** Mean loss over the last tenth of the steps (at least one): less noisy than the last one. */
  final: number;
}

/** Mean of the last tenth of the losses (NaN when there are none). */
function tailLength(losses: number[]): number {
  return Math.max(1, Math.round(losses.length / 10));
}

function tail(losses: number[]): number {
  if (losses.length === 0) return NaN;
  const k = tailLength(losses);
  return losses.slice(-k).reduce((a, b) => a + b, 0) / k;
}

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  const s = settings(o, 'lr-sweep', { optimizer: 'sgd', epochs: 2, batch: 32 });
  const lrs = (o.lrs as number[] | undefined) ?? [1e-3, 1e-2, 1e-1, 1, 10];
  if (new Set(lrs).size !== lrs.length)
    throw new UsageError(`option --lrs has a repeated learning rate: '${lrs.join(',')}'`, 'lr-sweep');
  const plotFile = (o.plot as string | undefined) ?? path.join((o.out as string | undefined) ?? '.', 'lr-sweep.svg');
  const json = o.json === true;
  refuseCollisions('lr-sweep', [{ what: '--plot', file: plotFile }], dataInputs(s.data));
  applyBackend(o);

  const splits = loadSplits(s.data, s.limit, csvChoice(o, s.data, 'lr-sweep'));
  const train = Preprocessor.fit(splits.train).transform(splits.train);
  if (splits.csv !== undefined && !json) out.line(taskLine(splits));
  noteTaskWarning(splits, out);
  let arch = '';
  const runs: Run[] = [];
  for (const lr of lrs) {
    manualSeed(s.seed); // the same initial weights for every run
    const model = buildTaskModel(s.model, s.hidden, train);
    arch = describeModel(model);
    const losses: number[] = [];
    // fit's default loss for the task, each batch's value kept before fit checks it for divergence
    const recorded =
      <T>(loss: (output: Tensor, target: T) => Tensor) =>
      (output: Tensor, target: T): Tensor => {
        const l = loss(output, target);
        losses.push(l.item());
        return l;
      };
    let diverged = false;
    try {
      fit(model, {
        train,
        epochs: s.epochs,
        batchSize: s.batch,
        seed: s.seed,
        progress: 'silent',
        loss:
          train.task === 'regression'
            ? recorded((output, target: Tensor) => mseLoss(output, target))
            : recorded(softmaxCrossEntropy),
        optimizer: buildOptimizer(s.optimizer, model.parameters(), lr, s.weightDecay),
      });
    } catch (err) {
      if (!(err instanceof TrainingDivergedError)) throw err;
      diverged = true;
    }
    const firstLoss = losses.find((v) => Number.isFinite(v));
    if (firstLoss !== undefined && losses.some((v) => !(v <= 10 * firstLoss))) diverged = true;
    const r: Run = { lr, losses, diverged, final: diverged ? NaN : tail(losses) };
    runs.push(r);
    if (json)
      out.json({
        event: 'run',
        lr,
        steps: losses.length,
        diverged,
        finalLoss: diverged ? null : r.final,
        losses: losses.map((v) => (Number.isFinite(v) ? v : null)),
      });
    else {
      const at = losses.findIndex((v) => !(v <= 10 * (firstLoss ?? Infinity))) + 1;
      const what = diverged
        ? `diverged at step ${at} (loss ${losses[at - 1]})`
        : `final loss ${losses[losses.length - 1].toFixed(4)}, mean of the last ${tailLength(losses)} steps ${r.final.toFixed(4)}`;
      out.line(`lr ${String(lr).padEnd(8)} ${what}`);
    }
  }

  let best: Run | null = null;
  for (const r of runs)
    if (!r.diverged && Number.isFinite(r.final) && (best === null || r.final < best.final)) best = r;
  const title = `Learning-rate sweep: ${s.optimizer}, ${s.model} ${arch} on ${splits.name}, batch ${s.batch}`;
  writeText(
    plotFile,
    lrSweepPlot(
      runs.map((r) => ({ lr: r.lr, losses: r.losses, best: r === best })),
      { title },
    ),
  );
  if (json) out.json({ event: 'summary', best: best?.lr ?? null, finalLoss: best?.final ?? null, plot: plotFile });
  else {
    out.line(
      best
        ? `best: lr ${best.lr} (lowest mean loss over the last ${tailLength(best.losses)} steps: ${best.final.toFixed(4)})`
        : 'best: none (every run diverged)',
    );
    out.line(`wrote ${plotFile}`);
  }
  return 0;
}
