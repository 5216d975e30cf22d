/** Normalisation layers: BatchNorm1d and BatchNorm2d (torch.nn's, with its names and defaults). */
import { checkOptions, optionKeys, quote } from '../options.js';
import { Tensor, fmtShape, batchNorm } from '../tensor/index.js';
import { checkTensor } from '../tensor/tensor.js';
import { Module, type ModuleSpec } from './module.js';

/** Options of BatchNorm1d and BatchNorm2d (torch.nn.BatchNorm1d's keyword arguments). */
export interface BatchNormOptions {
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /**
   * How far the running statistics move towards each batch's, in [0, 1] (default 0.1); null
   * for the cumulative average over every batch so far (as torch's momentum=None).
   */
  momentum?: number | null;
  /** Learnable per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
  /**
   * Keep running statistics for eval mode (default true); without them eval mode normalises
   * with each batch's own statistics, as training does.
   */
  trackRunningStats?: boolean;
}
export const BATCH_NORM_KEYS = optionKeys<BatchNormOptions>()('eps', 'momentum', 'affine', 'trackRunningStats');

/** The spec of a BatchNorm1d or BatchNorm2d (what moduleFromSpec rebuilds). */
export type BatchNormSpec = {
  /** Which layer. */
  type: 'BatchNorm1d' | 'BatchNorm2d';
  /** Channels (dimension 1 of the input). */
  numFeatures: number;
  /** As BatchNormOptions.eps. */
  eps: number;
  /** As BatchNormOptions.momentum (null: cumulative average). */
  momentum: number | null;
  /** As BatchNormOptions.affine. */
  affine: boolean;
  /** As BatchNormOptions.trackRunningStats. */
  trackRunningStats: boolean;
};

// Python's repr of a float, as torch's module repr prints eps and momentum (1e-05, 0.1).
function pyFloat(v: number): string {
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e16)) {
    return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/**
 * The batch normalisation both layers share; they differ in the input ranks they accept.
 * Buffers and state-dict keys are torch's: weight, bias, running_mean, running_var,
 * num_batches_tracked (stored as int64 in files, as torch's).
 */
abstract class BatchNorm extends Module {
  /** Channels: dimension 1 of the input. */
  readonly numFeatures: number;
  /** Added to the variance before its square root. */
  readonly eps: number;
  /** How far the running statistics move towards each batch's; null for the cumulative average. */
  readonly momentum: number | null;
  /** Whether the layer has a learnable weight and bias. */
  readonly affine: boolean;
  /** Whether the layer keeps running statistics for eval mode. */
  readonly trackRunningStats: boolean;
  /** Per-channel scale, ones at first; null unless affine. */
  weight: Tensor | null = null;
  /** Per-channel shift, zeros at first; null unless affine. */
  bias: Tensor | null = null;
  /** Running mean per channel (zeros at first); null unless trackRunningStats. */
  runningMean: Tensor | null = null;
  /** Running (unbiased) variance per channel (ones at first); null unless trackRunningStats. */
  runningVar: Tensor | null = null;
  /** Training batches seen so far, a scalar tensor; null unless trackRunningStats. */
  numBatchesTracked: Tensor | null = null;

  /** The input ranks the layer accepts. */
  protected abstract readonly ranks: readonly number[];

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const owner = new.target.name;
    checkOptions(owner, opts, BATCH_NORM_KEYS);
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      const E = typeof numFeatures === 'number' ? RangeError : TypeError;
      throw new E(`${owner}: numFeatures must be an integer >= 1, got ${quote(numFeatures)}`);
    }
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true } = opts;
    if (typeof eps !== 'number' || !(eps >= 0))
      throw new RangeError(`${owner}: eps must be a number >= 0, got ${quote(eps)}`);
    if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)))
      throw new RangeError(`${owner}: momentum must be a number in [0, 1] or null, got ${quote(momentum)}`);
    if (typeof affine !== 'boolean') throw new TypeError(`${owner}: affine must be a boolean, got ${quote(affine)}`);
    if (typeof trackRunningStats !== 'boolean')
      throw new TypeError(`${owner}: trackRunningStats must be a boolean, got ${quote(trackRunningStats)}`);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    if (affine) {
      this.weight = this.registerParameter('weight', new Tensor(new Float32Array(numFeatures).fill(1), [numFeatures]));
      this.bias = this.registerParameter('bias', new Tensor(new Float32Array(numFeatures), [numFeatures]));
    }
    if (trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', new Tensor(new Float32Array(numFeatures), [numFeatures]));
      this.runningVar = this.registerBuffer(
        'running_var',
        new Tensor(new Float32Array(numFeatures).fill(1), [numFeatures]),
      );
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', new Tensor(new Float32Array(1), []), {
        dtype: 'int64',
      });
    }
  }

  /** Running mean 0, variance 1, no batches tracked (as torch's reset_running_stats). */
  resetRunningStats(): void {
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    checkTensor(x, this.describe(), 'the input');
    if (!this.ranks.includes(x.shape.length)) {
      throw new RangeError(
        `${this.describe()} expected ${this.ranks.map((r) => `${r}-D`).join(' or ')} input, got shape ${fmtShape(x.shape)}`,
      );
    }
    if (x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${this.describe()} got an input with ${x.shape[1]} channels where ${this.numFeatures} were expected (input shape ${fmtShape(x.shape)}, channels are dimension 1)`,
      );
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked !== null) {
      const count = this.numBatchesTracked.data;
      count[0] += 1;
      if (this.momentum === null) factor = 1 / count[0];
    }
    // without running statistics eval mode uses the batch's, as torch does
    const batchStats = this.training || this.runningMean === null;
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, batchStats, factor, this.eps);
  }

  override describe(): string {
    return `${this.constructor.name}(${this.numFeatures})`;
  }

  spec(): ModuleSpec {
    return {
      type: this instanceof BatchNorm2d ? 'BatchNorm2d' : 'BatchNorm1d',
      numFeatures: this.numFeatures,
      eps: this.eps,
      momentum: this.momentum,
      affine: this.affine,
      trackRunningStats: this.trackRunningStats,
    };
  }

  protected override extraRepr(): string {
    const py = (b: boolean) => (b ? 'True' : 'False');
    const m = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${m}, affine=${py(this.affine)}, track_running_stats=${py(this.trackRunningStats)}`;
  }
}

/**
 * Batch normalisation of [N, C] or [N, C, L] input over N (and L) per channel C, as
 * torch.nn.BatchNorm1d: batch statistics in training mode (updating the running ones), the
 * running statistics in eval mode.
 */
export class BatchNorm1d extends BatchNorm {
  /** [N, C] or [N, C, L]. */
  protected readonly ranks = [2, 3] as const;
}

/**
 * Batch normalisation of [N, C, H, W] input over N, H and W per channel C, as
 * torch.nn.BatchNorm2d: batch statistics in training mode (updating the running ones), the
 * running statistics in eval mode.
 */
export class BatchNorm2d extends BatchNorm {
  /** [N, C, H, W]. */
  protected readonly ranks = [4] as const;
}

/** The module a BatchNorm spec describes. */
export function batchNormFromSpec(spec: BatchNormSpec): Module {
  const cls = spec.type === 'BatchNorm1d' ? BatchNorm1d : BatchNorm2d;
  return new cls(spec.numFeatures, {
    eps: spec.eps,
    momentum: spec.momentum,
    affine: spec.affine,
    trackRunningStats: spec.trackRunningStats,
  });
}
