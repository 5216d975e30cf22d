/** Training in a worker thread, off the event loop: fitInWorker and what it takes and gives. */
export { fitInWorker, shareDataset, workerScriptPath, WorkerTraining, AbortError } from './fit-worker.js';
export type {
  WorkerFitOptions,
  WorkerFitResult,
  ModelSource,
  WeightRecords,
  TrainingEvent,
  TrainingStepEvent,
  TrainingEpochEvent,
  TrainingMessageEvent,
} from './types.js';
/** Kept here for code written before they moved to nodegrad.optim. */
export { optimizerFromSpec, schedulerFromSpec } from '../optim/index.js';
export type { OptimizerSpec, SchedulerSpec } from '../optim/index.js';
