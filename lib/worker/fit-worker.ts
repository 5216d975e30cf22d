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
 * - The data: copied once into SharedArrayBuffers (the caller's arrays stay as they are and stay
 *   usable); a Dataset already backed by SharedArrayBuffers (see `shareDataset`) is shared
 *   without any copy. The worker trains on the shared memory: nothing is copied per epoch.
 * - Optimizer and scheduler: plain descriptions, `{ type: 'adam', lr: 1e-3 }`.
 * - Cancellation: an AbortSignal sets a flag in shared memory that the worker reads at every
 *   step boundary; the worker throws an AbortError there and exits. A worker that does not
 *   reach a step boundary within `abortGraceMs` is terminated.
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
import type { Module, ModuleSpec } from '../nn/index.js';
import { SGD, Adam, AdamW, RMSprop, Adagrad, lrScheduler, type Optimizer, type Param } from '../optim/index.js';
import type { SGDOptions, AdamOptions, RMSpropOptions, AdagradOptions } from '../optim/index.js';
import { TrainingDivergedError, type EarlyStopping, type EpochRecord, type History } from '../train/fit.js';
import type { StepInfo } from '../train/progress.js';
import type { BackendName, SimdPath } from '../backend/types.js';
import { globalRng } from '../random.js';

/** Bumped whenever the messages between this file and worker-entry.ts change. */
export const WORKER_PROTOCOL = 1;

// ---- descriptions of optimizers and schedulers ----

export type OptimizerSpec =
  | ({ type: 'sgd' | 'SGD' } & SGDOptions)
  | ({ type: 'adam' | 'Adam' } & AdamOptions)
  | ({ type: 'adamw' | 'AdamW' } & AdamOptions)
  | ({ type: 'rmsprop' | 'RMSprop' } & RMSpropOptions)
  | ({ type: 'adagrad' | 'Adagrad' } & AdagradOptions);

export type SchedulerSpec =
  | ({ type: 'step' | 'StepLR' } & lrScheduler.StepLROptions)
  | ({ type: 'multistep' | 'MultiStepLR' } & lrScheduler.MultiStepLROptions)
  | ({ type: 'exponential' | 'ExponentialLR' } & lrScheduler.ExponentialLROptions)
  | ({ type: 'cosine' | 'CosineAnnealingLR' } & lrScheduler.CosineAnnealingLROptions)
  | ({ type: 'onecycle' | 'OneCycleLR' } & lrScheduler.OneCycleLROptions)
  | ({ type: 'plateau' | 'ReduceLROnPlateau' } & lrScheduler.ReduceLROnPlateauOptions);

function specType(kind: string, spec: unknown): [string, Record<string, unknown>] {
  if (spec === null || typeof spec !== 'object' || typeof (spec as { type?: unknown }).type !== 'string') {
    throw new TypeError(`${kind} must be an object with a string type, got ${describe(spec)}`);
  }
  const { type, ...options } = spec as { type: string } & Record<string, unknown>;
  return [type.toLowerCase(), options];
}

/** Builds the optimizer a description names, over `params` (what the worker does). */
export function optimizerFromSpec(spec: OptimizerSpec, params: Param[]): Optimizer<{ lr: number }> {
  const [type, o] = specType('optimizer', spec);
  switch (type) {
    case 'sgd':
      return new SGD(params, o as unknown as SGDOptions) as unknown as Optimizer<{ lr: number }>;
    case 'adam':
      return new Adam(params, o as AdamOptions) as unknown as Optimizer<{ lr: number }>;
    case 'adamw':
      return new AdamW(params, o as AdamOptions) as unknown as Optimizer<{ lr: number }>;
    case 'rmsprop':
      return new RMSprop(params, o as RMSpropOptions) as unknown as Optimizer<{ lr: number }>;
    case 'adagrad':
      return new Adagrad(params, o as AdagradOptions) as unknown as Optimizer<{ lr: number }>;
    default:
      throw new RangeError(`optimizer.type must be 'sgd', 'adam', 'adamw', 'rmsprop' or 'adagrad', got '${spec.type}'`);
  }
}

type AnyScheduler = lrScheduler.LRScheduler | lrScheduler.ReduceLROnPlateau;

