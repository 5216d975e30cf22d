export { Dataset, trainValTestSplit, split, fitStandardizer, standardizer, scale } from './dataset.js';
export { Preprocessor } from './preprocess.js';
export type { PreprocessorInit, PreprocessorJSON, Task } from './preprocess.js';
export type { DatasetInit, SplitOptions, Standardizer } from './dataset.js';
export { DataLoader } from './loader.js';
export type { Batch, DataLoaderOptions, LoaderState } from './loader.js';
export { RandomCrop, RandomHorizontalFlip, Normalize, Compose } from './transforms.js';
export type { Transform, RandomCropOptions, ImageShape } from './transforms.js';
export {
  parseIdx,
  readIdx,
  loadIdx,
  loadFashionMnist,
  loadMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
} from './idx.js';
export type { IdxArray, IdxOptions } from './idx.js';
export { loadCifar10, loadCifarBatches, CIFAR10_CLASSES } from './cifar.js';
export {
  loadCsv,
  parseCsv,
  loadCsvTable,
  parseCsvTable,
  inferTask,
  readCsvRecords,
  MAX_INFERRED_CLASSES,
} from './csv.js';
export type { CsvOptions, CsvTable, TaskInference, CsvRecords } from './csv.js';
export { loadDigits, DIGITS_PATH } from './digits.js';
