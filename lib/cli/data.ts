/**
 * Data sets on the command line: the --data spec, loading and splitting, and what a model file
 * records of the run that trained it (the spec and --limit, so `eval` finds the same test split).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Dataset,
  trainValTestSplit,
  loadDigits,
  loadFashionMnist,
  loadCifar10,
  loadCsvTable,
  loadSafetensors,
  type Task,
  type TaskInference,
} from '../index.js';
import type { OptionSpec, Parsed } from './args.js';
import { FASHION_MNIST_DIR } from '../data/index.js';
import { UsageError } from './args.js';
import { CliError, requireFile, type NamedPath, type Out } from './io.js';

export type DataKind = 'digits' | 'fashion-mnist' | 'cifar10' | 'csv';

export interface DataSpec {
  kind: DataKind;
  /** The directory or file after the colon. */
  path?: string;
  /** As given on the command line (and saved in the model file). */
  text: string;
}

export const DATA_HELP = 'digits | fashion-mnist[:DIR] | cifar10:DIR | csv:FILE';

export function parseDataSpec(text: string, command: string): DataSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? undefined : text.slice(colon + 1);
  const bad = (msg: string): never => {
    throw new UsageError(msg, command);
  };
  switch (kind) {
    case 'digits':
      if (rest !== undefined) bad(`--data digits takes no path (it is bundled), got '${text}'`);
      return { kind, text };
    case 'fashion-mnist':
      if (rest === '') bad(`--data fashion-mnist:DIR needs a directory after the colon`);
      return { kind, path: rest, text };
    case 'cifar10':
      if (!rest) bad(`--data cifar10 needs the directory of the binary version: --data cifar10:DIR`);
      return { kind, path: rest, text };
    case 'csv':
      if (!rest) bad(`--data csv needs a file: --data csv:FILE`);
      return { kind, path: rest, text };
    default: {
      const kinds = ['digits', 'fashion-mnist', 'cifar10', 'csv'];
      const near = kinds.find((k) => k.startsWith(kind.slice(0, 3)));
      return bad(`option --data must be ${DATA_HELP}, got '${text}'${near ? ` (did you mean ${near}?)` : ''}`);
    }
  }
}

/** The file a data spec reads, which no output may overwrite (directories of IDX or CIFAR files are never written to). */
export function dataInputs(spec: DataSpec): NamedPath[] {
  return spec.kind === 'csv' ? [{ what: '--data', file: spec.path! }] : [];
}

/** How to read a CSV: the target column, the task and the header, as the flags say (all optional). */
export interface CsvChoice {
  /** --target: a column name or 0-based index (negative counts from the end). */
  target?: string;
  /** --task: declared, else inferred. */
  task?: Task;
  /** --header / --no-header: declared, else detected. */
  header?: boolean;
}

/** The flags that say how to read a CSV (train, lr-sweep and eval). */
export const CSV_OPTIONS: OptionSpec[] = [
  {
    name: 'target',
    type: 'string',
    arg: 'NAME|INDEX',
    help: 'csv: the target column, by header name or 0-based index (negative from the end)',
    defaultText: 'the last column',
  },
  {
    name: 'task',
    type: 'string',
    choices: ['classify', 'regress'],
    help: 'csv: class labels or numbers to predict',
    defaultText: 'inferred from the target column, and printed',
  },
  {
    name: 'header',
    type: 'boolean',
    negatable: true,
    help: 'csv: the first line names the columns',
    defaultText: 'when none of its feature cells is a number',
  },
];

/** The CsvChoice the flags give. */
export function csvChoice(o: Parsed['options'], spec: DataSpec, command: string): CsvChoice {
  const given = ['target', 'task', 'header'].filter((k) => o[k] !== undefined);
  if (spec.kind !== 'csv' && given.length > 0)
    throw new UsageError(`--${given[0]} applies to --data csv:FILE, not ${spec.kind}`, command);
  const task = o.task === 'regress' ? 'regression' : o.task === 'classify' ? 'classification' : undefined;
  return { target: o.target as string | undefined, task, header: o.header as boolean | undefined };
}

/** A --target value: an integer is an index, anything else a header name. */
function targetColumn(target: string | undefined): number | string {
  if (target === undefined) return -1;
  return /^[+-]?\d+$/.test(target.trim()) ? Number(target) : target;
}

export interface Splits {
  name: string;
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** What the loader multiplied raw values by (1/16 digits, 1/255 images, 1 CSV). */
  inputScale: number;
  /** 'held-out 20%' or 'the test split'. */
  testSource: string;
  /** For a CSV: how its task was chosen, and the target column's name when it has one. */
  csv?: { inference: TaskInference; target: string };
}

/** The split of digits and CSV data is always the same, whatever --seed says. */
export const SPLIT_SEED = 1234;

/** The fractions of the data held out for validation and (without a test file) for testing. */
const VALIDATION = 0.1;
const TEST = 0.2;
/** The fewest samples whose split gives every set one: Math.round(n * VALIDATION) >= 1. */
const MIN_SAMPLES = Math.ceil(0.5 / VALIDATION);

/** Refuses, before any training, a split that leaves a set empty (--limit 1, a 1-row CSV). */
function checkSplits(
  name: string,
  limit: number | undefined,
  s: { train: Dataset; validation: Dataset; test: Dataset },
): void {
  const empty = (['train', 'validation', 'test'] as const).filter((k) => s[k].length === 0);
  if (empty.length === 0) return;
  const sets =
    empty.length === 1
      ? `the ${empty[0]} set`
      : `the ${empty.slice(0, -1).join(', ')} and ${empty[empty.length - 1]} sets`;
  throw new CliError(
    `${name}${limit !== undefined ? ` with --limit ${limit}` : ''}: too little data: the split leaves ${sets} empty ` +
      `(${s.train.length} train / ${s.validation.length} validation / ${s.test.length} test); ` +
      `at least ${MIN_SAMPLES} training samples are needed`,
  );
}