/** Builds the learning-rate scheduler a description names, for `optimizer`. */
export function schedulerFromSpec(spec: SchedulerSpec, optimizer: Optimizer<{ lr: number }>): AnyScheduler {
  const [type, o] = specType('scheduler', spec);
  const opt = optimizer as ConstructorParameters<typeof lrScheduler.StepLR>[0];
  switch (type) {
    case 'step': case 'steplr':
      return new lrScheduler.StepLR(opt, o as unknown as lrScheduler.StepLROptions);
    case 'multistep': case 'multisteplr':
      return new lrScheduler.MultiStepLR(opt, o as unknown as lrScheduler.MultiStepLROptions);
    case 'exponential': case 'exponentiallr':
      return new lrScheduler.ExponentialLR(opt, o as unknown as lrScheduler.ExponentialLROptions);
    case 'cosine': case 'cosineannealinglr':
      return new lrScheduler.CosineAnnealingLR(opt, o as unknown as lrScheduler.CosineAnnealingLROptions);
    case 'onecycle': case 'onecyclelr':
      return new lrScheduler.OneCycleLR(opt, o as unknown as lrScheduler.OneCycleLROptions);
    case 'plateau': case 'reducelronplateau':
      return new lrScheduler.ReduceLROnPlateau(opt, o as lrScheduler.ReduceLROnPlateauOptions);
    default:
      throw new RangeError(
        `scheduler.type must be 'step', 'multistep', 'exponential', 'cosine', 'onecycle' or 'plateau', got '${spec.type}'`,
      );
  }
}

// ---- the model and the data ----

/** Weights as `{ shape, data }` records (what `Module.stateDict()` and `load()` give, too). */
export type WeightRecords = Record<string, { shape: readonly number[]; data: Float32Array }>;

/**
 * Where the worker gets its model:
 * - `{ spec, stateDict? }`: `moduleFromSpec(spec)`, then the weights if given (else freshly
 *   initialised from the seed);
 * - `{ modulePath, exportName?, args? }`: the worker imports the file (a path relative to the
 *   current directory, or absolute) and takes the export (default `'default'`): a Module, a
 *   function returning one (called with `args`, may be async), or a Module class (`new`ed with
 *   `args`). The file runs in the worker: it should import nodegrad itself;
 * - a Module: its spec and current weights (the Module is not changed; load the result into it).
 */
export type ModelSource =
  | { spec: ModuleSpec; stateDict?: WeightRecords }
  | { modulePath: string; exportName?: string; args?: unknown[] }
  | Module;

export interface WorkerFitOptions {
  train: Dataset;
  validation?: Dataset;
  epochs?: number;
  batchSize?: number;
  /** Default Adam(lr = 1e-3), as in fit. */
  optimizer?: OptimizerSpec;
  scheduler?: SchedulerSpec;
  /** Only the built-in losses: a function cannot cross a thread boundary. */
  loss?: 'crossEntropy' | 'svm';
  earlyStopping?: EarlyStopping;
  shuffle?: boolean;
  /**
   * Seeds the worker's global generator (model initialisation, dropout) and the shuffling, so
   * the run equals `manualSeed(seed); const m = moduleFromSpec(spec); fit(m, { seed, ... })` on
   * one thread, bit for bit on the same backend. Default: drawn from this thread's global
   * generator (so `manualSeed` here makes the worker reproducible too).
   */
  seed?: number;
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: string;
  /** Cancels training: the result rejects with an AbortError and the worker exits. */
  signal?: AbortSignal;
  /** The worker's backend (default: the worker's own choice, native when the addon loads). */
  backend?: BackendName;
  /** The worker's native thread-pool size (default NODEGRAD_THREADS, else the core count). */
  threads?: number;
  /** At most one 'step' event every this many ms, plus each epoch's last step (default 100; 0: every step). */
  progressIntervalMs?: number;
  /** How long an aborted worker may take to reach a step boundary before it is terminated (default 5000 ms). */
  abortGraceMs?: number;
}

// ---- events ----

export type TrainingStepEvent = { type: 'step' } & StepInfo;
export type TrainingEpochEvent = { type: 'epoch'; epochs: number } & EpochRecord;
/** fit's progress messages (resumed from a checkpoint, early stopping). */
export interface TrainingMessageEvent {
  type: 'message';
  text: string;
}
export type TrainingEvent = TrainingStepEvent | TrainingEpochEvent | TrainingMessageEvent;

export interface WorkerFitResult {
  /** The trained weights by parameter name: `moduleFromSpec(spec).loadStateDict(stateDict)`. */
  stateDict: Record<string, { shape: number[]; data: Float32Array }>;
  history: History;
  /** The model's spec (also for a model built from a module file), when it has one. */
  spec: ModuleSpec | null;
  /** The backend, SIMD path and thread count the worker trained with. */
  backend: BackendName;
  simd: SimdPath | null;
  threads: number;
}

interface EventMap {
  step: TrainingStepEvent;
  epoch: TrainingEpochEvent;
  message: TrainingMessageEvent;
  /** Every event above. */
  progress: TrainingEvent;
}

