/**
 * The divergence stop: a non-finite loss ends training with an error that names the epoch, the
 * step and the first parameter whose values or gradients are not finite. It runs after
 * backward and before the optimizer step, so the weights that produced the loss are intact and
 * the gradient that blew up is still there to name.
 */
import type { Tensor } from '../../tensor/index.js';
import type { BatchLoss, Callback, FitContext } from './callback.js';

/** Thrown when the loss stops being finite. */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    /** The epoch (1-based) whose loss or gradient stopped being finite. */
    readonly epoch: number,
    /** The batch within that epoch, 1-based. */
    readonly step: number,
    /** null|The name of the first parameter whose gradient is not finite, or null when the loss itself is not. */
    readonly parameter: string | null,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

export class DivergenceStop implements Callback {
  onAfterBackward({ loss, epoch, step }: BatchLoss, ctx: FitContext): void {
    if (!Number.isFinite(loss)) throw diverged(loss, epoch, step, ctx.model.namedParameters());
  }
}

function diverged(loss: number, epoch: number, step: number, named: [string, Tensor][]): TrainingDivergedError {
  let culprit: string | null = null;
  let what = '';
  for (const [name, p] of named) {
    if (!allFinite(p.data)) {
      culprit = name;
      what = `parameter ${name} holds non-finite values`;
      break;
    }
    if (p.grad !== null && !allFinite(p.grad.data)) {
      culprit = name;
      what = `first non-finite gradient: ${name}`;
      break;
    }
  }
  const detail = culprit === null ? 'every gradient is finite' : what;
  return new TrainingDivergedError(
    `training diverged: the loss is ${loss} at epoch ${epoch}, step ${step} (${detail}); try a smaller learning rate`,
    epoch,
    step,
    culprit,
  );
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}
