/**
 * Training off the event loop: `fitInWorker` runs `fit` in a worker_threads Worker, so a server
 * (or a UI) in the same process keeps answering while a model trains.
 *
 *   const job = fitInWorker({ spec: model.spec() }, { train, validation, epochs: 20, optimizer: { type: 'adam', lr: 1e-3 } });
 *   job.on('epoch', (e) => console.log(e.epoch, e.loss));     // or: for await (const e of job.progress) ...
 *   const { stateDict, history } = await job.result;
 *   const trained = moduleFromSpec(model.spec()); trained.loadStateDict(stateDict);
 *
 * What crosses the thread boundary, and how:
 * - The model: its spec (plus optional initial weights), a Module (its spec and current weights
 *   are sent; the Module itself is not changed), or a module file the worker imports.
 * - The data: a Dataset backed by SharedArrayBuffers (what the IDX loaders return, or see
 *   `shareDataset`) is shared without any copy. Any other is copied once into shared memory, in
 *   slices of a few ms between which the event loop runs (the caller's arrays stay as they are
 *   and stay usable); the worker starts when the copy is done. The worker trains on the shared
 *   memory: nothing is copied per epoch. So the call itself never holds the loop for long: its
 *   synchronous part checks the options, copies the model's weights and constructs the Worker.
 * - Optimizer and scheduler: plain descriptions, `{ type: 'adam', lr: 1e-3 }`.
 * - Cancellation: an AbortSignal sets a flag in shared memory that the worker reads at every
 *   step boundary; the worker throws an AbortError there and exits. A worker that does not
 *   reach a step boundary within `abortGraceMs` is terminated.
 * - Progress: the worker's fit runs a callback that posts each of its events (step, epoch,
 *   log line) as a message; they arrive here as 'step', 'epoch' and 'message' events.
 * - Results come back by transfer (no copy): the trained weights and the history.
 *
 * The worker runs the compiled script `worker-entry.js`: beside this file in dist/, or, when
 * this file runs from its TypeScript source (lib/, e.g. under vitest), at dist/worker/ under the
 * package root, so `npm run build:ts` must have run. Node 20 cannot run a .ts worker script.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Dataset } from '../data/index.js';
import { globalRng } from '../random.js';
import { checkOptions } from '../options.js';
import { Channel } from './channel.js';
import { toWireDataset } from './datasets.js';
import { toWireModel } from './model-source.js';
import {
  WORKER_PROTOCOL,
  AbortError,
  deserializeError,
  describe,
  type SharedDatasetInit,
  type WireFitOptions,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.js';
import { WORKER_FIT_KEYS } from './types.js';
import type {
  ModelSource,
  WorkerFitOptions,
  WorkerFitResult,
  TrainingEvent,
  TrainingStepEvent,
  TrainingEpochEvent,
  TrainingMessageEvent,
} from './types.js';

export { AbortError } from './protocol.js';
export { shareDataset } from './datasets.js';

interface EventMap {
  step: TrainingStepEvent;
  epoch: TrainingEpochEvent;
  message: TrainingMessageEvent;
  /** Every event above. */
  progress: TrainingEvent;
}

/**
 * The fit options sent to the worker as they are: every key of WireFitOptions but the seed,
 * listed so the compiler says when fit gains an option this list lacks.
 */
const SENT_FIT_OPTIONS: Record<Exclude<keyof WireFitOptions, 'seed'>, true> = {
  epochs: true,
  batchSize: true,
  loss: true,
  earlyStopping: true,
  shuffle: true,
  checkpoint: true,
  checkpointEvery: true,
  resume: true,
};

/** The losses fit knows by name, which can cross to the worker as strings (a function cannot). */
const WORKER_LOSSES = [
  'crossEntropy',
  'svm',
  'mse',
  'l1',
  'huber',
] as const satisfies readonly WorkerFitOptions['loss'][];

function wireFitOptions(options: WorkerFitOptions): WireFitOptions {
  const out: Record<string, unknown> = { seed: options.seed ?? globalRng.int(2 ** 31) };
  for (const k of Object.keys(SENT_FIT_OPTIONS) as (keyof typeof SENT_FIT_OPTIONS)[]) out[k] = options[k];
  return out as WireFitOptions;
}

