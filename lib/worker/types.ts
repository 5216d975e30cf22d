/** What fitInWorker takes and gives: its options (derived from fit's), events and result. */
import type { Module, ModuleSpec } from '../nn/index.js';
import type { OptimizerSpec, SchedulerSpec } from '../optim/index.js';
import type { FitOptions, EpochRecord, History, StepInfo } from '../train/fit.js';
import type { BackendName, SimdPath } from '../backend/types.js';
import { optionKeys } from '../options.js';

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
export const MODULE_FILE_SOURCE_KEYS = optionKeys<Extract<ModelSource, { modulePath: string }>>()(
  'modulePath',
  'exportName',
  'args',
);
export const SPEC_SOURCE_KEYS = optionKeys<Extract<ModelSource, { spec: ModuleSpec }>>()('spec', 'stateDict');

/**
 * fit's options, except what cannot cross a thread boundary: objects with methods become
 * descriptions (optimizer, scheduler), functions are left out (loss functions, callbacks: listen
 * to the events instead), progress output becomes events, and image transforms stay behind
 * (they are not sent to the worker yet).
 */
export interface WorkerFitOptions
  // distributed: the process group lives in the thread that called ng.distributed.init(), not the worker's
  extends Omit<
    FitOptions,
    'optimizer' | 'scheduler' | 'loss' | 'callbacks' | 'progress' | 'progressStream' | 'transforms' | 'distributed'
  > {
  /** Default Adam(lr = 1e-3), as in fit. */
  optimizer?: OptimizerSpec;
  /**
   * A learning-rate scheduler as data, built in the worker over its optimizer and stepped as fit steps it.
   * @defaultValue none: a constant lr
   */
  scheduler?: SchedulerSpec;
  /**
   * 'crossEntropy' or 'svm' for class labels, 'mse', 'l1' or 'huber' for float targets: a
   * function cannot cross a thread boundary.
   * @defaultValue 'crossEntropy' for class labels, 'mse' for float targets
   */
  loss?: Exclude<FitOptions['loss'], ((...args: never[]) => unknown) | undefined>;
  /**
   * Seeds the worker's global generator (model initialisation, dropout) and the shuffling, so
   * the run equals `manualSeed(seed); const m = moduleFromSpec(spec); fit(m, { seed, ... })` on
   * one thread, bit for bit on the same backend. Default: drawn from this thread's global
   * generator (so `manualSeed` here makes the worker reproducible too).
   */
  seed?: number;
  /** Cancels training: the result rejects with an AbortError and the worker exits. Default: none. */
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
export const WORKER_FIT_KEYS = optionKeys<WorkerFitOptions>()(
  'train',
  'validation',
  'epochs',
  'batchSize',
  'optimizer',
  'loss',
  'scheduler',
  'earlyStopping',
  'shuffle',
  'seed',
  'checkpoint',
  'checkpointEvery',
  'resume',
  'signal',
  'backend',
  'threads',
  'progressIntervalMs',
  'abortGraceMs',
);

/** fit's onBatchEnd, as an event. */
export type TrainingStepEvent = { type: 'step' } & StepInfo;
/** fit's onEpochEnd, as an event (with the run's total epochs). */
export type TrainingEpochEvent = { type: 'epoch'; epochs: number } & EpochRecord;
/** fit's log lines (resumed from a checkpoint, early stopping). */
export interface TrainingMessageEvent {
  /** Tells this event from 'step' and 'epoch' events. */
  type: 'message';
  /** The line, as fit would print it. */
  text: string;
}
/** Every event a WorkerTraining emits, told apart by type: 'step', 'epoch' or 'message'. */
export type TrainingEvent = TrainingStepEvent | TrainingEpochEvent | TrainingMessageEvent;

/** What fitInWorker's promise resolves to once training ends. */
export interface WorkerFitResult {
  /** The trained weights by parameter name: `moduleFromSpec(spec).loadStateDict(stateDict)`. */
  stateDict: Record<string, { shape: number[]; data: Float32Array }>;
  /** The run's history, as fit returns it. */
  history: History;
  /** The model's spec (also for a model built from a module file), when it has one. */
  spec: ModuleSpec | null;
  /** The backend, SIMD path and thread count the worker trained with. */
  backend: BackendName;
  /** The SIMD path the worker's kernels used (null for the TS backend). */
  simd: SimdPath | null;
  /** The worker's kernel thread count. */
  threads: number;
}
