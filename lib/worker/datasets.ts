/**
 * Data sets in shared memory: copied once into SharedArrayBuffers by the parent, wrapped as
 * Datasets again in the worker, so no epoch copies anything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Dataset } from '../data/index.js';
import { describe, type SharedDatasetInit } from './protocol.js';

/**
 * A Dataset whose x and y live in SharedArrayBuffers, for training in one or several workers
 * without copying the data for each: `fitInWorker` passes such a Dataset on as it is. Returns
 * `ds` itself when it already is shared (the loaders `loadIdx`, `loadFashionMnist` and
 * `loadMnist` return shared Datasets); otherwise copies x and y once, synchronously, and
 * leaves `ds` unchanged. Call it at start-up, before serving: the copy takes about as long as
 * writing the data (over half a second for Fashion-MNIST's 188 MB), whereas `fitInWorker`
 * copies a Dataset that is not shared in slices, between which the event loop runs.
 */
export function shareDataset(ds: Dataset): Dataset {
  if (!(ds instanceof Dataset)) throw new TypeError(`expected a Dataset, got ${describe(ds)}`);
  if (isSharedDataset(ds)) return ds;
  return new Dataset({ ...datasetFields(ds), x: sharedCopy(ds.x), y: sharedCopy(ds.y) });
}

function isSharedDataset(ds: Dataset): boolean {
  return ds.x.buffer instanceof SharedArrayBuffer && ds.y.buffer instanceof SharedArrayBuffer;
}

function sharedLike<T extends Float32Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  return new Ctor(new SharedArrayBuffer(a.byteLength));
}

function sharedCopy<T extends Float32Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = sharedLike(a);
  out.set(a);
  return out;
}

/**
 * How long one slice of the copy may hold the event loop: a 256 KiB chunk takes a small
 * fraction of a millisecond, so a slice ends within about SLICE_MS. Between slices the copy
 * sleeps (a 1 ms timer) rather than yielding with setImmediate: on a 2-core machine loaded by
 * other processes (load average 7-8), a thread that never sleeps is preempted for 100-160 ms at
 * a time, one that sleeps between slices for 40 ms at most (measured, Fashion-MNIST's 188 MB).
 */
const SLICE_MS = 4;
const CHUNK = 1 << 16; // elements (256 KiB)

/** Copies `a` into shared memory in slices of about SLICE_MS, yielding to the event loop in between. */
async function sharedCopyInSlices<T extends Float32Array | Int32Array>(a: T, cancelled: () => boolean): Promise<T> {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = sharedLike(a);
  let sliceStart = performance.now();
  for (let o = 0; o < a.length && !cancelled(); o += CHUNK) {
    out.set(a.subarray(o, o + CHUNK), o);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await sleep(1);
      sliceStart = performance.now();
    }
  }
  return out;
}

function datasetFields(ds: Dataset): Omit<SharedDatasetInit, 'x' | 'y'> {
  return {
    features: ds.features,
    shape: [...ds.shape],
    numClasses: ds.numClasses,
    ...(ds.classNames !== undefined ? { classNames: [...ds.classNames] } : {}),
  };
}

/**
 * The parent's side: what to send. A shared Dataset goes as it is, at once; any other is copied
 * into shared memory in slices (the caller's arrays stay as they are). `cancelled` stops the
 * copy early (the result is then unusable and must not be sent).
 */
export function toWireDataset(ds: Dataset, cancelled: () => boolean): SharedDatasetInit | Promise<SharedDatasetInit> {
  if (isSharedDataset(ds)) return { x: ds.x, y: ds.y, ...datasetFields(ds) };
  return (async () => {
    const x = await sharedCopyInSlices(ds.x, cancelled);
    const y = await sharedCopyInSlices(ds.y, cancelled);
    return { x, y, ...datasetFields(ds) };
  })();
}

/** The worker's side: the Dataset over the shared buffers. */
export function fromWireDataset(d: SharedDatasetInit): Dataset {
  return new Dataset({
    x: d.x,
    y: d.y,
    features: d.features,
    shape: d.shape,
    numClasses: d.numClasses,
    classNames: d.classNames,
  });
}
