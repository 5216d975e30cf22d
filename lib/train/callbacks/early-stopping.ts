/**
 * Tracks the best epoch by a monitored value (history.bestEpoch) and, when asked, stops once it
 * has not improved for `patience` epochs, putting back the best epoch's weights. fit always
 * installs it: without earlyStopping it only tracks the best epoch.
 */
import type { Tensor } from '../../tensor/index.js';
import type { EpochRecord, History } from '../record.js';
import type { Callback, FitContext } from './callback.js';
import { checkChoice, checkOptions, optionKeys } from '../../options.js';

/**
 * fit's earlyStopping option (Keras's EarlyStopping): stop once the monitored value has not improved for patience
 * epochs.
 */
export interface EarlyStopping {
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Default 'valLoss' (or 'loss' without validation data). */
  monitor?: 'valLoss' | 'valAccuracy' | 'loss' | 'accuracy';
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the best epoch's weights at the end (default true). */
  restoreBest?: boolean;
}
export const EARLY_STOPPING_KEYS = optionKeys<EarlyStopping>()('patience', 'monitor', 'minDelta', 'restoreBest');
const MONITORS = ['valLoss', 'valAccuracy', 'loss', 'accuracy'] as const satisfies readonly NonNullable<
  EarlyStopping['monitor']
>[];

/** What a checkpoint keeps of it (the same shape as before callbacks existed, so old checkpoints resume). */
interface Best {
  value: number;
  epoch: number;
  bad: number;
  weights: Record<string, Float32Array> | null;
}

export class EarlyStoppingCallback implements Callback {
  readonly stateKey = 'best';
  private readonly monitor: NonNullable<EarlyStopping['monitor']>;
  private readonly maximize: boolean;
  private best: Best;

  /** `options` undefined: track the best epoch only, never stop. */
  constructor(
    private readonly options: EarlyStopping | undefined,
    hasValidation: boolean,
  ) {
    checkOptions('fit earlyStopping', options, EARLY_STOPPING_KEYS);
    if (options !== undefined) checkPatience(options.patience);
    // Keras's 'val_loss' would otherwise fail later as "needs validation data"
    this.monitor = checkChoice(
      'fit earlyStopping',
      'monitor',
      options?.monitor ?? (hasValidation ? 'valLoss' : 'loss'),
      MONITORS,
    );
    this.maximize = this.monitor === 'valAccuracy' || this.monitor === 'accuracy';
    this.best = { value: this.maximize ? -Infinity : Infinity, epoch: 0, bad: 0, weights: null };
  }

  onEpochEnd(record: EpochRecord, history: History, ctx: FitContext): void {
    const { monitor, maximize, options: early } = this;
    const minDelta = early?.minDelta ?? 0;
    const value = record[monitor];
    if (value === undefined) throw new RangeError(`earlyStopping.monitor '${monitor}' needs validation data`);
    const best = this.best;
    const improved = maximize ? value > best.value + minDelta : value < best.value - minDelta;
    if (improved) {
      const keep = early !== undefined && early.restoreBest !== false;
      this.best = {
        value,
        epoch: record.epoch,
        bad: 0,
        weights: keep ? snapshot(Object.entries(ctx.model.stateDict())) : null,
      };
      history.bestEpoch = record.epoch;
    } else {
      best.bad++;
      if (early !== undefined && best.bad > early.patience) {
        history.stoppedEarly = true;
        ctx.log(
          `early stopping: ${monitor} has not improved for ${best.bad} epochs (best ${value === best.value ? value : best.value} at epoch ${best.epoch})`,
        );
        ctx.stop();
      }
    }
  }

  onTrainEnd(history: History, ctx: FitContext): void {
    const weights = this.best.weights;
    if (history.stoppedEarly && weights !== null) {
      for (const [n, p] of Object.entries(ctx.model.stateDict())) p.data.set(weights[n]);
    }
  }

  stateDict(): Best {
    return this.best;
  }

  loadStateDict(state: unknown): void {
    this.best = state as Best;
  }
}

function checkPatience(v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`earlyStopping.patience must be an integer >= 0, got ${v}`);
}

function snapshot(named: [string, Tensor][]): Record<string, Float32Array> {
  return Object.fromEntries(named.map(([n, p]) => [n, p.data.slice()]));
}
