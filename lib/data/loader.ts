// Mini-batches over a Dataset, with a seeded shuffle per epoch and no allocation per batch.

import { checkOptions, optionKeys } from '../options.js';
import type { Dataset } from './dataset.js';
import { globalRng, Rng } from '../random.js';
import { markModified } from '../tensor/version.js';
import { batchSeed, Compose, imageShape, transformList, type Transform } from './transforms.js';

/** Epochs a seed can number: epoch k shuffles with seed k * 2^32 + seed, a safe integer. */
const MAX_EPOCHS = 2 ** 21;

/**
 * One mini-batch: `x` is size x D (row-major), `y` its size labels (classification) or
 * `targets` its size x K float targets (regression).
 * The loader reuses these objects and buffers: the next batch overwrites them, so training
 * allocates nothing per batch. Copy (`batch.x.slice()`) whatever must outlive the loop body.
 * Each refill bumps the buffers' versions (lib/tensor/version.ts): a graph built on an earlier
 * batch (two batches' losses summed, then one backward) throws in backward instead of
 * computing gradients from the later batch's values.
 */
export interface Batch {
  /** The batch's features, size x features, row-major (a buffer reused by the next batch: copy what you keep). */
  readonly x: Float32Array;
  /** The batch's labels, one per sample (reused like x); empty for a regression dataset. */
  readonly y: Int32Array;
  /** The batch's targets, size x K row-major (reused like x); empty for a classification dataset. */
  readonly targets: Float32Array;
  /** The targets' shape, `[size, ...dataset.targetShape]` (`[size]` for one number a sample). */
  readonly targetShape: readonly number[];
  /** Samples in this batch: batchSize, or fewer in an epoch's last batch. */
  readonly size: number;
  /** [size, ...dataset.shape], e.g. [256, 1, 28, 28]. */
  readonly shape: readonly number[];
}

/** Options of DataLoader (torch.utils.data.DataLoader's batch_size, shuffle, drop_last, plus a seed). */
export interface DataLoaderOptions {
  /** Samples a batch (default 256). */
  batchSize?: number;
  /** Reorder the samples every epoch (default false). */
  shuffle?: boolean;
  /**
   * Seed of the shuffle, an integer in [0, 2^32). Default: drawn from `globalRng` (so
   * `manualSeed` makes it reproducible too), readable from `state()`.
   */
  seed?: number;
  /** Skip the last batch of an epoch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /**
   * Per-sample image transforms (RandomCrop, RandomHorizontalFlip, Normalize), applied in order
   * to each [C, H, W] sample as the batch is filled: a Compose or an array. Their random draws
   * come from (seed, epoch, batch), so they are reproducible and resume with `setState`. Give
   * them to the training loader; an evaluation loader gets the deterministic ones or none.
   */
  transforms?: Compose | readonly Transform[];
}

const LOADER_KEYS = optionKeys<DataLoaderOptions>()('batchSize', 'shuffle', 'seed', 'dropLast', 'transforms');

/** Where a loader stands: restore it with `setState` to resume a run bit-identically. */
export interface LoaderState {
  /** The loader's shuffle seed (epoch k shuffles with a generator derived from seed and k). */
  seed: number;
  /** The epoch the next batch belongs to (0-based). */
  epoch: number;
  /** The index of the next batch within that epoch. */
  batch: number;
}

/**
 * Iterates over a dataset in batches. Each `for (const batch of loader)` runs through the rest
 * of the current epoch, then the loader moves to the next epoch; a loop left early (`break`)
 * leaves the loader mid-epoch, and the next loop continues where it stopped. Epoch k's order
 * is a Fisher-Yates shuffle derived from (seed, k) only, so `state()` saved in a checkpoint and
 * given back to `setState()` reproduces the uninterrupted run exactly.
 * One loop at a time: iterators of the same loader share its position.
 */
