// N samples of D features each, with integer class labels (classification) or float targets
// of any shape (regression). x is N x D, row-major float32; a sample's `shape` (e.g.
// [1, 28, 28]) is how a conv layer should see its D = product(shape) features.

import { inspect } from 'node:util';
import { globalRng, Rng } from '../random.js';
import { checkOptions, optionKeys } from '../options.js';

/**
 * The kind of problem a data set (and the model trained on it) poses: integer class labels, or
 * float targets to predict.
 */
export type Task = 'classification' | 'regression';

/**
 * What new Dataset() takes: features, and either integer labels (`y`, classification) or float
 * targets (`targets`, regression); optionally the sample shape and class names.
 */
export interface DatasetInit {
  /** N x D features, row-major. */
  x: Float32Array;
  /** N labels in [0, numClasses): a classification data set. Give either y or targets. */
  y?: Int32Array;
  /**
   * N x K float targets, row-major, K = product(targetShape): a regression data set (targets of
   * shape [N] when targetShape is [], [N, k] when it is [k]). Give either y or targets.
   */
  targets?: Float32Array;
  /** The shape of one sample's target, with targets only. @defaultValue [] (one number a sample) */
  targetShape?: readonly number[];
  /** D, the number of features a sample; defaults to product(shape), or x.length / y.length. */
  features?: number;
  /** The shape of one sample, product = D; defaults to [D]. */
  shape?: readonly number[];
  /** Defaults to classNames.length, else max(y) + 1. */
  numClasses?: number;
  /** Names of the classes, index = label (e.g. FASHION_MNIST_CLASSES); used in reports and saved with a model. */
  classNames?: readonly string[];
}
export const DATASET_KEYS = optionKeys<DatasetInit>()(
  'x',
  'y',
  'targets',
  'targetShape',
  'features',
  'shape',
  'numClasses',
  'classNames',
);

const NO_LABELS = new Int32Array(0);

/**
 * A labelled data set, as TensorDataset(x, y) in PyTorch: N samples of D float features (x) and
 * either N integer labels (y, classification) or N float targets of shape targetShape (targets,
 * regression). fit, evaluate and DataLoader take it.
 */
export class Dataset {
  /** N x D features, row-major. */
  readonly x: Float32Array;
  /** N labels in [0, numClasses) for classification; empty for regression (see targets). */
  readonly y: Int32Array;
  /** 'classification' (labels in y) or 'regression' (float targets). */
  readonly task: Task;
  /** N x K float targets, row-major, for regression; undefined for classification. */
  readonly targets?: Float32Array;
  /** The shape of one sample's target ([] for one number); [] for classification. */
  readonly targetShape: readonly number[];
  /** K = product(targetShape): the numbers a sample's target holds (1 for classification's label). */
  readonly targetSize: number;
  /** The number of samples, N. */
  readonly length: number;
  /** D, the number of features a sample. */
  readonly features: number;
  /** The shape of one sample; its product is `features`. */
  readonly shape: readonly number[];
  /** The number of classes: classNames.length if given, else max(y) + 1 unless set; 0 for regression. */
  readonly numClasses: number;
  /** Names of the classes, index = label, when known. */
  readonly classNames?: readonly string[];

