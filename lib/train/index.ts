export { fit, evaluate, predict, predictClasses, checkFinite, TrainingDivergedError } from './fit.js';
export type { EpochRecord, History, FitOptions, LossFn, EarlyStopping, Callbacks, InferenceOptions } from './fit.js';
export { save, load, loadModel, saveTree, loadTree } from './serialize.js';
export type { LoadedModel, SaveOptions } from './serialize.js';
export { makeProgress, epochLine } from './progress.js';
export type { ProgressMode, Progress, StepInfo } from './progress.js';