export class DataLoader implements Iterable<Batch> {
  /** The data set the batches come from. */
  readonly dataset: Dataset;
  /** Samples a batch (default 256). */
  readonly batchSize: number;
  /** Whether every epoch visits the samples in a new order (default false). */
  readonly shuffle: boolean;
  /** Whether an epoch's last, smaller batch is skipped (default false). */
  readonly dropLast: boolean;
  private seed: number;
  private epoch = 0;
  private batch = 0;
  /** The current epoch's order (shuffle only), and the epoch it was drawn for. */
  private readonly order: Int32Array | null;
  private orderEpoch = -1;
  private readonly full: MutableBatch;
  private readonly partial: MutableBatch | null;
  /** The transforms with the sample shape each one takes, or null without transforms. */
  private readonly pipeline: { t: Transform; shape: readonly [number, number, number] }[] | null;
  /** Two samples of scratch between transforms (empty for fewer than two). */
  private readonly scratch: [Float32Array, Float32Array];
  /** Elements of one output sample. */
  private readonly sampleSize: number;
  private readonly rng = new Rng(0);

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    checkOptions('DataLoader', options, LOADER_KEYS);
    const batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.seed = checkSeed(options.seed ?? globalRng.nextUint32(), 'seed');
    this.order = this.shuffle ? new Int32Array(dataset.length) : null;
    const list = options.transforms === undefined ? undefined : transformList(options.transforms);
    let sampleShape = dataset.shape;
    let scratchSize = 0;
    this.pipeline = null;
    if (list !== undefined && list.length > 0) {
      const steps = new Compose(list).transforms;
      let shape = imageShape(dataset.shape);
      this.pipeline = steps.map((t, i) => {
        const step = { t, shape };
        shape = t.outputShape(shape);
        if (i < steps.length - 1) scratchSize = Math.max(scratchSize, shape[0] * shape[1] * shape[2]);
        return step;
      });
      const last = this.pipeline.at(-1)!;
      sampleShape = last.t.outputShape(last.shape);
    } else if (list !== undefined && !Array.isArray(list)) {
      throw new TypeError('DataLoader: transforms must be a Compose or an array of transforms');
    }
    this.sampleSize = sampleShape.reduce((a, b) => a * b, 1);
    this.scratch = [new Float32Array(scratchSize), new Float32Array(scratchSize)];
    const fullSize = Math.min(batchSize, dataset.length);
    this.full = newBatch(fullSize, dataset, sampleShape);
    const rest = dataset.length % batchSize;
    this.partial =
      rest !== 0 && !this.dropLast && dataset.length > batchSize ? newBatch(rest, dataset, sampleShape) : null;
  }

  /** Batches an epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Where the loader stands (seed, epoch, next batch): save it in a checkpoint to resume bit-identically. */
  state(): LoaderState {
    return { seed: this.seed, epoch: this.epoch, batch: this.batch };
  }

  /** Moves the loader to a state() it returned earlier; the next batch is the one that state names. */
  setState(state: LoaderState): void {
    const seed = checkSeed(state.seed, 'state.seed');
    const { epoch, batch } = state;
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= MAX_EPOCHS) {
      throw new RangeError(`state.epoch must be an integer in [0, ${MAX_EPOCHS}), got ${epoch}`);
    }
    if (!Number.isInteger(batch) || batch < 0 || batch > this.length) {
      throw new RangeError(`state.batch must be an integer in [0, ${this.length}], got ${batch}`);
    }
    this.seed = seed;
    this.epoch = epoch;
    this.batch = batch;
    this.orderEpoch = -1;
    if (batch === this.length && batch > 0) this.nextEpoch();
  }

  /**
   * Iterates one epoch (the rest of it after setState): each `for (const batch of loader)` loop
   * is the next epoch, reshuffled when shuffle is on.
   */
  [Symbol.iterator](): IterableIterator<Batch> {
    // The same result object every step: iterating allocates nothing per batch.
    const result: { value: Batch; done: false } = { value: this.full, done: false };
    const done: IteratorResult<Batch> = { value: undefined, done: true };
    let finished = false;
    const iterator: IterableIterator<Batch> = {
      next: (): IteratorResult<Batch> => {
        if (finished) return done;
        if (this.batch >= this.length) {
          // Only an epoch without batches gets here (fewer samples than a batch, dropLast).
          this.nextEpoch();
          finished = true;
          return done;
        }
        result.value = this.fill(this.batch);
        if (++this.batch === this.length) {
          // That was the epoch's last batch: move on now, so that a state() saved while the
          // consumer works on it already points at the next epoch.
          this.nextEpoch();
          finished = true;
        }
        return result;
      },
      [Symbol.iterator]: () => iterator,
    };
    return iterator;
  }

  private nextEpoch(): void {
    this.epoch++;
    this.batch = 0;
  }

  /** Copies batch b of the current epoch into its reused buffers. */
  private fill(b: number): Batch {
    const ds = this.dataset;
    const d = ds.features;
    const start = b * this.batchSize;
    const size = Math.min(this.batchSize, ds.length - start);
    const out = size === this.full.size ? this.full : this.partial!;
    markModified(out.x);
    markModified(out.y);
    markModified(out.targets);
    const order = this.currentOrder();
    const src = ds.x;
    const x = out.x;
    const y = out.y;
    const srcT = ds.targets;
    const t = ds.targetSize;
    const targets = out.targets;
    const pipeline = this.pipeline;
    if (pipeline !== null) this.rng.seed(batchSeed(this.seed, this.epoch, b));
    for (let k = 0; k < size; k++) {
      const i = order === null ? start + k : order[start + k];
      // An explicit loop: subarray() + set() would allocate a view per sample.
      const so = i * d;
      if (pipeline === null) {
        const dOff = k * d;
        for (let j = 0; j < d; j++) x[dOff + j] = src[so + j];
      } else {
        this.transform(pipeline, src, so, x, k * this.sampleSize);
      }
      if (srcT === undefined) y[k] = ds.y[i];
      else for (let j = 0; j < t; j++) targets[k * t + j] = srcT[i * t + j];
    }
    return out;
  }

  /** Runs one sample through the transforms, from src[so...] to x[xo...], via the scratch samples. */
  private transform(
    pipeline: { t: Transform; shape: readonly [number, number, number] }[],
    src: Float32Array,
    so: number,
    x: Float32Array,
    xo: number,
  ): void {
    let from = src,
      fromOff = so;
    for (let s = 0; s < pipeline.length; s++) {
      const last = s === pipeline.length - 1;
      const to = last ? x : this.scratch[s & 1];
      pipeline[s].t.apply(from, fromOff, to, last ? xo : 0, pipeline[s].shape, this.rng);
      from = to;
      fromOff = 0;
    }
  }

  private currentOrder(): Int32Array | null {
    const order = this.order;
    if (order === null) return null;
    if (this.orderEpoch !== this.epoch) {
      for (let i = 0; i < order.length; i++) order[i] = i;
      if (this.epoch >= MAX_EPOCHS) throw new RangeError(`a DataLoader shuffles at most ${MAX_EPOCHS} epochs`);
      // A fresh generator an epoch: the order depends on (seed, epoch) alone, never on history.
      new Rng(this.epoch * 2 ** 32 + this.seed).shuffle(order);
      this.orderEpoch = this.epoch;
    }
    return order;
  }
}

interface MutableBatch {
  x: Float32Array;
  y: Int32Array;
  targets: Float32Array;
  targetShape: readonly number[];
  size: number;
  shape: readonly number[];
}

function newBatch(size: number, ds: Dataset, sampleShape: readonly number[]): MutableBatch {
  const regression = ds.targets !== undefined;
  return {
    x: new Float32Array(size * sampleShape.reduce((a, b) => a * b, 1)),
    y: new Int32Array(regression ? 0 : size),
    targets: new Float32Array(regression ? size * ds.targetSize : 0),
    targetShape: Object.freeze([size, ...ds.targetShape]),
    size,
    shape: Object.freeze([size, ...sampleShape]),
  };
}

function checkSeed(seed: number, name: string): number {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new RangeError(`${name} must be an integer in [0, 2^32), got ${String(seed)}`);
  }
  return seed;
}