  constructor(init: DatasetInit) {
    checkOptions('Dataset', init, DATASET_KEYS);
    const { x, targets } = init;
    if (!(x instanceof Float32Array)) throw new TypeError('x must be a Float32Array');
    const task: Task = targets === undefined ? 'classification' : 'regression';
    let y: Int32Array;
    let n: number;
    let targetShape: number[] = [];
    if (task === 'regression') {
      if (init.y !== undefined) throw new TypeError('give either y (class labels) or targets (floats), not both');
      if (!(targets instanceof Float32Array)) throw new TypeError('targets must be a Float32Array');
      for (const k of ['numClasses', 'classNames'] as const) {
        if (init[k] !== undefined) throw new TypeError(`${k} is for class labels (y), not float targets`);
      }
      targetShape = [...(init.targetShape ?? [])];
      const k = product(targetShape);
      if (targetShape.some((s) => !Number.isInteger(s) || s < 1)) {
        throw new RangeError(`targetShape [${targetShape.join(', ')}] must be integers >= 1`);
      }
      if (targets.length % k !== 0) {
        throw new RangeError(
          `targets must hold N x ${k} values (targetShape [${targetShape.join(', ')}]), got ${targets.length}`,
        );
      }
      n = targets.length / k;
      const bad = targets.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new RangeError(`targets must be finite, got targets[${bad}] = ${targets[bad]}`);
      y = NO_LABELS;
    } else {
      if (init.targetShape !== undefined) throw new TypeError('targetShape goes with targets');
      if (!(init.y instanceof Int32Array)) throw new TypeError('y must be an Int32Array (or give float targets)');
      y = init.y;
      n = y.length;
    }
    let d: number;
    if (init.features !== undefined) d = init.features;
    else if (init.shape !== undefined) d = product(init.shape);
    else d = n === 0 ? 0 : x.length / n;
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`features must be an integer >= 0, got ${d}`);
    if (x.length !== n * d) {
      throw new RangeError(`x must hold N x D = ${n} x ${d} = ${n * d} values, got ${x.length}`);
    }
    const shape = init.shape !== undefined ? [...init.shape] : [d];
    if (shape.some((s) => !Number.isInteger(s) || s < 0) || product(shape) !== d) {
      throw new RangeError(
        `shape [${shape.join(', ')}] must be non-negative integers whose product is features = ${d}`,
      );
    }
    let maxLabel = -1;
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (v < 0) throw new RangeError(`labels must be >= 0, got y[${i}] = ${v}`);
      if (v > maxLabel) maxLabel = v;
    }
    const numClasses = init.numClasses ?? init.classNames?.length ?? maxLabel + 1;
    if (!Number.isInteger(numClasses) || numClasses < 0) {
      throw new RangeError(`numClasses must be an integer >= 0, got ${numClasses}`);
    }
    if (maxLabel >= numClasses) {
      throw new RangeError(`labels must be < numClasses = ${numClasses}, got ${maxLabel}`);
    }
    if (init.classNames !== undefined && init.classNames.length !== numClasses) {
      throw new RangeError(`classNames must have numClasses = ${numClasses} names, got ${init.classNames.length}`);
    }
    this.x = x;
    this.y = y;
    this.task = task;
    if (targets !== undefined) this.targets = targets;
    this.targetShape = Object.freeze(targetShape);
    this.targetSize = product(targetShape);
    this.length = n;
    this.features = d;
    this.shape = Object.freeze(shape);
    this.numClasses = numClasses;
    if (init.classNames !== undefined) this.classNames = Object.freeze([...init.classNames]);
  }

  /** Sample i's features: a view into x (no copy). */
  row(i: number): Float32Array {
    return this.x.subarray(i * this.features, (i + 1) * this.features);
  }

  /** A new dataset of the given samples, in the given order (copied). */
  subset(indices: ArrayLike<number>): Dataset {
    const d = this.features;
    const t = this.targetSize;
    const x = new Float32Array(indices.length * d);
    const y = new Int32Array(this.targets === undefined ? indices.length : 0);
    const targets = this.targets === undefined ? undefined : new Float32Array(indices.length * t);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.length) {
        throw new RangeError(`subset index ${k} must be an integer in [0, ${this.length}), got ${i}`);
      }
      x.set(this.x.subarray(i * d, (i + 1) * d), k * d);
      if (targets === undefined) y[k] = this.y[i];
      else targets.set(this.targets!.subarray(i * t, (i + 1) * t), k * t);
    }
    return this.like(x, targets ?? y);
  }

  /** Sample i's target: its label for classification, a view into targets (no copy) for regression. */
  target(i: number): number | Float32Array {
    return this.targets === undefined
      ? this.y[i]
      : this.targets.subarray(i * this.targetSize, (i + 1) * this.targetSize);
  }

  /** How many samples each class has. */
  classCounts(): Int32Array {
    const counts = new Int32Array(this.numClasses);
    for (let i = 0; i < this.length; i++) counts[this.y[i]]++;
    return counts;
  }

  /** torchvision's dataset repr: the sample count, each sample's features and the classes. */
  [inspect.custom](): string {
    const names = this.classNames;
    const shown = names === undefined ? [] : names.slice(0, 10).map((n) => `'${n}'`);
    if (names !== undefined && names.length > 10) shown.push('...');
    return [
      `${this.constructor.name} (`,
      `    samples: ${this.length}`,
      `    features: ${this.features}${this.shape.length > 1 ? ` (shape [${this.shape.join(', ')}])` : ''}`,
      this.task === 'regression'
        ? `    targets: [${this.targetShape.join(', ')}] floats (regression)`
        : `    classes: ${this.numClasses}${shown.length > 0 ? ` (${shown.join(', ')})` : ''}`,
      ')',
    ].join('\n');
  }

  /**
   * A dataset with this one's shape and classes (or target shape), holding other samples: `y` is
   * their labels (an Int32Array) for classification, their targets (a Float32Array) for regression.
   */
  like(x: Float32Array, y: Int32Array | Float32Array): Dataset {
    if (this.task === 'regression') {
      if (!(y instanceof Float32Array)) throw new TypeError('like: a regression dataset takes Float32Array targets');
      return new Dataset({ x, targets: y, targetShape: this.targetShape, shape: this.shape });
    }
    if (!(y instanceof Int32Array)) throw new TypeError('like: a classification dataset takes Int32Array labels');
    return new Dataset({ x, y, shape: this.shape, numClasses: this.numClasses, classNames: this.classNames });
  }

  /** The labels (classification) or the targets (regression), copied, for like(). */
  labelsCopy(): Int32Array | Float32Array {
    return this.targets === undefined ? this.y.slice() : this.targets.slice();
  }
}

