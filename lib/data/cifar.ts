// CIFAR-10, binary version: each file a sequence of 3,073-byte records, one label byte (0..9)
// then 3,072 pixel bytes: the 32 x 32 red plane, then green, then blue (so a sample is 3 x 32 x 32).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Dataset } from './dataset.js';
import { RegularFile } from '../io/read.js';
import { BYTE_TO_UNIT, DEFAULT_MAX_BYTES, readFile, sharedFloat32, sharedInt32 } from './files.js';
import { checkOptions, optionKeys } from '../options.js';

const RECORD = 3073;
const PIXELS = 3072;

/** CIFAR-10's ten class names, index = label ('airplane', 'automobile', ...). */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

const HINT =
  'CIFAR-10: unpack the binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html); ' +
  'the directory holds data_batch_1.bin .. data_batch_5.bin and test_batch.bin';

export const CIFAR_KEYS = optionKeys<Parameters<typeof loadCifar10>[1]>()('raw', 'maxBytes');

/**
 * CIFAR-10's train (data_batch_1..5.bin, 50,000 images) and test (test_batch.bin, 10,000)
 * sets from `dir` or its `cifar-10-batches-bin` subdirectory. Samples are [3, 32, 32] in
 * [0, 1] (or 0..255 with `raw`); class names from batches.meta.txt when it is there.
 */
export function loadCifar10(
  dir: string,
  options: { raw?: boolean; maxBytes?: number } = {},
): { train: Dataset; test: Dataset } {
  checkOptions('loadCifar10', options, CIFAR_KEYS);
  const nested = path.join(dir, 'cifar-10-batches-bin');
  const base =
    !fs.existsSync(path.join(dir, 'test_batch.bin')) && fs.existsSync(path.join(nested, 'test_batch.bin'))
      ? nested
      : dir;
  const trainFiles = [1, 2, 3, 4, 5].map((i) => path.join(base, `data_batch_${i}.bin`));
  const testFiles = [path.join(base, 'test_batch.bin')];
  const classNames = readClassNames(path.join(base, 'batches.meta.txt'));
  return {
    train: loadCifarBatches(trainFiles, classNames, options.raw ?? false, options.maxBytes),
    test: loadCifarBatches(testFiles, classNames, options.raw ?? false, options.maxBytes),
  };
}

/**
 * Reads CIFAR-10 binary batch files into one Dataset, in the order given. Each must be a regular
 * file of whole 3,073-byte records, at most `maxBytes` (default 512 MiB; a batch is 30 MB).
 */
export function loadCifarBatches(
  files: readonly string[],
  classNames: readonly string[] = CIFAR10_CLASSES,
  raw = false,
  maxBytes = DEFAULT_MAX_BYTES,
): Dataset {
  // All opened and sized first: the output is allocated from what the files hold, after checking each.
  const opened: RegularFile[] = [];
  try {
    for (const file of files) {
      const f = new RegularFile(file, { hint: HINT, maxBytes });
      opened.push(f);
      if (f.size % RECORD !== 0) {
        throw new Error(
          `${file}: ${f.size} bytes is not a whole number of 3,073-byte CIFAR-10 records (truncated or not CIFAR-10 binary)`,
        );
      }
    }
    const n = opened.reduce((a, f) => a + f.size / RECORD, 0);
    // in shared memory, as the IDX loaders do: fitInWorker hands 600 MB to its worker uncopied
    const x = sharedFloat32(n * PIXELS);
    const y = sharedInt32(n);
    let at = 0;
    for (const f of opened) {
      const buf = f.read(0, f.size);
      for (let r = 0; r < f.size / RECORD; r++, at++) {
        const o = r * RECORD;
        const label = buf[o];
        if (label >= 10) throw new Error(`${f.file}: record ${r} has label ${label}; CIFAR-10 labels are 0..9`);
        y[at] = label;
        const dst = at * PIXELS;
        if (raw) for (let j = 0; j < PIXELS; j++) x[dst + j] = buf[o + 1 + j];
        else for (let j = 0; j < PIXELS; j++) x[dst + j] = BYTE_TO_UNIT[buf[o + 1 + j]];
      }
    }
    return new Dataset({ x, y, shape: [3, 32, 32], numClasses: 10, classNames });
  } finally {
    for (const f of opened) f.close();
  }
}

/** Class names from batches.meta.txt (one a line), or the standard ones when it is absent. */
function readClassNames(file: string): readonly string[] {
  if (!fs.existsSync(file)) return CIFAR10_CLASSES;
  const names = readFile(file, undefined, 1 << 16) // ten short names; anything bigger is not that file
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length !== 10) throw new Error(`${file}: expected 10 class names, one a line, found ${names.length}`);
  return names;
}
