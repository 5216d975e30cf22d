/**
 * What a model needs to be fed its data the way it was trained: the input scale, the
 * standardiser, the number of features, the class names and the task. It travels in the model
 * file (save() / loadModel()), so a model trained anywhere predicts correctly everywhere.
 *
 * Two kinds of input: *features* are what nodegrad's loaders return (digits divided by 16, pixels
 * by 255, CSV values as they are); *units* are the values in the data set's own files (digits
 * 0..16, pixels 0..255), which is what `nodegrad predict` reads. `inputScale` is the factor from
 * units to features; `transform()` takes features, `fromUnits()` turns units into features.
 */
import { Dataset, fitStandardizer, standardizer, type Standardizer, type Task } from './dataset.js';
import { checkOptions, optionKeys } from '../options.js';

export type { Task };
const TASKS: readonly Task[] = ['classification', 'regression'];

/** What new Preprocessor() takes; Preprocessor.fit() builds one from a training set. */
export interface PreprocessorInit {
  /** D, the number of features a sample. */
  features: number;
  /** The kind of problem the model solves. @defaultValue 'classification' */
  task?: Task;
  /** Units to features (1/16 digits, 1/255 images); default 1. */
  inputScale?: number;
  /** Per-feature (x - mean) / std, applied to features; none when absent. */
  standardizer?: Pick<Standardizer, 'mean' | 'std'>;
  /** Names of the classes, index = label, for reports and `nodegrad predict`. */
  classNames?: readonly string[];
}
export const INIT_KEYS = optionKeys<PreprocessorInit>()('features', 'task', 'inputScale', 'standardizer', 'classNames');
export const FIT_KEYS = optionKeys<Parameters<typeof Preprocessor.fit>[1]>()('inputScale', 'standardize', 'minStd');

/** The JSON a model file stores (`nodegrad.preprocess` in the safetensors metadata). */
export interface PreprocessorJSON {
  /** The kind of problem the model solves. */
  task: Task;
  /** D, the number of features a sample. */
  features: number;
  /** The factor from the data set's units to features. */
  inputScale: number;
  /** The standardiser's per-feature means, when there is one. */
  mean?: number[];
  /** The standardiser's per-feature standard deviations, when there is one. */
  std?: number[];
  /** Names of the classes, index = label. */
  classNames?: string[];
}

/**
 * The preprocessing a model was trained with (input scale, standardiser, features, classes), saved in its file so that
 * evaluate, predict and the CLI feed it data the same way. Build it with Preprocessor.fit(train).
 */
export class Preprocessor {
  /** The kind of problem the model solves: 'classification' (outputs are class scores) or 'regression' (values). */
  readonly task: Task;
  /** D, the number of features a sample. */
  readonly features: number;
  /** The factor from the data set's units to features (1/16 for digits, 1/255 for images; default 1). */
  readonly inputScale: number;
  /** The per-feature (x - mean) / std applied to features, when there is one. */
  readonly standardizer?: Standardizer;
  /** Names of the classes, index = label, when known. */
  readonly classNames?: readonly string[];

  /** Checks every field, so a tampered file is refused here rather than predicting NaN. */
  constructor(init: PreprocessorInit) {
    checkOptions('Preprocessor', init, INIT_KEYS);
    const { features } = init;
    if (!Number.isInteger(features) || features < 1)
      throw new RangeError(`features must be an integer >= 1, got ${show(features)}`);
    const task = init.task ?? 'classification';
    if (!TASKS.includes(task)) throw new RangeError(`task must be 'classification' or 'regression', got ${show(task)}`);
    if (task === 'regression' && init.classNames !== undefined)
      throw new RangeError('classNames belong to a classification model, not a regression one');
    const inputScale = init.inputScale ?? 1;
    if (typeof inputScale !== 'number' || !Number.isFinite(inputScale) || inputScale <= 0) {
      throw new RangeError(`inputScale must be a finite number > 0, got ${show(inputScale)}`);
    }
    this.task = task;
    this.features = features;
    this.inputScale = inputScale;
    if (init.standardizer !== undefined) {
      const mean = floats(init.standardizer.mean, 'mean', features);
      const std = floats(init.standardizer.std, 'std', features);
      const bad = std.findIndex((v) => !(v > 0));
      if (bad >= 0) throw new RangeError(`std[${bad}] must be > 0, got ${std[bad]}`);
      this.standardizer = standardizer(mean, std);
    }
    if (init.classNames !== undefined) {
      if (!Array.isArray(init.classNames) || !init.classNames.every((c) => typeof c === 'string')) {
        throw new TypeError(`classNames must be an array of strings, got ${show(init.classNames)}`);
      }
      this.classNames = Object.freeze([...init.classNames]);
    }
    Object.freeze(this);
  }

