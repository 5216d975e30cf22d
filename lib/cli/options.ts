/** Option lists that several commands share, and the backend flags they carry. */
import { info, setBackend, setNumThreads, type BackendName } from '../index.js';
import { BACKEND_NAMES, MAX_THREADS } from '../backend/index.js';
import type { OptionSpec } from './args.js';
import { DATA_HELP } from './data.js';

/** What train and lr-sweep train on: the data and the model's shape. */
export const DATA_MODEL_OPTIONS: OptionSpec[] = [
  { name: 'data', type: 'string', arg: 'SPEC', help: DATA_HELP, defaultText: 'digits' },
  { name: 'limit', type: 'int', min: 1, arg: 'N', help: 'use only the first N samples of each data file (quick runs)' },
  {
    name: 'model',
    type: 'string',
    choices: ['mlp', 'softmax', 'cnn'],
    help: 'softmax = one Linear layer (linear scores + softmax); cnn = conv5x5 32-pool-conv5x5 64-pool-256 (images)',
    defaultText: 'mlp',
  },
  {
    name: 'hidden',
    type: 'numbers',
    min: 1,
    arg: 'N,N,...',
    help: 'hidden layer sizes of the MLP',
    defaultText: '128,64; 256,128 for images',
  },
];

export const BACKEND_OPTIONS: OptionSpec[] = [
  {
    name: 'backend',
    type: 'string',
    choices: [...BACKEND_NAMES],
    help: 'kernels to run on',
    defaultText: 'native when it loads',
  },
  {
    name: 'threads',
    type: 'int',
    min: 1,
    max: MAX_THREADS,
    arg: 'N',
    help: 'native thread pool size (wasm and ts run on one thread)',
    defaultText: 'the number of cores',
  },
];

export function applyBackend(options: Record<string, unknown>): void {
  if (options.backend !== undefined) setBackend(options.backend as BackendName);
  if (options.threads !== undefined) setNumThreads(options.threads as number);
}

/** `native (avx2, 2 threads)`, `wasm (simd128, 1 thread)` or `ts`. */
export function describeBackend(): string {
  const i = info();
  return i.backend === 'ts'
    ? 'ts'
    : `${i.backend} (${i.simd ?? 'scalar'}, ${i.threads} thread${i.threads === 1 ? '' : 's'})`;
}
