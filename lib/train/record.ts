/**
 * What a training run reports: one record per epoch, the history of them, and the running
 * figures after each batch. Plain data (no imports), so progress output, plots, the worker's
 * messages and the CLI's JSON all share these declarations.
 */

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches (weighted by batch size). */
  loss: number;
  /** Training accuracy over the epoch, 0..1 (measured on the fly, in training mode). */
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The first group's learning rate during the epoch's last step. */
  lr: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface History {
  epochs: EpochRecord[];
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** The epoch with the best monitored value (valLoss, else loss, or earlyStopping.monitor). */
  bestEpoch: number;
}

/** The running figures after one batch (optimizer step) of an epoch. */
export interface StepInfo {
  epoch: number;
  epochs: number;
  /** 1-based, within the epoch. */
  step: number;
  steps: number;
  /** Mean loss over the epoch's batches so far. */
  loss: number;
  /** This batch's loss. */
  batchLoss: number;
  /** Training accuracy over the epoch's batches so far, 0..1. */
  accuracy: number;
  samplesPerSecond: number;
}
