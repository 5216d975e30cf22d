/** Progress output as a callback: the bar, lines or JSON of ../progress.ts. */
import { makeProgress, type Progress, type ProgressMode, type ProgressStream } from '../progress.js';
import type { EpochRecord, StepInfo } from '../record.js';
import type { Callback, FitContext } from './callback.js';

export class ProgressCallback implements Callback {
  private readonly progress: Progress;

  constructor(mode?: ProgressMode | boolean, stream?: ProgressStream) {
    this.progress = makeProgress(mode, stream);
  }

  onBatchEnd(info: StepInfo): void {
    this.progress.step(info);
  }

  onEpochEnd(record: EpochRecord, _history: unknown, ctx: FitContext): void {
    this.progress.epoch(record, ctx.epochs);
  }

  onLog(text: string): void {
    this.progress.message(text);
  }
}