/** Where the compiled worker script is: beside this file in dist/, else in dist/ under the package root. */
export function workerScriptPath(): string {
  const beside = path.join(__dirname, 'worker-entry.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.join(__dirname, '..', '..', 'dist', 'worker', 'worker-entry.js');
  if (fs.existsSync(built)) return built;
  throw new Error(
    `fitInWorker: the compiled worker script was found neither at ${beside} nor at ${built}; ` +
      'build it with `npm run build:ts` (a bundler must keep nodegrad external: the worker loads it from disk)',
  );
}

/** A training run in a worker thread. */
export class WorkerTraining {
  /** The trained weights and history; rejects with the worker's error (same class and message) or an AbortError. */
  readonly result: Promise<WorkerFitResult>;
  /** Progress events, in order, to every iterator started before they arrive; ends when training does (throws its error). */
  readonly progress: AsyncIterable<TrainingEvent>;
  private readonly emitter = new EventEmitter();
  private readonly channels = new Set<Channel>();
  private readonly control: Int32Array;
  private worker: Worker | null = null;
  private abortReason: unknown = undefined;
  private abortTimer: NodeJS.Timeout | null = null;
  private detachSignal: () => void = () => {};
  private graceMs: number;
  private settled = false;
  private terminated = false;
  private failure: Error | null = null;
  private resolve!: (r: WorkerFitResult) => void;
  private reject!: (e: Error) => void;

  /** @internal use fitInWorker */
  constructor(source: ModelSource, options: WorkerFitOptions) {
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.progress = { [Symbol.asyncIterator]: () => this.iterator() };
    this.control = new Int32Array(new SharedArrayBuffer(4));
    this.graceMs = options?.abortGraceMs ?? 5000;
    this.emitter.setMaxListeners(0);
    try {
      this.start(source, options);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Listens to 'step', 'epoch', 'message' or 'progress' (all three). */
  on<K extends keyof EventMap>(event: K, listener: (e: EventMap[K]) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  /** Removes a listener added with on(). */
  off<K extends keyof EventMap>(event: K, listener: (e: EventMap[K]) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  /** Same as the progress iterator. */
  [Symbol.asyncIterator](): AsyncIterator<TrainingEvent> {
    return this.iterator();
  }

  /** Cancels training, like aborting the signal. */
  abort(reason?: unknown): void {
    if (this.settled || Atomics.load(this.control, 0) !== 0) return;
    this.abortReason = reason ?? new AbortError();
    Atomics.store(this.control, 0, 1);
    if (this.worker === null) {
      this.fail(new AbortError('training was aborted before it started', { cause: this.abortReason }));
      return;
    }
    // The exit handler rejects once the worker is gone, so no worker outlives the promise.
    this.abortTimer = setTimeout(() => {
      this.abortTimer = null;
      this.terminated = true;
      void this.worker?.terminate();
    }, this.graceMs);
  }

  /** The worker's threadId (-1 before it starts or after it ends). */
  get threadId(): number {
    return this.worker?.threadId ?? -1;
  }

  private start(source: ModelSource, options: WorkerFitOptions): void {
    if (options === null || typeof options !== 'object') throw new TypeError('fitInWorker: options must be an object');
    checkOptions('fitInWorker', options, WORKER_FIT_KEYS);
    const { train, validation, signal } = options;
    if (!(train instanceof Dataset)) throw new TypeError('fitInWorker: train must be a Dataset');
    if (validation !== undefined && !(validation instanceof Dataset))
      throw new TypeError('fitInWorker: validation must be a Dataset');
    if (options.loss !== undefined && !(WORKER_LOSSES as readonly unknown[]).includes(options.loss)) {
      throw new TypeError(
        `fitInWorker: loss must be one of ${WORKER_LOSSES.map((l) => `'${l}'`).join(', ')} (a function cannot be sent to a worker), got ${describe(options.loss)}`,
      );
    }
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw new TypeError('fitInWorker: signal must be an AbortSignal');
    const interval = options.progressIntervalMs ?? 100;
    if (!(interval >= 0)) throw new RangeError(`fitInWorker: progressIntervalMs must be >= 0, got ${interval}`);
    if (!(this.graceMs >= 0)) throw new RangeError(`fitInWorker: abortGraceMs must be >= 0, got ${this.graceMs}`);
    if (signal?.aborted) {
      this.abortReason = signal.reason;
      throw new AbortError('training was aborted before it started', { cause: signal.reason });
    }
    const fit = wireFitOptions(options); // draws the seed first, as fit would
    const model = toWireModel(source); // the weights as they are at the call
    const onAbort = () => this.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.detachSignal = () => signal?.removeEventListener('abort', onAbort);
    const launch = (trainWire: SharedDatasetInit, validationWire: SharedDatasetInit | undefined): void => {
      if (this.settled) return; // aborted (or failed) during the copy
      this.launch({
        protocol: WORKER_PROTOCOL,
        model,
        train: trainWire,
        ...(validationWire !== undefined ? { validation: validationWire } : {}),
        fit,
        optimizer: options.optimizer,
        scheduler: options.scheduler,
        backend: options.backend,
        threads: options.threads,
        progressIntervalMs: interval,
        control: this.control,
      });
    };
    // Shared data starts the worker now; other data is copied to shared memory first, in slices,
    // so this call returns at once and the loop keeps turning while it is copied.
    const cancelled = () => this.settled;
    const t = toWireDataset(train, cancelled);
    const v = validation !== undefined ? toWireDataset(validation, cancelled) : undefined;
    if (!(t instanceof Promise) && !(v instanceof Promise)) launch(t, v);
    else
      void Promise.all([t, v])
        .then(([tw, vw]) => launch(tw, vw))
        .catch((err: Error) => this.fail(err));
  }

  private launch(init: WorkerInit): void {
    const transfer =
      init.model.kind === 'spec' && init.model.stateDict
        ? Object.values(init.model.stateDict).map((t) => t.data.buffer as ArrayBuffer)
        : [];
    const worker = new Worker(workerScriptPath(), { workerData: init, transferList: transfer });
    this.worker = worker;
    let outcome: { ok: WorkerFitResult } | { err: Error } | null = null;
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'step':
        case 'epoch':
        case 'message':
          this.dispatch(m as TrainingEvent);
          break;
        case 'result': {
          const { type: _, ...r } = m;
          outcome = { ok: r };
          break;
        }
        case 'error':
          outcome = { err: deserializeError(m.error, this.abortReason) };
          break;
      }
    });
    worker.on('error', (err) => {
      outcome ??= { err };
    });
    worker.on('exit', (code) => {
      this.worker = null;
      if (outcome === null) {
        outcome = {
          err: this.terminated
            ? new AbortError(
                `training was aborted; the worker did not reach a step boundary within ${this.graceMs} ms and was terminated`,
                { cause: this.abortReason },
              )
            : Atomics.load(this.control, 0) !== 0
              ? new AbortError('training was aborted', { cause: this.abortReason })
              : new Error(`fitInWorker: the training worker exited with code ${code} before finishing`),
        };
      }
      if ('ok' in outcome) this.succeed(outcome.ok);
      else this.fail(outcome.err);
    });
  }

  private dispatch(ev: TrainingEvent): void {
    for (const c of this.channels) c.push(ev);
    this.emitter.emit(ev.type, ev);
    this.emitter.emit('progress', ev);
  }

  private succeed(r: WorkerFitResult): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    for (const c of this.channels) c.end(null);
    this.resolve(r);
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = err;
    this.cleanup();
    // The error reached whoever iterates: the result's rejection is then handled too.
    if (this.channels.size > 0) this.result.catch(() => {});
    for (const c of this.channels) c.end(err);
    this.reject(err);
  }

  private cleanup(): void {
    this.detachSignal();
    if (this.abortTimer !== null) clearTimeout(this.abortTimer);
    this.abortTimer = null;
    // Settling happens on the worker's exit or before it started; never leave one behind.
    if (this.worker !== null) void this.worker.terminate();
  }

  private iterator(): AsyncIterator<TrainingEvent> {
    const ch = new Channel(() => this.channels.delete(ch));
    if (this.settled) {
      ch.end(this.failure); // a finished run's error still reaches a late iterator
    } else {
      this.channels.add(ch);
    }
    return ch;
  }
}

/**
 * Trains a model in a worker thread; see the top of this file. Never throws: every problem
 * (bad options, a bad spec, data with NaN, divergence, a missing build) rejects `result`.
 */
export function fitInWorker(model: ModelSource, options: WorkerFitOptions): WorkerTraining {
  return new WorkerTraining(model, options);
}
