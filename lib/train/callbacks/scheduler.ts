/** Steps a learning-rate scheduler when the scheduler says it wants to be stepped (its stepOn). */
import type { lrScheduler } from '../../optim/index.js';
import type { EpochRecord } from '../record.js';
import type { Callback } from './callback.js';

export class SchedulerStep implements Callback {
  readonly stateKey = 'scheduler';

  constructor(readonly scheduler: lrScheduler.Scheduler) {}

  onBatchEnd(): void {
    if (this.scheduler.stepOn === 'batch') this.scheduler.step();
  }

  onEpochEnd(record: EpochRecord): void {
    const s = this.scheduler;
    if (s.stepOn === 'metric') s.step(record.valLoss ?? record.loss);
    else if (s.stepOn === 'epoch') s.step();
  }

  stateDict(): unknown {
    return this.scheduler.stateDict();
  }

  loadStateDict(state: unknown): void {
    this.scheduler.loadStateDict(state as Record<string, unknown>);
  }
}
