/**
 * What the CLI's commands share: the output streams, data sets and their splits, the
 * preprocessing saved with a model, and building models and optimizers from flags.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Dataset, trainValTestSplit, fitStandardizer, loadDigits, loadFashionMnist, loadCifar10, loadCsv,
  loadSafetensors, nn, optim, info, setBackend, setNumThreads, type BackendName,
} from '../index.js';
import { MAX_THREADS } from '../backend/index.js';
import { FASHION_MNIST_DIR } from '../data/index.js';
import { UsageError, type OptionSpec } from './args.js';

export interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: Stream;
  stderr: Stream;
  /** Reads all of standard input (for `--input -`); default fs.readFileSync(0). */
  readStdin?: () => string;
}

/** Prints lines to stdout / stderr. */
export class Out {
  constructor(readonly io: Io) {}
  line(s = ''): void {
    this.io.stdout.write(`${s}\n`);
  }
  json(obj: unknown): void {
    this.io.stdout.write(`${JSON.stringify(obj)}\n`);
  }
  note(s: string): void {
    this.io.stderr.write(`${s}\n`);
  }
}

/** An error the user can fix (a missing file, data that is not there): one line, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}

export function requireFile(file: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CliError(`${file}: file not found (${what})`);
  }
  if (st.isDirectory()) throw new CliError(`${file}: is a directory, not a file (${what})`);
}

// ---- data ----

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

export interface Splits {
  name: string;
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** What the loader multiplied raw values by (1/16 digits, 1/255 images, 1 CSV). */
  inputScale: number;
  /** 'held-out 20%' or 'the test split'. */
  testSource: string;
}

/** The split of digits and CSV data is always the same, whatever --seed says. */
export const SPLIT_SEED = 1234;

function first(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.length) return ds;
  return ds.subset(Array.from({ length: limit }, (_, i) => i));
}

/**
 * Loads a data set and splits it: validation = 10% of the training data; test = the data set's
 * own test split when it has one, else a held-out 20%. `limit` keeps the first N samples of
 * each file (train and test) for quick runs. Features are not standardised here.
 */
export function loadSplits(spec: DataSpec, limit?: number): Splits {
  let all: Dataset | null = null;
  let pair: { train: Dataset; test: Dataset } | null = null;
  let inputScale = 1;
  let name: string = spec.kind;
  switch (spec.kind) {
    case 'digits':
      all = loadDigits();
      inputScale = 1 / 16;
      break;
    case 'csv':
      requireFile(spec.path!, 'the --data csv file');
      all = loadCsv(spec.path!);
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
      if (!fs.existsSync(spec.path!)) throw new CliError(`${spec.path}: directory not found (--data cifar10:DIR needs the binary version's .bin files)`);
      pair = loadCifar10(spec.path!);
      inputScale = 1 / 255;
      break;
  }
  if (pair !== null) {
    const { train, validation } = trainValTestSplit(first(pair.train, limit), { validation: 0.1, test: 0, seed: SPLIT_SEED, stratify: true });
    return { name, train, validation, test: first(pair.test, limit), inputScale, testSource: 'the test split' };
  }
  const ds = first(all!, limit);
  const { train, validation, test } = trainValTestSplit(ds, { validation: 0.1, test: 0.2, seed: SPLIT_SEED, stratify: true });
  return { name, train, validation, test, inputScale, testSource: 'held-out 20%' };
}

// ---- preprocessing saved with the model ----

export interface Preprocess {
  /** Raw input values are multiplied by this first (1/16 digits, 1/255 images). */
  inputScale: number;
  mean: Float32Array;
  std: Float32Array;
}

/** (x - mean) / std per feature, the same float arithmetic in train, eval and predict. */
export function standardize(x: Float32Array, p: Pick<Preprocess, 'mean' | 'std'>): Float32Array {
  const d = p.mean.length;
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += d) {
    for (let j = 0; j < d; j++) out[o + j] = (x[o + j] - p.mean[j]) / p.std[j];
  }
  return out;
}

export function standardizeDataset(ds: Dataset, p: Preprocess): Dataset {
  if (ds.features !== p.mean.length) {
    throw new CliError(`the data has ${ds.features} features a sample, the model expects ${p.mean.length}`);
  }
  return ds.like(standardize(ds.x, p), ds.y.slice());
}

export function fitPreprocess(train: Dataset, inputScale: number): Preprocess {
  const s = fitStandardizer(train);
  return { inputScale, mean: s.mean, std: s.std };
}

const META = {
  data: 'nodegrad.cli.data',
  limit: 'nodegrad.cli.limit',
  preprocess: 'nodegrad.cli.preprocess',
  classes: 'nodegrad.cli.classes',
} as const;

export interface ModelMeta {
  data?: string;
  limit?: number;
  preprocess?: Preprocess;
  classNames?: string[];
}