function product(shape: readonly number[]): number {
  let p = 1;
  for (const s of shape) p *= s;
  return p;
}

/** Options of trainValTestSplit() and split(). */
export interface SplitOptions {
  /** Fraction of samples in the validation set, in [0, 1); default 0.1. */
  validation?: number;
  /** Fraction of samples in the test set, in [0, 1); default 0.2. */
  test?: number;
  /** Seed of the shuffle (a safe integer); the same seed gives the same split. Default: drawn from globalRng. */
  seed?: number;
  /** Keep each class's proportion in every part (default false; ignored for regression, which has no classes). */
  stratify?: boolean;
}
export const SPLIT_KEYS = optionKeys<SplitOptions>()('validation', 'test', 'seed', 'stratify');
export const TWO_WAY_SPLIT_KEYS = optionKeys<Parameters<typeof split>[1]>()('test', 'seed', 'stratify');
export const STANDARDIZER_KEYS = optionKeys<Parameters<typeof fitStandardizer>[1]>()('minStd');

/**
 * Splits `ds` at random into train, validation and test parts, with round(N * fraction)
 * samples in validation and test (per class when stratified, the rounding remainders handed
 * to the classes with the largest fractions so that the totals match). Each part keeps the
 * original order of its samples. Deterministic for a given seed.
 */
export function trainValTestSplit(
  ds: Dataset,
  options: SplitOptions = {},
): { train: Dataset; validation: Dataset; test: Dataset } {
  checkOptions('trainValTestSplit', options, SPLIT_KEYS);
  const validation = options.validation ?? 0.1;
  const test = options.test ?? 0.2;
  for (const [name, f] of [
    ['validation', validation],
    ['test', test],
  ] as const) {
    if (!(f >= 0 && f < 1)) throw new RangeError(`${name} must be a fraction in [0, 1), got ${f}`);
  }
  if (validation + test >= 1) {
    throw new RangeError(`validation + test must be < 1 so that some samples train, got ${validation + test}`);
  }
  const rng = new Rng(options.seed ?? globalRng.nextUint32());
  const n = ds.length;
  const nVal = Math.round(n * validation);
  const nTest = Math.round(n * test);

  // Groups of sample indices, each shuffled: one group, or one a class.
  const groups: Int32Array[] = [];
  if (options.stratify && ds.task === 'classification') {
    const counts = ds.classCounts();
    const fill = new Int32Array(ds.numClasses);
    for (let c = 0; c < ds.numClasses; c++) groups.push(new Int32Array(counts[c]));
    for (let i = 0; i < n; i++) groups[ds.y[i]][fill[ds.y[i]]++] = i;
  } else {
    groups.push(Int32Array.from({ length: n }, (_, i) => i));
  }
  for (const g of groups) rng.shuffle(g);

  const sizes = groups.map((g) => g.length);
  const testTake = apportion(sizes, nTest);
  const valTake = apportion(
    sizes.map((s, c) => s - testTake[c]),
    nVal,
  );
  const parts: number[][] = [[], [], []];
  groups.forEach((g, c) => {
    const a = testTake[c];
    const b = a + valTake[c];
    for (let k = 0; k < g.length; k++) parts[k < a ? 2 : k < b ? 1 : 0].push(g[k]);
  });
  for (const p of parts) p.sort((a, b) => a - b);
  return { train: ds.subset(parts[0]), validation: ds.subset(parts[1]), test: ds.subset(parts[2]) };
}

