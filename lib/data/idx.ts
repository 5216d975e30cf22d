// IDX, the MNIST file format: big-endian; bytes 0-1 zero, byte 2 the element type, byte 3 the
// number of dimensions, then one uint32 a dimension, then the data, row-major.

import * as path from 'node:path';
import { Dataset } from './dataset.js';
import { BYTE_TO_UNIT, findFile, readMaybeGzip, sharedFloat32, sharedInt32, type ReadOptions } from './files.js';
import { checkOptions, optionKeys } from '../options.js';

export interface IdxArray {
  /** e.g. [60000, 28, 28]. */
  dims: number[];
  /** The elements, unsigned bytes (the only element type supported: 0x08). */
  data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** Parses an IDX file's bytes; `file` names it in errors. */
export function parseIdx(buf: Uint8Array, file = 'IDX data'): IdxArray {
  if (buf.length < 4)
    throw new Error(`${file}: not an IDX file (${buf.length} bytes, shorter than the 4-byte magic number)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(`${file}: not an IDX file (magic number 0x${hex(magic)}; IDX starts with 00 00 <type> <ndim>)`);
  }
  const type = buf[2];
  if (type !== 0x08) {
    const name = IDX_TYPES[type];
    throw new Error(
      `${file}: unsupported IDX element type 0x${type.toString(16).padStart(2, '0')}` +
        `${name ? ` (${name})` : ' (unknown)'}; only 0x08 (unsigned byte) is supported`,
    );
  }
  const ndim = buf[3];
  if (ndim === 0) throw new Error(`${file}: IDX header has 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) {
    throw new Error(
      `${file}: truncated IDX header (${ndim} dimensions need ${headerBytes} bytes, the file has ${buf.length})`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const available = buf.length - headerBytes;
  // Dims are checked against the bytes actually there before anything is allocated from them.
  let expected = 1;
  for (const d of dims) expected *= d;
  if (expected !== available) {
    const problem = expected > available ? 'truncated' : 'has extra bytes after the data';
    throw new Error(
      `${file}: ${problem}: the header says ${dims.join(' x ')} = ${expected} bytes of data, the file has ${available}`,
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/**
 * Reads an IDX file, gzipped (detected by its magic bytes 1f 8b) or raw. A raw file is read
 * whole (at most `maxBytes`, default 512 MiB); a gzipped one is decompressed no further than
 * the size its header's dimensions declare, so a gzip bomb is refused early. A string second
 * argument is a hint for a missing file.
 */
export function readIdx(file: string, options: ReadOptions | string = {}): IdxArray {
  const o = typeof options === 'string' ? { hint: options } : options;
  return parseIdx(readMaybeGzip(file, { ...o, declaredSize: idxDeclaredSize }), file);
}

/** Header plus data bytes, as the dimensions in `head` declare them; undefined if it is no IDX header. */
function idxDeclaredSize(head: Buffer): number | undefined {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) return undefined;
  const headerBytes = 4 + 4 * head[3];
  if (head.length < headerBytes) return undefined;
  let size = 1;
  for (let i = 0; i < head[3]; i++) size *= head.readUInt32BE(4 + 4 * i);
  return headerBytes + size;
}

export interface IdxOptions {
  /** Labels must be below it; default max(label) + 1, or classNames.length. */
  numClasses?: number;
  classNames?: readonly string[];
  /** Keep pixel values 0..255 instead of scaling them to [0, 1] (default false). */
  raw?: boolean;
  /** The most read or decompressed from one file (default 512 MiB; a gzipped file also stops at its declared size). */
  maxBytes?: number;
}
export const IDX_KEYS = optionKeys<IdxOptions>()('numClasses', 'classNames', 'raw', 'maxBytes');
export const MNIST_KEYS = optionKeys<Parameters<typeof loadMnist>[1] & Parameters<typeof loadFashionMnist>[1]>()(
  'raw',
  'maxBytes',
);

/**
 * Reads an IDX images file (N x ...; uint8) and an IDX labels file (N; uint8) into a Dataset.
 * Pixels become float32 in [0, 1] (v / 255) unless `raw`. A sample of N x H x W images has
 * shape [1, H, W]; other ranks keep their per-sample dims. x and y live in SharedArrayBuffers,
 * so `fitInWorker` trains on them without a copy.
 */
export function loadIdx(imagesPath: string, labelsPath: string, options: IdxOptions = {}, hint?: string): Dataset {
  checkOptions('loadIdx', options, IDX_KEYS);
  const images = readIdx(imagesPath, { hint, maxBytes: options.maxBytes });
  const labels = readIdx(labelsPath, { hint, maxBytes: options.maxBytes });
  return idxDataset(images, imagesPath, labels, labelsPath, options);
}

function idxDataset(
  images: IdxArray,
  imagesPath: string,
  labels: IdxArray,
  labelsPath: string,
  options: IdxOptions,
): Dataset {
  if (images.dims.length < 2) {
    throw new Error(
      `${imagesPath}: an images file needs at least 2 dimensions (N, ...), it has [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new Error(`${labelsPath}: a labels file has 1 dimension (N), it has [${labels.dims.join(', ')}]`);
  }
  const n = images.dims[0];
  if (labels.dims[0] !== n) {
    throw new Error(`${imagesPath} has ${n} images but ${labelsPath} has ${labels.dims[0]} labels`);
  }
  const numClasses = options.numClasses ?? options.classNames?.length;
  const y = sharedInt32(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (numClasses !== undefined && v >= numClasses) {
      throw new Error(
        `${labelsPath}: label ${i} is ${v}, but there are ${numClasses} classes (labels 0..${numClasses - 1})`,
      );
    }
    y[i] = v;
  }
  const src = images.data;
  const x = sharedFloat32(src.length);
  if (options.raw) x.set(src);
  else for (let i = 0; i < src.length; i++) x[i] = BYTE_TO_UNIT[src[i]];
  const sampleDims = images.dims.slice(1);
  const shape = sampleDims.length === 2 ? [1, ...sampleDims] : sampleDims;
  return new Dataset({ x, y, shape, numClasses, classNames: options.classNames });
}

/** Fashion-MNIST's ten class names, index = label ('T-shirt/top', 'Trouser', ...). */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FASHION_HINT =
  "Fashion-MNIST: Debian's dataset-fashion-mnist package installs it in /usr/share/datasets/fashion-mnist " +
  '(apt install dataset-fashion-mnist), or download the four files from https://github.com/zalandoresearch/fashion-mnist';

/**
 * Fashion-MNIST's train (60,000) and test (10,000) sets from `dir` (default
 * /usr/share/datasets/fashion-mnist), under their standard names, gzipped (`.gz`) or not:
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
 * Samples are [1, 28, 28] in [0, 1]; 10 classes with their names.
 */
export function loadFashionMnist(
  dir: string = FASHION_MNIST_DIR,
  options: { raw?: boolean; maxBytes?: number } = {},
): { train: Dataset; test: Dataset } {
  checkOptions('loadFashionMnist', options, MNIST_KEYS);
  return loadMnistFiles(dir, { ...options, numClasses: 10, classNames: FASHION_MNIST_CLASSES }, FASHION_HINT);
}

/** MNIST from `dir`: the same four file names and format as Fashion-MNIST; classes '0'..'9'. */
export function loadMnist(
  dir: string,
  options: { raw?: boolean; maxBytes?: number } = {},
): { train: Dataset; test: Dataset } {
  checkOptions('loadMnist', options, MNIST_KEYS);
  const classNames = Array.from({ length: 10 }, (_, i) => String(i));
  return loadMnistFiles(
    dir,
    { ...options, numClasses: 10, classNames },
    'MNIST: the four IDX files from the MNIST database (LeCun, Cortes, Burges)',
  );
}

function loadMnistFiles(dir: string, options: IdxOptions, hint: string): { train: Dataset; test: Dataset } {
  const find = (name: string): string => findFile([path.join(dir, name), path.join(dir, `${name}.gz`)], hint);
  // All four are found before any is read, so a missing test file fails fast.
  const files = ['train-images', 'train-labels', 't10k-images', 't10k-labels'].map((f) =>
    find(`${f}-idx${f.endsWith('images') ? 3 : 1}-ubyte`),
  );
  return {
    train: loadIdx(files[0], files[1], options, hint),
    test: loadIdx(files[2], files[3], options, hint),
  };
}

function hex(v: number): string {
  return v.toString(16).padStart(8, '0');
}
