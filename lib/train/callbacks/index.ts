export { CallbackList, userCallbacks } from './callback.js';
export type { Callback, Callbacks, FitContext, BatchLoss } from './callback.js';
export { ProgressCallback } from './progress.js';
export { DivergenceStop, TrainingDivergedError } from './divergence.js';
export { SchedulerStep } from './scheduler.js';
export { EarlyStoppingCallback } from './early-stopping.js';
export type { EarlyStopping } from './early-stopping.js';
export { ModelCheckpoint, resumeFrom } from './checkpoint.js';
