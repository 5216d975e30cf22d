/**
 * The wire between fitInWorker (the parent) and worker-entry.ts: what the worker is started
 * with, the messages it posts back (fit's callback events, then the result or the error), and
 * how an error crosses with its class intact.
 */
import type { Task } from '../data/index.js';
import type { ModuleSpec } from '../nn/index.js';
import type { OptimizerSpec, SchedulerSpec } from '../optim/index.js';
import { TrainingDivergedError } from '../train/fit.js';
import type { BackendName } from '../backend/types.js';
import type { TrainingEvent, WorkerFitOptions, WorkerFitResult } from './types.js';

/** Bumped whenever the messages between the parent and worker-entry.ts change. */
export const WORKER_PROTOCOL = 3;

export type WireModel =
  | { kind: 'spec'; spec: ModuleSpec; stateDict?: Record<string, { shape: number[]; data: Float32Array }> }
  | { kind: 'module'; modulePath: string; exportName: string; args: unknown[] };

/** The options the worker handles itself rather than passing to fit. */
export type WorkerOnlyKey =
  | 'train'
  | 'validation'
  | 'optimizer'
  | 'scheduler'
  | 'signal'
  | 'backend'
  | 'threads'
  | 'progressIntervalMs'
  | 'abortGraceMs';

/** fit's options that cross to the worker as they are; the seed is always chosen by the parent. */
export type WireFitOptions = Omit<WorkerFitOptions, WorkerOnlyKey> & { seed: number };

/** A Dataset's fields, with x, y and targets on SharedArrayBuffers. */
export interface SharedDatasetInit {
  x: Float32Array;
  /** Empty for regression. */
  y: Int32Array;
  /** Regression's float targets (N x product(targetShape)); absent for classification. */
  targets?: Float32Array;
  targetShape: number[];
  task: Task;
  features: number;
  shape: number[];
  numClasses: number;
  classNames?: string[];
}

export interface WorkerInit {
  protocol: number;
  model: WireModel;
  train: SharedDatasetInit;
  validation?: SharedDatasetInit;
  fit: WireFitOptions;
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
  | TrainingEvent
  | ({ type: 'result' } & WorkerFitResult)
  | { type: 'error'; error: SerializedError };

/** Rejects `result` when training is cancelled. `cause` is the signal's reason. */
export class AbortError extends Error {
  /** Always 'ABORT_ERR', the code Node gives its own AbortError. */
  readonly code = 'ABORT_ERR';
  constructor(message = 'training was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: `non-error thrown: ${String(err)}`, props: {} };
  const props: SerializedError['props'] = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v))
      props[k] = v as string | number | boolean | null;
  }
  return { name: err.name, message: err.message, stack: err.stack, props };
}

/** The worker's error as this thread's class of the same name (TypeError, TrainingDivergedError, ...). */
export function deserializeError(e: SerializedError, abortReason?: unknown): Error {
  let err: Error;
  const p = e.props;
  switch (e.name) {
    case 'TypeError':
      err = new TypeError(e.message);
      break;
    case 'RangeError':
      err = new RangeError(e.message);
      break;
    case 'SyntaxError':
      err = new SyntaxError(e.message);
      break;
    case 'ReferenceError':
      err = new ReferenceError(e.message);
      break;
    case 'EvalError':
      err = new EvalError(e.message);
      break;
    case 'URIError':
      err = new URIError(e.message);
      break;
    case 'AbortError':
      err = new AbortError(e.message, { cause: abortReason });
      break;
    case 'TrainingDivergedError':
      err = new TrainingDivergedError(
        e.message,
        Number(p.epoch),
        Number(p.step),
        typeof p.parameter === 'string' ? p.parameter : null,
      );
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

/** What a value is, for "must be X, got Y" messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v === 'string' ? `'${v}'` : `${typeof v} ${String(v)}`;
}
