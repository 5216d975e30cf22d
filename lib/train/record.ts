/**
 * What a training run reports: one record per epoch, the history of them, and the running
 * figures after each batch. Plain data (no imports), so progress output, plots, the worker's
 * messages and the CLI's JSON all share these declarations.
 */

/** One epoch of a training run, as fit's History, progress output and the worker's events report it. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches (weighted by batch size). */
  loss: number;
  /** Training accuracy over the epoch, 0..1 (measured on the fly, in training mode). */
  accuracy: number;
  /** Mean loss on the validation set after the epoch (absent without validation data). */
  valLoss?: number;
  /** Accuracy on the validation set after the epoch, 0..1 (absent without validation data). */
  valAccuracy?: number;
  /** The first group's learning rate during the epoch's last step. */
  lr: number;
  /** Wall-clock time of the epoch, validation included, in seconds. */
  seconds: number;
  /** Training throughput of the epoch: samples / seconds spent in training steps. */
  samplesPerSecond: number;
}

/** What fit returns: one record per epoch and where the best one was. */
export interface History {
  /** One record per epoch run, in order (a resumed run includes the epochs before the checkpoint). */
  epochs: EpochRecord[];
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** The epoch with the best monitored value (valLoss, else loss, or earlyStopping.monitor). */
  bestEpoch: number;
}

/** The running figures after one batch (optimizer step) of an epoch. */
export interface StepInfo {
  /** The epoch running, 1-based. */
  epoch: number;
  /** The run's total number of epochs. */
  epochs: number;
  /** 1-based, within the epoch. */
  step: number;
  /** Batches (optimizer steps) in an epoch. */
  steps: number;
  /** Mean loss over the epoch's batches so far. */
  loss: number;
  /** This batch's loss. */
  batchLoss: number;
  /** Training accuracy over the epoch's batches so far, 0..1. */
  accuracy: number;
  /** Training throughput of the epoch so far. */
  samplesPerSecond: number;
}