export function metadataFor(m: { data: string; limit?: number; preprocess: Preprocess; classNames?: readonly string[] }): Record<string, string> {
  const out: Record<string, string> = {
    [META.data]: m.data,
    [META.preprocess]: JSON.stringify({ inputScale: m.preprocess.inputScale, mean: Array.from(m.preprocess.mean), std: Array.from(m.preprocess.std) }),
  };
  if (m.limit !== undefined) out[META.limit] = String(m.limit);
  if (m.classNames) out[META.classes] = JSON.stringify(m.classNames);
  return out;
}

/** What `train` saved next to the weights (absent in files from elsewhere). */
export function readModelMeta(file: string): ModelMeta {
  const { metadata } = loadSafetensors(file);
  const out: ModelMeta = {};
  try {
    if (metadata[META.data] !== undefined) out.data = metadata[META.data];
    if (metadata[META.limit] !== undefined) out.limit = Number(metadata[META.limit]);
    if (metadata[META.preprocess] !== undefined) {
      const p = JSON.parse(metadata[META.preprocess]) as { inputScale: number; mean: number[]; std: number[] };
      out.preprocess = { inputScale: p.inputScale, mean: Float32Array.from(p.mean), std: Float32Array.from(p.std) };
    }
    if (metadata[META.classes] !== undefined) out.classNames = JSON.parse(metadata[META.classes]) as string[];
  } catch (err) {
    throw new CliError(`${file}: corrupt nodegrad metadata (${(err as Error).message})`);
  }
  return out;
}

// ---- models and optimizers ----

export function buildModel(kind: 'softmax' | 'mlp', features: number, hidden: readonly number[], classes: number): nn.Sequential {
  return nn.mlp(features, kind === 'softmax' ? [] : hidden, classes);
}

/** `64-128-64-10` from a Sequential of Linear and activation layers. */
export function describeModel(model: nn.Module): string {
  const sizes: number[] = [];
  for (const [, p] of model.namedParameters()) {
    if (p.shape.length === 2) {
      if (sizes.length === 0) sizes.push(p.shape[1]);
      sizes.push(p.shape[0]);
    }
  }
  return sizes.join('-');
}

export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Learning rates that work on standardised data with the default batch sizes. */
export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.1,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  rmsprop: 1e-3,
  adam: 1e-3,
  adamw: 1e-3,
};

export function buildOptimizer(name: OptimizerName, params: ReturnType<nn.Module['parameters']>, lr: number, weightDecay?: number): optim.Optimizer<{ lr: number }> {
  const wd = weightDecay === undefined ? {} : { weightDecay };
  switch (name) {
    case 'sgd':
      return new optim.SGD(params, { lr, ...wd });
    case 'momentum':
      return new optim.SGD(params, { lr, momentum: 0.9, ...wd });
    case 'nesterov':
      return new optim.SGD(params, { lr, momentum: 0.9, nesterov: true, ...wd });
    case 'adagrad':
      return new optim.Adagrad(params, { lr, ...wd });
    case 'rmsprop':
      return new optim.RMSprop(params, { lr, ...wd });
    case 'adam':
      return new optim.Adam(params, { lr, ...wd });
    case 'adamw':
      return new optim.AdamW(params, { lr, ...wd });
  }
}

// ---- backend flags ----

/** What train and lr-sweep train on: the data and the model's shape. */
export const DATA_MODEL_OPTIONS: OptionSpec[] = [
  { name: 'data', type: 'string', arg: 'SPEC', help: DATA_HELP, defaultText: 'digits' },
  { name: 'limit', type: 'int', min: 1, arg: 'N', help: 'use only the first N samples of each data file (quick runs)' },
  { name: 'model', type: 'string', choices: ['mlp', 'softmax'], help: 'softmax = one Linear layer (linear scores + softmax)', defaultText: 'mlp' },
  { name: 'hidden', type: 'numbers', min: 1, arg: 'N,N,...', help: 'hidden layer sizes of the MLP', defaultText: '128,64; 256,128 for images' },
];

export const BACKEND_OPTIONS: OptionSpec[] = [
  { name: 'backend', type: 'string', choices: ['native', 'ts'], help: 'kernels to run on', defaultText: 'native when it loads' },
  { name: 'threads', type: 'int', min: 1, max: MAX_THREADS, arg: 'N', help: 'native thread pool size', defaultText: 'the number of cores' },
];

export function applyBackend(options: Record<string, unknown>): void {
  if (options.backend !== undefined) setBackend(options.backend as BackendName);
  if (options.threads !== undefined) setNumThreads(options.threads as number);
}

/** `native (avx2, 2 threads)` or `ts`. */
export function describeBackend(): string {
  const i = info();
  return i.backend === 'native' ? `native (${i.simd ?? 'scalar'}, ${i.threads} thread${i.threads === 1 ? '' : 's'})` : 'ts';
}

// ---- formatting ----

export function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

export function int(n: number): string {
  return n.toLocaleString('en-US');
}

export function seconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

/** Writes text to `file`, creating its directory. */
export function writeText(file: string, text: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, text);
}
