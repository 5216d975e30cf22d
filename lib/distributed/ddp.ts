/**
 * Data-parallel training (torch.nn.parallel.DistributedDataParallel): every rank holds the whole
 * model, rank 0's parameters are broadcast once, and after each backward the gradients are
 * averaged over the ranks in buckets (a few large all-reduces, not one per tensor) before the
 * optimizer steps, so every rank takes the same step and the replicas never drift apart.
 */
import type { Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import type { Callback } from '../train/callbacks/index.js';
import type { Dataset } from '../data/index.js';
import { markModified } from '../tensor/version.js';
import { globalRng } from '../random.js';
import { checkOptions, optionKeys } from '../options.js';
import { allReduceSync, broadcastSync, getRank, getWorldSize, isInitialized } from './process-group.js';
import { DistributedLoader } from './sampler.js';

/** Options of DistributedDataParallel. */
export interface DistributedDataParallelOptions {
  /** Gradients per all-reduce, in MiB (torch's bucket_cap_mb). @defaultValue 25 */
  bucketCapMb?: number;
}
const DDP_KEYS = optionKeys<DistributedDataParallelOptions>()('bucketCapMb');

interface Bucket {
  params: [string, Tensor][];
  buffer: Float32Array;
}

/**
 * Wraps a model for data-parallel training over the initialised process group. In fit, pass
 * `distributed: true` instead; in a loop of your own: `ddp.broadcastParameters()` once, then
 * `loss.backward(); ddp.allReduceGradients(); optimizer.step()` each step.
 */
export class DistributedDataParallel {
  /** This process's rank, when the wrapper was made. */
  readonly rank: number;
  /** The number of processes, when the wrapper was made. */
  readonly worldSize: number;
  private readonly buckets: Bucket[] = [];

  constructor(
    /** The wrapped model (torch's `ddp.module`). */
    readonly module: Module,
    options: DistributedDataParallelOptions = {},
  ) {
    checkOptions('DistributedDataParallel', options, DDP_KEYS);
    if (!isInitialized())
      throw new Error(
        'DistributedDataParallel: the process group is not initialised (call ng.distributed.init() first)',
      );
    const capMb = options.bucketCapMb ?? 25;
    if (typeof capMb !== 'number' || !(capMb > 0))
      throw new RangeError(`DistributedDataParallel: bucketCapMb must be > 0, got ${String(capMb)}`);
    this.rank = getRank();
    this.worldSize = getWorldSize();
    // Buckets in reverse order of the parameters, as torch's: backward finishes the last layers first.
    const cap = Math.max(1, Math.floor((capMb * 2 ** 20) / 4));
    let params: [string, Tensor][] = [];
    let size = 0;
    const flush = () => {
      if (params.length > 0) this.buckets.push({ params, buffer: new Float32Array(size) });
      params = [];
      size = 0;
    };
    for (const [name, p] of module.namedParameters().reverse()) {
      if (!p.requiresGrad) continue;
      if (size > 0 && size + p.numel > cap) flush();
      params.push([name, p]);
      size += p.numel;
    }
    flush();
  }

  /** The wrapped module's forward. */
  forward(x: Tensor): Tensor {
    return this.module.forward(x);
  }

  /** Gives every rank rank 0's parameters (torch's DDP does it when it wraps the model). */
  broadcastParameters(): void {
    const params = this.module.parameters();
    const flat = new Float32Array(params.reduce((n, p) => n + p.numel, 0));
    let off = 0;
    for (const p of params) {
      flat.set(p.data, off);
      off += p.numel;
    }
    broadcastSync(flat, 0);
    off = 0;
    for (const p of params) {
      p.data.set(flat.subarray(off, off + p.numel));
      markModified(p.data);
      off += p.numel;
    }
  }

  /** Replaces every gradient with its mean over the ranks; call it after backward, before step. */
  allReduceGradients(): void {
    for (const { params, buffer } of this.buckets) {
      let off = 0;
      for (const [name, p] of params) {
        if (p.grad === null)
          throw new Error(
            `DistributedDataParallel: parameter '${name}' has no gradient on rank ${this.rank} (not used by the forward pass?)`,
          );
        buffer.set(p.grad.data, off);
        off += p.numel;
      }
      allReduceSync(buffer, 'mean');
      off = 0;
      for (const [, p] of params) {
        p.grad!.data.set(buffer.subarray(off, off + p.numel));
        off += p.numel;
      }
    }
  }

  /**
   * fit's hooks: the broadcast before the first epoch, the gradient average after each backward,
   * and each epoch's loss and accuracy averaged over the ranks, so that every rank's history,
   * progress and early stopping see the same global figures (and stop at the same epoch).
   */
  callback(): Callback {
    // Each figure as a float32 and the float32 of its remainder: their means, added, keep about
    // 48 bits of the double, where one float32 would keep 24 (and a world of one stays exact).
    const figures = new Float32Array(4);
    return {
      onTrainBegin: () => this.broadcastParameters(),
      onAfterBackward: () => this.allReduceGradients(),
      onEpochEnd: (record) => {
        figures[0] = record.loss;
        figures[1] = record.loss - figures[0];
        figures[2] = record.accuracy;
        figures[3] = record.accuracy - figures[2];
        allReduceSync(figures, 'mean');
        record.loss = figures[0] + figures[1];
        record.accuracy = figures[2] + figures[3];
      },
    };
  }
}

/**
 * What fit needs for `distributed: true`: this rank's loader (batchSize per rank) and the DDP
 * callback. Without a seed, rank 0's is used on every rank, so that all share one order.
 */
export function dataParallel(
  model: Module,
  train: Dataset,
  options: { batchSize: number; shuffle: boolean; seed: number | undefined },
): { loader: DistributedLoader; callback: Callback; rank: number } {
  const ddp = new DistributedDataParallel(model);
  let seed = options.seed;
  if (seed === undefined) {
    // Broadcast bytes, not a float: a seed up to 2^31 does not fit a float32 exactly.
    const bits = new Uint32Array([globalRng.int(2 ** 31)]);
    broadcastSync(new Float32Array(bits.buffer), 0);
    seed = bits[0];
  }
  const loader = new DistributedLoader(train, { batchSize: options.batchSize, shuffle: options.shuffle, seed });
  return { loader, callback: ddp.callback(), rank: ddp.rank };
}