  /**
   * Fits the standardiser on `train` (features, as the loader returned them); `inputScale` says
   * what the loader multiplied the file's units by, for inputs given in units later.
   * Options: `inputScale` (default 1), `standardize` (default true: fit a standardiser; false
   * leaves features as they are), `minStd` (default 1e-6: a feature whose std is below it gets std 1).
   */
  static fit(
    train: Dataset,
    options: { inputScale?: number; standardize?: boolean; minStd?: number } = {},
  ): Preprocessor {
    if (!(train instanceof Dataset)) throw new TypeError('Preprocessor.fit: train must be a Dataset');
    checkOptions('Preprocessor.fit', options, FIT_KEYS);
    return new Preprocessor({
      features: train.features,
      task: train.task,
      inputScale: options.inputScale,
      standardizer: options.standardize === false ? undefined : fitStandardizer(train, { minStd: options.minStd }),
      classNames: train.classNames,
    });
  }

  /** The model's inputs for these features: standardised when there is a standardiser (a copy). */
  transform(x: Dataset): Dataset;
  transform(x: Float32Array): Float32Array;
  transform(x: Dataset | Float32Array): Dataset | Float32Array {
    if (x instanceof Dataset) {
      this.checkFeatures(x.features);
      return this.standardizer ? this.standardizer.apply(x) : x;
    }
    if (!(x instanceof Float32Array)) throw new TypeError('transform: x must be a Dataset or a Float32Array');
    if (x.length % this.features !== 0) {
      throw new RangeError(
        `the model takes ${this.features} features a sample, got ${x.length} values (not a multiple of ${this.features})`,
      );
    }
    return this.standardizer ? this.standardizer.transform(x) : x;
  }

  /** Features from values in the data set's units (each multiplied by inputScale). */
  fromUnits(units: ArrayLike<number>): Float32Array {
    const out = new Float32Array(units.length);
    for (let i = 0; i < units.length; i++) out[i] = units[i] * this.inputScale;
    return out;
  }

  private checkFeatures(d: number): void {
    if (d !== this.features)
      throw new RangeError(`the data has ${d} features a sample, the model takes ${this.features}`);
  }

  /** The plain data a model file stores (JSON.stringify calls it); Preprocessor.fromJSON reads it back. */
  toJSON(): PreprocessorJSON {
    const out: PreprocessorJSON = { task: this.task, features: this.features, inputScale: this.inputScale };
    if (this.standardizer) {
      out.mean = Array.from(this.standardizer.mean);
      out.std = Array.from(this.standardizer.std);
    }
    if (this.classNames) out.classNames = [...this.classNames];
    return out;
  }

  /** Reads what toJSON() wrote (parsed), refusing anything malformed with a RangeError/TypeError. */
  static fromJSON(json: unknown): Preprocessor {
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      throw new TypeError(`preprocessing must be a JSON object, got ${show(json)}`);
    const j = json as Partial<Record<keyof PreprocessorJSON, unknown>>;
    if ((j.mean === undefined) !== (j.std === undefined))
      throw new TypeError('preprocessing needs both mean and std, or neither');
    return new Preprocessor({
      task: j.task as Task,
      features: j.features as number,
      inputScale: j.inputScale as number,
      standardizer: j.mean === undefined ? undefined : { mean: j.mean as Float32Array, std: j.std as Float32Array },
      classNames: j.classNames as string[] | undefined,
    });
  }
}

/** A Float32Array of `n` finite values from an array of numbers (or a Float32Array). */
function floats(v: unknown, name: string, n: number): Float32Array {
  if (!(v instanceof Float32Array) && !(Array.isArray(v) && v.every((e) => typeof e === 'number'))) {
    throw new TypeError(`${name} must be an array of numbers, got ${show(v)}`);
  }
  const a = Float32Array.from(v as ArrayLike<number>);
  if (a.length !== n) throw new RangeError(`${name} must have one value a feature (${n}), got ${a.length}`);
  const bad = a.findIndex((e) => !Number.isFinite(e));
  if (bad >= 0) throw new RangeError(`${name}[${bad}] must be finite, got ${a[bad]}`);
  return a;
}

/** A short rendering of a bad value for a message. */
function show(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
