export { fit, evaluate, predict, predictClasses, checkFinite, TrainingDivergedError } from './fit.js';
export type {
  FitOptions,
  LossFn,
  LossChoice,
  RegressionLossFn,
  InferenceOptions,
  EvaluateOptions,
  Metrics,
  ClassificationMetrics,
  RegressionMetrics,
} from './fit.js';
export { classificationMetrics, regressionMetrics, confusionMatrix } from './metrics.js';
export type { EpochRecord, History, StepInfo } from './record.js';
export type { Callback, Callbacks, FitContext, BatchLoss, EarlyStopping } from './callbacks/index.js';
export { save, load, loadModel, saveTree, loadTree } from './serialize.js';
export type { LoadedModel, SaveOptions } from './serialize.js';
export { makeProgress, epochLine } from './progress.js';
export type { ProgressMode, Progress, ProgressStream } from './progress.js';
