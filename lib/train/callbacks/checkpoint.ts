/**
 * Checkpoints: after every `every` epochs (and after the last, or one that stops the run) the
 * whole run's state goes to one file: weights, optimizer, RNG, the loader's shuffling state,
 * the history, and each stateful callback's state (scheduler, best epoch). `resume` puts it all
 * back, so the resumed run ends bit-identical to one never interrupted.
 */
import type { Optimizer } from '../../optim/index.js';
import type { LoaderState } from '../../data/index.js';
import { globalRng, type RngState } from '../../random.js';
import { saveTree, loadTree } from '../serialize.js';
import type { History } from '../record.js';
import type { Callback, CallbackList, FitContext } from './callback.js';

/** The file's tree; stateful callbacks add their keys ('scheduler', 'best'). */
interface CheckpointState {
  epoch: number;
  model: Record<string, Float32Array>;
  /** The parameters' shapes, so resuming with another architecture names both; absent in older checkpoints. */
  shapes?: Record<string, number[]>;
  optimizer: unknown;
  rng: RngState;
  loader: LoaderState;
  history: History;
  [callbackState: string]: unknown;
}

export class ModelCheckpoint implements Callback {
  /** `callbacks` supplies the stateful callbacks' parts. */
  constructor(
    private readonly file: string,
    private readonly every: number,
    private readonly callbacks: () => CallbackList,
  ) {}

  onEpochEnd(_record: unknown, history: History, ctx: FitContext): void {
    const { epoch } = ctx;
    if (epoch % this.every !== 0 && epoch !== ctx.epochs && !ctx.stopRequested) return;
    const state: CheckpointState = {
      epoch,
      model: Object.fromEntries(Object.entries(ctx.model.stateDict()).map(([n, p]) => [n, p.data])),
      shapes: Object.fromEntries(Object.entries(ctx.model.stateDict()).map(([n, p]) => [n, [...p.shape]])),
      optimizer: ctx.optimizer.stateDict(),
      rng: globalRng.getState(),
      loader: ctx.loader.state(),
      history,
      ...this.callbacks().stateDicts(),
    };
    saveTree(this.file, state);
  }
}

/**
 * Puts a checkpoint's state back into the run's objects and callbacks; returns the epoch it was
 * written after. Any mismatch (another model, another optimizer) names the file.
 */
export function resumeFrom(file: string, ctx: FitContext, callbacks: CallbackList): number {
  const ck = loadTree(file) as unknown as CheckpointState;
  try {
    ctx.model.loadStateDict(
      Object.fromEntries(
        Object.entries(ctx.model.stateDict()).map(([n, p]) => [
          n,
          { shape: ck.shapes?.[n] ?? p.shape, data: ck.model[n] },
        ]),
      ),
    );
    ctx.optimizer.loadStateDict(ck.optimizer as Parameters<Optimizer['loadStateDict']>[0]);
    callbacks.loadStateDicts(ck);
    globalRng.setState(ck.rng);
    ctx.loader.setState(ck.loader);
  } catch (err) {
    throw new Error(`${file}: cannot resume from this checkpoint: ${(err as Error).message}`);
  }
  ctx.history.epochs.push(...ck.history.epochs);
  ctx.history.bestEpoch = ck.history.bestEpoch;
  return ck.epoch;
}
