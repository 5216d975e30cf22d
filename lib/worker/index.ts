/** Training in a worker thread, off the event loop: fitInWorker and what it takes and gives. */
export {
  fitInWorker, shareDataset, optimizerFromSpec, schedulerFromSpec, workerScriptPath, WorkerTraining, AbortError,
} from './fit-worker.js';
export type {
  WorkerFitOptions, WorkerFitResult, ModelSource, WeightRecords, OptimizerSpec, SchedulerSpec,
  TrainingEvent, TrainingStepEvent, TrainingEpochEvent, TrainingMessageEvent,
} from './fit-worker.js';