function first(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.length) return ds;
  return ds.subset(Array.from({ length: limit }, (_, i) => i));
}

/**
 * Loads a data set and splits it: validation = 10% of the training data; test = the data set's
 * own test split when it has one, else a held-out 20%. `limit` keeps the first N samples of
 * each file (train and test) for quick runs. Features are not standardised here.
 */
export function loadSplits(spec: DataSpec, limit?: number, choice: CsvChoice = {}): Splits {
  let all: Dataset | null = null;
  let pair: { train: Dataset; test: Dataset } | null = null;
  let inputScale = 1;
  let name: string = spec.kind;
  let csv: Splits['csv'];
  switch (spec.kind) {
    case 'digits':
      all = loadDigits();
      inputScale = 1 / 16;
      break;
    case 'csv':
      requireFile(spec.path!, 'the --data csv file');
      {
        const t = loadCsvTable(spec.path!, {
          labelColumn: targetColumn(choice.target),
          task: choice.task ?? 'auto',
          header: choice.header ?? 'auto',
        });
        all = t.dataset;
        csv = { inference: t.inference, target: t.columns?.[t.targetColumn] ?? `column ${t.targetColumn + 1}` };
      }
      name = `csv:${path.basename(spec.path!)}`;
      break;
    case 'fashion-mnist': {
      const dir = spec.path ?? FASHION_MNIST_DIR;
      if (!fs.existsSync(dir)) {
        throw new CliError(
          spec.path === undefined
            ? `Fashion-MNIST is not installed in ${dir}: install it with 'apt install dataset-fashion-mnist', or pass --data fashion-mnist:DIR with the four IDX files`
            : `${dir}: directory not found (--data fashion-mnist:DIR needs the four IDX files)`,
        );
      }
      pair = loadFashionMnist(dir);
      inputScale = 1 / 255;
      break;
    }
    case 'cifar10':
      if (!fs.existsSync(spec.path!))
        throw new CliError(
          `${spec.path}: directory not found (--data cifar10:DIR needs the binary version's .bin files)`,
        );
      pair = loadCifar10(spec.path!);
      inputScale = 1 / 255;
      break;
  }
  if (pair !== null) {
    const { train, validation } = trainValTestSplit(first(pair.train, limit), {
      validation: VALIDATION,
      test: 0,
      seed: SPLIT_SEED,
      stratify: true,
    });
    const test = first(pair.test, limit);
    checkSplits(name, limit, { train, validation, test });
    return { name, train, validation, test, inputScale, testSource: 'the test split' };
  }
  const ds = first(all!, limit);
  const { train, validation, test } = trainValTestSplit(ds, {
    validation: VALIDATION,
    test: TEST,
    seed: SPLIT_SEED,
    stratify: true,
  });
  checkSplits(name, limit, { train, validation, test });
  return { name, train, validation, test, inputScale, testSource: 'held-out 20%', ...(csv ? { csv } : {}) };
}

/** `task     regression (inferred: 214 distinct integers in 'target')`, for a CSV's splits. */
export function taskLine(splits: Splits): string {
  const { inference, target } = splits.csv!;
  const why = inference.reason === 'declared' ? '--task' : `inferred: ${inference.reason} in '${target}'`;
  return `task     ${inference.task} (${why})`;
}

/** Says on stderr when the task was inferred from a doubtful target (hundreds of distinct integers). */
export function noteTaskWarning(splits: Splits, out: Out): void {
  if (splits.csv?.inference.warning !== undefined)
    out.note(`nodegrad: warning: ${splits.csv.inference.warning} with --task classify|regress`);
}

// ---- the run a model file records ----

const META = {
  data: 'nodegrad.cli.data',
  limit: 'nodegrad.cli.limit',
  target: 'nodegrad.cli.target',
  header: 'nodegrad.cli.header',
} as const;

export interface RunMeta {
  data?: string;
  limit?: number;
  /** --target as train was given it, so eval reads the same column. */
  target?: string;
  /** --header / --no-header as train was given it. */
  header?: boolean;
}

/** Metadata entries for save(): the data spec and limit `train` used. */
export function runMetadata(m: RunMeta): Record<string, string> {
  const out: Record<string, string> = {};
  if (m.data !== undefined) out[META.data] = m.data;
  if (m.limit !== undefined) out[META.limit] = String(m.limit);
  if (m.target !== undefined) out[META.target] = m.target;
  if (m.header !== undefined) out[META.header] = String(m.header);
  return out;
}

/** The data spec and limit `train` saved next to the weights (absent in files from elsewhere). */
export function readRunMeta(file: string): RunMeta {
  const { metadata } = loadSafetensors(file);
  const out: RunMeta = {};
  if (metadata[META.data] !== undefined) out.data = metadata[META.data];
  if (metadata[META.limit] !== undefined) {
    const limit = Number(metadata[META.limit]);
    if (!Number.isInteger(limit) || limit < 1)
      throw new CliError(`${file}: corrupt nodegrad metadata (limit '${metadata[META.limit]}' is not an integer >= 1)`);
    out.limit = limit;
  }
  if (metadata[META.target] !== undefined) out.target = metadata[META.target];
  if (metadata[META.header] !== undefined) out.header = metadata[META.header] === 'true';
  return out;
}