/** Rejects `result` when training is cancelled. `cause` is the signal's reason. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'training was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

// ---- wire format (shared with worker-entry.ts) ----

/** A Dataset's fields, with x and y on SharedArrayBuffers. */
export interface SharedDatasetInit {
  x: Float32Array;
  y: Int32Array;
  features: number;
  shape: number[];
  numClasses: number;
  classNames?: string[];
}

export type WireModel =
  | { kind: 'spec'; spec: ModuleSpec; stateDict?: Record<string, { shape: number[]; data: Float32Array }> }
  | { kind: 'module'; modulePath: string; exportName: string; args: unknown[] };

export interface WorkerInit {
  protocol: number;
  model: WireModel;
  train: SharedDatasetInit;
  validation?: SharedDatasetInit;
  fit: {
    epochs?: number;
    batchSize?: number;
    loss?: 'crossEntropy' | 'svm';
    earlyStopping?: EarlyStopping;
    shuffle?: boolean;
    seed: number;
    checkpoint?: string;
    checkpointEvery?: number;
    resume?: string;
  };
  optimizer?: OptimizerSpec;
  scheduler?: SchedulerSpec;
  backend?: BackendName;
  threads?: number;
  progressIntervalMs: number;
  /** [0] != 0: stop at the next step boundary. */
  control: Int32Array;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Own primitive properties (code, epoch, step, parameter, errno, path, ...). */
  props: Record<string, string | number | boolean | null>;
}

export type WorkerMessage =
  | ({ type: 'step' } & StepInfo)
  | ({ type: 'epoch'; epochs: number } & EpochRecord)
  | { type: 'message'; text: string }
  | ({ type: 'result' } & WorkerFitResult)
  | { type: 'error'; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: `non-error thrown: ${String(err)}`, props: {} };
  const props: SerializedError['props'] = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) props[k] = v as string | number | boolean | null;
  }
  return { name: err.name, message: err.message, stack: err.stack, props };
}

/** The worker's error as this thread's class of the same name (TypeError, TrainingDivergedError, ...). */
export function deserializeError(e: SerializedError, abortReason?: unknown): Error {
  let err: Error;
  const p = e.props;
  switch (e.name) {
    case 'TypeError': err = new TypeError(e.message); break;
    case 'RangeError': err = new RangeError(e.message); break;
    case 'SyntaxError': err = new SyntaxError(e.message); break;
    case 'ReferenceError': err = new ReferenceError(e.message); break;
    case 'EvalError': err = new EvalError(e.message); break;
    case 'URIError': err = new URIError(e.message); break;
    case 'AbortError': err = new AbortError(e.message, { cause: abortReason }); break;
    case 'TrainingDivergedError':
      err = new TrainingDivergedError(e.message, Number(p.epoch), Number(p.step), typeof p.parameter === 'string' ? p.parameter : null);
      break;
    default:
      err = new Error(e.message);
      if (e.name !== 'Error') Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true });
  }
  for (const [k, v] of Object.entries(p)) {
    if (!(k in err)) (err as unknown as Record<string, unknown>)[k] = v;
  }
  if (e.stack !== undefined) err.stack = `${e.stack}\n    at <nodegrad training worker>`;
  return err;
}

// ---- the main-thread side ----

/**
 * A Dataset whose x and y live in SharedArrayBuffers (copied once), for training in several
 * workers at once without copying the data for each. Returns `ds` itself when it already is.
 */
