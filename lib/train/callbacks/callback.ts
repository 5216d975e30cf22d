/**
 * Callbacks: what fit calls around its loop, in the spirit of Keras's and Lightning's. fit's own
 * behaviours (progress output, the divergence stop, scheduler stepping, early stopping,
 * checkpoints) are callbacks too; the user's run between fit's and early stopping, so they see
 * each epoch's record before early stopping judges it, and a checkpoint sees their stop.
 *
 * Order within one step: forward, loss, backward, onAfterBackward, optimizer.step(), onBatchEnd.
 */
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../optim/index.js';
import type { DataLoader } from '../../data/index.js';
import type { EpochRecord, History, StepInfo } from '../record.js';
import { checkHooks, optionKeys } from '../../options.js';

/** The run as callbacks see it: live objects, not copies. */
export interface FitContext {
  /** The model being trained. */
  readonly model: Module;
  /** The optimizer stepping it (the one passed to fit, or its default Adam). */
  readonly optimizer: Optimizer<{ lr: number }>;
  /** The shuffling loader of the training set (its state goes into checkpoints). */
  readonly loader: DataLoader;
  /** The epochs so far; fit pushes each record before onEpochEnd. */
  readonly history: History;
  /** The run's total number of epochs. */
  readonly epochs: number;
  /** Batches (optimizer steps) an epoch. */
  readonly steps: number;
  /** The epoch running or just ended (1-based; the last finished one before the first onEpochBegin). */
  readonly epoch: number;
  /** True once a callback asked to stop. */
  readonly stopRequested: boolean;
  /** Ends training after the current epoch, once every onEpochEnd (and the checkpoint) has run. */
  stop(): void;
  /** A line for the user (resumed from a checkpoint, early stopping): every callback's onLog gets it. */
  log(text: string): void;
}

/** The batch whose gradients have just been computed, before the optimizer uses them. */
export interface BatchLoss {
  /** The epoch, 1-based. */
  epoch: number;
  /** The batch within the epoch, 1-based. */
  step: number;
  /** This batch's loss. */
  loss: number;
}

/**
 * Hooks fit calls around its loop (Keras's Callback, Lightning's hooks); implement any of them. Order within a step:
 * forward, loss, backward, onAfterBackward, optimizer.step(), onBatchEnd.
 */
export interface Callback {
  /** After the checks and any resume, before the first epoch. */
  onTrainBegin?(ctx: FitContext): void;
  /** Before the epoch's first batch; epoch is 1-based. */
  onEpochBegin?(epoch: number, ctx: FitContext): void;
  /** After backward, before optimizer.step(): the gradients are there to inspect. */
  onAfterBackward?(batch: BatchLoss, ctx: FitContext): void;
  /** After every optimizer step. */
  onBatchEnd?(info: StepInfo, ctx: FitContext): void;
  /** The old name of onBatchEnd, still called (after onBatchEnd) for callbacks that have it. */
  onStep?(info: StepInfo, ctx: FitContext): void;
  /** After every epoch (the record is already in history); return false to stop training, like ctx.stop(). */
  onEpochEnd?(record: EpochRecord, history: History, ctx: FitContext): void | boolean;
  /** Once the loop is over (not after an error), before early stopping's best weights are put back. */
  onTrainEnd?(history: History, ctx: FitContext): void;
  /** Receives every line a callback or fit logs through ctx.log (resume, early stopping). */
  onLog?(text: string, ctx: FitContext): void;
  /** Checkpoints store what stateDict() returns under this key, and resume hands it back. */
  readonly stateKey?: string;
  /** The callback's state for a checkpoint (JSON-safe); needs stateKey. */
  stateDict?(): unknown;
  /** Restores what stateDict() returned, when a run resumes from a checkpoint. */
  loadStateDict?(state: unknown): void;
}

/** `callbacks` as fit takes it: one callback object (the old `{ onStep, onEpochEnd }` is one) or several. */
export type Callbacks = Callback | Callback[];

/** Every member a callback may have; checkHooks refuses another method named like a hook. */
export const CALLBACK_KEYS = optionKeys<Callback>()(
  'onTrainBegin',
  'onEpochBegin',
  'onAfterBackward',
  'onBatchEnd',
  'onStep',
  'onEpochEnd',
  'onTrainEnd',
  'onLog',
  'stateKey',
  'stateDict',
  'loadStateDict',
);
const HOOKS = CALLBACK_KEYS.filter((k) => k.startsWith('on'));

/** Runs a hook on every callback, in order. */
export class CallbackList {
  constructor(
    readonly callbacks: Callback[],
    private readonly ctx: FitContext,
  ) {}

  trainBegin(): void {
    for (const c of this.callbacks) c.onTrainBegin?.(this.ctx);
  }

  epochBegin(epoch: number): void {
    for (const c of this.callbacks) c.onEpochBegin?.(epoch, this.ctx);
  }

  afterBackward(batch: BatchLoss): void {
    for (const c of this.callbacks) c.onAfterBackward?.(batch, this.ctx);
  }

  batchEnd(info: StepInfo): void {
    for (const c of this.callbacks) {
      c.onBatchEnd?.(info, this.ctx);
      c.onStep?.(info, this.ctx);
    }
  }

  epochEnd(record: EpochRecord): void {
    for (const c of this.callbacks) {
      if (c.onEpochEnd?.(record, this.ctx.history, this.ctx) === false) this.ctx.stop();
    }
  }

  trainEnd(): void {
    for (const c of this.callbacks) c.onTrainEnd?.(this.ctx.history, this.ctx);
  }

  log(text: string): void {
    for (const c of this.callbacks) c.onLog?.(text, this.ctx);
  }

  /** Each stateful callback's state by its key. */
  stateDicts(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const c of this.callbacks) if (c.stateKey !== undefined && c.stateDict) out[c.stateKey] = c.stateDict();
    return out;
  }

  /** Hands each stateful callback its part of a checkpoint (a missing part is left alone). */
  loadStateDicts(states: Record<string, unknown>): void {
    for (const c of this.callbacks) {
      if (c.stateKey !== undefined && c.loadStateDict && states[c.stateKey] != null)
        c.loadStateDict(states[c.stateKey]);
    }
  }
}

/** Checks the `callbacks` option and gives the list. */
export function userCallbacks(callbacks: Callbacks | undefined): Callback[] {
  if (callbacks === undefined) return [];
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  list.forEach((c, i) => {
    if (c === null || typeof c !== 'object') {
      throw new TypeError(
        `fit: callbacks${Array.isArray(callbacks) ? `[${i}]` : ''} must be an object of hooks (onEpochEnd, ...), got ${c === null ? 'null' : typeof c}`,
      );
    }
    checkHooks(`fit callbacks${Array.isArray(callbacks) ? `[${i}]` : ''}`, c, HOOKS);
  });
  return list;
}
