/**
 * nodegrad: train neural networks in Node.js.
 *
 *   import * as ng from 'nodegrad';             // or: const ng = require('nodegrad');
 *   const model = new ng.nn.Sequential(new ng.nn.Linear(64, 64), new ng.nn.ReLU(), new ng.nn.Linear(64, 10));
 *   const history = ng.fit(model, { train, validation, epochs: 20, optimizer: new ng.optim.Adam(model.parameters()) });
 *
 * Layers, from the user's code down: nn / optim / train -> tensor ops (autograd) -> backend
 * kernels (native SIMD addon, or pure TypeScript where no binary loads).
 */

// backends
export {
  backend,
  setBackend,
  backends,
  info,
  kernels,
  setNumThreads,
  withBackend,
  registerBackend,
  chooseBackend,
  BackendConfigError,
  BACKEND_NAMES,
  packageVersion as version,
} from './backend/index.js';
export type {
  BackendName,
  Kernels,
  SimdPath,
  Info,
  BackendState,
  Fallback,
  AvailableBackends,
} from './backend/index.js';

// tensors and autograd
export * from './tensor/index.js';
export { Value, parseExpression } from './scalar/index.js';
export type { Operand } from './scalar/index.js';
export { topologicalOrder, toDot, toSvg } from './graph/index.js';
export type { GraphNode, DrawOptions, DotOptions, SvgOptions } from './graph/index.js';
export { Rng, manualSeed, globalRng } from './random.js';
export type { RngState } from './random.js';

// training
import * as nn from './nn/index.js';
import * as optim from './optim/index.js';
import * as distributed from './distributed/index.js';
export { nn, optim, distributed };
export {
  Dataset,
  DataLoader,
  trainValTestSplit,
  split,
  fitStandardizer,
  standardizer,
  scale,
  Preprocessor,
  loadDigits,
  loadIdx,
  parseIdx,
  loadFashionMnist,
  loadMnist,
  loadCifar10,
  loadCsv,
  parseCsv,
  loadCsvTable,
  parseCsvTable,
  inferTask,
  FASHION_MNIST_CLASSES,
  CIFAR10_CLASSES,
  RandomCrop,
  RandomHorizontalFlip,
  Normalize,
  Compose,
} from './data/index.js';
export type {
  Batch,
  DataLoaderOptions,
  LoaderState,
  DatasetInit,
  SplitOptions,
  Standardizer,
  CsvOptions,
  CsvTable,
  TaskInference,
  PreprocessorInit,
  PreprocessorJSON,
  Task,
  Transform,
  RandomCropOptions,
  ImageShape,
} from './data/index.js';
export {
  fit,
  evaluate,
  predict,
  predictClasses,
  TrainingDivergedError,
  save,
  load,
  loadModel,
  classificationMetrics,
  regressionMetrics,
  confusionMatrix,
} from './train/index.js';
export type {
  EpochRecord,
  History,
  FitOptions,
  LossFn,
  EarlyStopping,
  Callback,
  Callbacks,
  FitContext,
  BatchLoss,
  ProgressMode,
  StepInfo,
  InferenceOptions,
  LoadedModel,
  SaveOptions,
  LossChoice,
  RegressionLossFn,
  EvaluateOptions,
  Metrics,
  ClassificationMetrics,
  RegressionMetrics,
} from './train/index.js';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, writeFileAtomic } from './io/index.js';

// deployment: ONNX models for onnxruntime and other runtimes
export * as onnx from './onnx/index.js';

// plots
export { lineChart, trainingPlot, lrSweepPlot } from './plot/index.js';

// training off the event loop
export { fitInWorker, shareDataset, WorkerTraining, AbortError } from './worker/index.js';
export type {
  WorkerFitOptions,
  WorkerFitResult,
  ModelSource,
  OptimizerSpec,
  SchedulerSpec,
  TrainingEvent,
  TrainingStepEvent,
  TrainingEpochEvent,
  TrainingMessageEvent,
} from './worker/index.js';