export function shareDataset(ds: Dataset): Dataset {
  if (!(ds instanceof Dataset)) throw new TypeError(`expected a Dataset, got ${describe(ds)}`);
  if (isShared(ds.x) && isShared(ds.y)) return ds;
  return new Dataset({ ...datasetFields(ds), x: sharedCopy(ds.x), y: sharedCopy(ds.y) });
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

function sharedCopy<T extends Float32Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

function datasetFields(ds: Dataset): Omit<SharedDatasetInit, 'x' | 'y'> {
  return {
    features: ds.features,
    shape: [...ds.shape],
    numClasses: ds.numClasses,
    ...(ds.classNames !== undefined ? { classNames: [...ds.classNames] } : {}),
  };
}

function toWireDataset(ds: Dataset): SharedDatasetInit {
  const shared = shareDataset(ds);
  return { x: shared.x, y: shared.y, ...datasetFields(ds) };
}

function toWireModel(source: ModelSource): WireModel {
  if (source === null || typeof source !== 'object') throw new TypeError(`model must be { spec }, { modulePath } or a Module, got ${describe(source)}`);
  if (typeof (source as Module).namedParameters === 'function' && typeof (source as Module).spec === 'function') {
    const m = source as Module;
    return { kind: 'spec', spec: m.spec(), stateDict: copyWeights(Object.fromEntries(m.namedParameters())) };
  }
  if ('modulePath' in source) {
    if (typeof source.modulePath !== 'string' || source.modulePath === '') throw new TypeError('model.modulePath must be a non-empty string');
    const exportName = source.exportName ?? 'default';
    if (typeof exportName !== 'string') throw new TypeError('model.exportName must be a string');
    if (source.args !== undefined && !Array.isArray(source.args)) throw new TypeError('model.args must be an array');
    return { kind: 'module', modulePath: path.resolve(source.modulePath), exportName, args: source.args ?? [] };
  }
  if ('spec' in source) {
    const { spec, stateDict: sd } = source as { spec: ModuleSpec; stateDict?: WeightRecords };
    if (sd !== undefined && (sd === null || typeof sd !== 'object')) throw new TypeError('model.stateDict must be an object of { shape, data }');
    return { kind: 'spec', spec, ...(sd !== undefined ? { stateDict: copyWeights(sd) } : {}) };
  }
  throw new TypeError('model must be { spec, stateDict? }, { modulePath, exportName?, args? } or a Module');
}

function copyWeights(sd: WeightRecords): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(sd)) {
    if (t === null || typeof t !== 'object' || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      throw new TypeError(`model.stateDict['${name}'] must be { shape, data: Float32Array } or a Tensor`);
    }
    out[name] = { shape: [...t.shape], data: t.data.slice() };
  }
  return out;
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
    const { train, validation, signal } = options;
    if (!(train instanceof Dataset)) throw new TypeError('fitInWorker: train must be a Dataset');
    if (validation !== undefined && !(validation instanceof Dataset)) throw new TypeError('fitInWorker: validation must be a Dataset');
    if (options.loss !== undefined && options.loss !== 'crossEntropy' && options.loss !== 'svm') {
      throw new TypeError(`fitInWorker: loss must be 'crossEntropy' or 'svm' (a function cannot be sent to a worker), got ${describe(options.loss)}`);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('fitInWorker: signal must be an AbortSignal');
    const interval = options.progressIntervalMs ?? 100;
    if (!(interval >= 0)) throw new RangeError(`fitInWorker: progressIntervalMs must be >= 0, got ${interval}`);
    if (!(this.graceMs >= 0)) throw new RangeError(`fitInWorker: abortGraceMs must be >= 0, got ${this.graceMs}`);
    if (signal?.aborted) {
      this.abortReason = signal.reason;
      throw new AbortError('training was aborted before it started', { cause: signal.reason });
    }
    const seed = options.seed ?? globalRng.int(2 ** 31);
    const init: WorkerInit = {
      protocol: WORKER_PROTOCOL,
      model: toWireModel(source),
      train: toWireDataset(train),
      ...(validation !== undefined ? { validation: toWireDataset(validation) } : {}),
      fit: {
        epochs: options.epochs,
        batchSize: options.batchSize,
        loss: options.loss,
        earlyStopping: options.earlyStopping,
        shuffle: options.shuffle,
        seed,
        checkpoint: options.checkpoint,
        checkpointEvery: options.checkpointEvery,
        resume: options.resume,
      },
      optimizer: options.optimizer,
      scheduler: options.scheduler,
      backend: options.backend,
      threads: options.threads,
      progressIntervalMs: interval,
      control: this.control,
    };
    const transfer = init.model.kind === 'spec' && init.model.stateDict
      ? Object.values(init.model.stateDict).map((t) => t.data.buffer as ArrayBuffer)
      : [];
    const worker = new Worker(workerScriptPath(), { workerData: init, transferList: transfer });
    this.worker = worker;
    const onAbort = () => this.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
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
      signal?.removeEventListener('abort', onAbort);
      this.worker = null;
      if (outcome === null) {
        outcome = { err: this.terminated
          ? new AbortError(`training was aborted; the worker did not reach a step boundary within ${this.graceMs} ms and was terminated`, { cause: this.abortReason })
          : Atomics.load(this.control, 0) !== 0
          ? new AbortError('training was aborted', { cause: this.abortReason })
          : new Error(`fitInWorker: the training worker exited with code ${code} before finishing`) };
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

/** A queue of events for one async iterator. */
class Channel implements AsyncIterator<TrainingEvent> {
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

/**
 * Trains a model in a worker thread; see the top of this file. Never throws: every problem
 * (bad options, a bad spec, data with NaN, divergence, a missing build) rejects `result`.
 */
export function fitInWorker(model: ModelSource, options: WorkerFitOptions): WorkerTraining {
  return new WorkerTraining(model, options);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v === 'string' ? `'${v}'` : `${typeof v} ${String(v)}`;
}
