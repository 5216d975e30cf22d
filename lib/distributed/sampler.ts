/**
 * Each rank's share of every epoch (torch.utils.data.DistributedSampler), and a DataLoader over it.
 * The epoch's order is the one a single-process DataLoader with the same seed draws, dealt out
 * round-robin: with a per-rank batch of B / worldSize, step k of all ranks together covers exactly
 * the samples of the single process's step k with batch B, which is why data-parallel training
 * with gradient averaging follows the single-process run.
 */
import { checkOptions, optionKeys } from '../options.js';
import { DataLoader, type Batch, type Dataset, type DataLoaderOptions, type LoaderState } from '../data/index.js';
import { Rng } from '../random.js';
import { getRank, getWorldSize, isInitialized } from './process-group.js';

/** Options of DistributedSampler (torch's num_replicas, rank, shuffle, seed, drop_last). */
export interface DistributedSamplerOptions {
  /** Number of ranks sharing the data. @defaultValue the process group's world size */
  worldSize?: number;
  /** This rank. @defaultValue the process group's rank */
  rank?: number;
  /** A new order every epoch (see setEpoch). @defaultValue true */
  shuffle?: boolean;
  /** Seed of the order, the same on every rank, an integer in [0, 2^32). @defaultValue 0 */
  seed?: number;
  /**
   * Drop the tail that does not divide among the ranks; otherwise the order is padded with its
   * first samples so that every rank gets as many (torch's default). @defaultValue false
   */
  dropLast?: boolean;
}
const SAMPLER_KEYS = optionKeys<DistributedSamplerOptions>()('worldSize', 'rank', 'shuffle', 'seed', 'dropLast');

function groupDefault(name: 'rank' | 'worldSize', value: number | undefined, owner: string): number {
  if (value !== undefined) return value;
  if (!isInitialized())
    throw new Error(`${owner}: ${name} is required when the process group is not initialised (ng.distributed.init())`);
  return name === 'rank' ? getRank() : getWorldSize();
}

/** The sample indices of one rank, for the epoch set by setEpoch(). */
export class DistributedSampler {
  /** Number of ranks sharing the data. */
  readonly worldSize: number;
  /** The rank whose share indices() gives. */
  readonly rank: number;
  /** Whether every epoch has a new order. */
  readonly shuffle: boolean;
  /** Seed of the order, the same on every rank. */
  readonly seed: number;
  /** Whether the tail that does not divide among the ranks is dropped (else padded). */
  readonly dropLast: boolean;
  /** Samples each rank gets an epoch. */
  readonly numSamples: number;
  private epoch = 0;

