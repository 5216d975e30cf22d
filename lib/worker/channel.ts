/** The async iterator behind WorkerTraining.progress: a queue of events per iterator. */
import type { TrainingEvent } from './types.js';

/** A queue of events for one async iterator. */
export class Channel implements AsyncIterator<TrainingEvent> {
  private readonly queue: TrainingEvent[] = [];
  private waiter: { resolve(r: IteratorResult<TrainingEvent>): void; reject(e: Error): void } | null = null;
  private done = false;
  private error: Error | null = null;

  constructor(private readonly detach: () => void) {}

  push(ev: TrainingEvent): void {
    if (this.done) return;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: ev, done: false });
    } else {
      this.queue.push(ev);
    }
  }

  end(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    this.detach();
    if (this.waiter !== null && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      this.settleEnd(w);
    }
  }

  next(): Promise<IteratorResult<TrainingEvent>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as TrainingEvent, done: false });
    if (this.done) return new Promise((resolve, reject) => this.settleEnd({ resolve, reject }));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** A `break` out of for-await: stop queueing (training goes on). */
  return(): Promise<IteratorResult<TrainingEvent>> {
    this.queue.length = 0;
    this.error = null;
    this.end(null);
    return Promise.resolve({ value: undefined, done: true });
  }

  private settleEnd(w: { resolve(r: IteratorResult<TrainingEvent>): void; reject(e: Error): void }): void {
    const err = this.error;
    this.error = null; // reported once; later next() calls just say done
    if (err !== null) w.reject(err);
    else w.resolve({ value: undefined, done: true });
  }
}