/** Two-way split: `{ train, test }` with round(N * test) test samples (default 0.2). */
export function split(ds: Dataset, options: Omit<SplitOptions, 'validation'> = {}): { train: Dataset; test: Dataset } {
  checkOptions('split', options, TWO_WAY_SPLIT_KEYS);
  const { train, test } = trainValTestSplit(ds, { ...options, validation: 0 });
  return { train, test };
}

/** Splits `total` across groups in proportion to their sizes (largest remainder, ties by index). */
function apportion(sizes: number[], total: number): number[] {
  const all = sizes.reduce((a, b) => a + b, 0);
  if (all === 0) return sizes.map(() => 0);
  const exact = sizes.map((s) => (s * total) / all);
  const take = exact.map((e) => Math.floor(e));
  let left = total - take.reduce((a, b) => a + b, 0);
  const order = sizes.map((_, i) => i).sort((a, b) => exact[b] - take[b] - (exact[a] - take[a]) || a - b);
  for (const i of order) {
    if (left === 0) break;
    if (take[i] < sizes[i]) {
      take[i]++;
      left--;
    }
  }
  return take;
}

/**
 * Per-feature standardization fitted on training data (scikit-learn's StandardScaler): transform computes (x - mean) /
 * std.
 */
export interface Standardizer {
  /** Per-feature mean of the data it was fitted on. */
  readonly mean: Float32Array;
  /** Per-feature standard deviation (population), with near-constant features set to 1. */
  readonly std: Float32Array;
  /** A new dataset with (x - mean) / std per feature. */
  apply(ds: Dataset): Dataset;
  /** (x - mean) / std per feature of N x D row-major values, into a new array. */
  transform(x: Float32Array): Float32Array;
}

/**
 * A standardizer from known statistics (what a model file stores). Each value is computed as
 * (x - mean) / std in double precision and rounded once to float32, so training, evaluation and
 * prediction see bit-identical inputs.
 */
export function standardizer(mean: Float32Array, std: Float32Array): Standardizer {
  const d = mean.length;
  if (std.length !== d) throw new RangeError(`mean and std must have the same length, got ${d} and ${std.length}`);
  const transform = (x: Float32Array): Float32Array => {
    if (x.length % d !== 0)
      throw new RangeError(`the standardizer was fitted on ${d} features, got ${x.length} values (not a multiple)`);
    const out = new Float32Array(x.length);
    for (let o = 0; o < x.length; o += d) {
      for (let j = 0; j < d; j++) out[o + j] = (x[o + j] - mean[j]) / std[j];
    }
    return out;
  };
  return {
    mean,
    std,
    transform,
    apply(other: Dataset): Dataset {
      if (other.features !== d) {
        throw new RangeError(`the standardizer was fitted on ${d} features, the dataset has ${other.features}`);
      }
      return other.like(transform(other.x), other.labelsCopy());
    },
  };
}

/**
 * Fits per-feature mean and standard deviation on `ds` (fit on the training part only, then
 * apply to every part). A feature whose std is below `minStd` (default 1e-6) gets std 1, as
 * scikit-learn does, so a pixel that is constant in training cannot blow up at test time.
 */
export function fitStandardizer(ds: Dataset, options: { minStd?: number } = {}): Standardizer {
  checkOptions('fitStandardizer', options, STANDARDIZER_KEYS);
  const minStd = options.minStd ?? 1e-6;
  if (!(minStd >= 0)) throw new RangeError(`minStd must be >= 0, got ${minStd}`);
  if (ds.length === 0) throw new RangeError('cannot fit a standardizer on an empty dataset');
  const d = ds.features;
  const n = ds.length;
  const sum = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) sum[j] += ds.x[o + j];
  }
  const meanF64 = sum.map((s) => s / n);
  // Two passes (mean, then squared deviations) so large offsets do not cancel catastrophically.
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const dev = ds.x[o + j] - meanF64[j];
      sq[j] += dev * dev;
    }
  }
  const std = Float32Array.from(sq, (s) => {
    const v = Math.sqrt(s / n);
    return v < minStd ? 1 : v;
  });
  return standardizer(Float32Array.from(meanF64), std);
}

/** A new dataset with every feature multiplied by `factor` (e.g. 1 / 255). */
export function scale(ds: Dataset, factor: number): Dataset {
  if (!Number.isFinite(factor)) throw new RangeError(`factor must be finite, got ${factor}`);
  return ds.like(
    ds.x.map((v) => v * factor),
    ds.labelsCopy(),
  );
}