  constructor(
    /** Samples in the data set. */
    readonly size: number,
    options: DistributedSamplerOptions = {},
  ) {
    checkOptions('DistributedSampler', options, SAMPLER_KEYS);
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`DistributedSampler: size must be an integer >= 0, got ${size}`);
    this.worldSize = groupDefault('worldSize', options.worldSize, 'DistributedSampler');
    this.rank = groupDefault('rank', options.rank, 'DistributedSampler');
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1)
      throw new RangeError(`DistributedSampler: worldSize must be an integer >= 1, got ${this.worldSize}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize)
      throw new RangeError(`DistributedSampler: rank must be an integer in [0, ${this.worldSize}), got ${this.rank}`);
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed) || this.seed < 0 || this.seed >= 2 ** 32)
      throw new RangeError(`DistributedSampler: seed must be an integer in [0, 2^32), got ${this.seed}`);
    this.dropLast = options.dropLast ?? false;
    const R = this.worldSize;
    this.numSamples = this.dropLast && size % R !== 0 ? Math.floor(size / R) : Math.ceil(size / R);
  }

  /** Chooses the epoch whose order indices() deals (call it before each epoch, as in torch). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new RangeError(`setEpoch: epoch must be an integer >= 0, got ${epoch}`);
    this.epoch = epoch;
  }

  /** This rank's indices for the current epoch: every worldSize-th of the epoch's order, from rank. */
  indices(): Int32Array {
    const n = this.size;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    // The same generator as DataLoader's shuffle (lib/data/loader.ts): the same order for the same seed.
    if (this.shuffle) new Rng(this.epoch * 2 ** 32 + this.seed).shuffle(order);
    const out = new Int32Array(this.numSamples);
    for (let k = 0; k < this.numSamples; k++) out[k] = order[(this.rank + k * this.worldSize) % n];
    return out;
  }
}

/** Options of DistributedLoader: DataLoader's (transforms not yet: each rank would need its own crops), plus the sampler's rank and world size. */
export interface DistributedLoaderOptions extends Omit<DataLoaderOptions, 'transforms'> {
  /** @defaultValue the process group's world size */
  worldSize?: number;
  /** @defaultValue the process group's rank */
  rank?: number;
}
const DIST_LOADER_KEYS = optionKeys<DistributedLoaderOptions>()(
  'batchSize',
  'shuffle',
  'seed',
  'dropLast',
  'worldSize',
  'rank',
);

/**
 * A DataLoader over this rank's DistributedSampler share of every epoch: batchSize is per rank,
 * and every rank takes the same number of steps an epoch. Its state() / setState() resume a run
 * like DataLoader's.
 */
export class DistributedLoader extends DataLoader {
  /** Which samples are this rank's in each epoch. */
  readonly sampler: DistributedSampler;
  #epoch = 0;
  #batch = 0;
  #current: { epoch: number; loader: DataLoader } | null = null;

  constructor(dataset: Dataset, options: DistributedLoaderOptions = {}) {
    checkOptions('DistributedLoader', options, DIST_LOADER_KEYS);
    const { worldSize, rank, ...loaderOptions } = options;
    super(dataset, loaderOptions);
    this.sampler = new DistributedSampler(dataset.length, {
      worldSize,
      rank,
      shuffle: this.shuffle,
      seed: super.state().seed,
      dropLast: this.dropLast,
    });
  }

  override get length(): number {
    const n = this.sampler.numSamples;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  override state(): LoaderState {
    return { seed: this.sampler.seed, epoch: this.#epoch, batch: this.#batch };
  }

  override setState(state: LoaderState): void {
    if (state.seed !== this.sampler.seed)
      throw new RangeError(
        `DistributedLoader: state.seed ${state.seed} differs from the sampler's ${this.sampler.seed}`,
      );
    if (!Number.isInteger(state.epoch) || state.epoch < 0)
      throw new RangeError(`state.epoch must be an integer >= 0, got ${state.epoch}`);
    if (!Number.isInteger(state.batch) || state.batch < 0 || state.batch > this.length)
      throw new RangeError(`state.batch must be an integer in [0, ${this.length}], got ${state.batch}`);
    this.#epoch = state.epoch;
    this.#batch = state.batch;
    if (this.#batch === this.length && this.#batch > 0) this.#nextEpoch();
  }

  override [Symbol.iterator](): IterableIterator<Batch> {
    const inner = this.#epochLoader();
    inner.setState({ seed: 0, epoch: 0, batch: this.#batch });
    const batches = inner[Symbol.iterator]();
    let finished = false;
    const done: IteratorResult<Batch> = { value: undefined, done: true };
    const iterator: IterableIterator<Batch> = {
      next: (): IteratorResult<Batch> => {
        if (finished) return done;
        const r = batches.next();
        if (r.done === true) {
          // Only an epoch without batches gets here (fewer samples than a batch, dropLast).
          this.#nextEpoch();
          finished = true;
          return done;
        }
        // As DataLoader does: past the epoch's last batch, state() already names the next epoch.
        if (++this.#batch === this.length) {
          this.#nextEpoch();
          finished = true;
        }
        return r;
      },
      [Symbol.iterator]: () => iterator,
    };
    return iterator;
  }

  #nextEpoch(): void {
    this.#epoch++;
    this.#batch = 0;
  }

  /** A plain loader over this epoch's share (copied once an epoch, not per batch). */
  #epochLoader(): DataLoader {
    if (this.#current?.epoch !== this.#epoch) {
      this.sampler.setEpoch(this.#epoch);
      const shard = this.dataset.subset(this.sampler.indices());
      this.#current = {
        epoch: this.#epoch,
        loader: new DataLoader(shard, { batchSize: this.batchSize, shuffle: false, seed: 0, dropLast: this.dropLast }),
      };
    }
    return this.#current.loader;
  }
}
