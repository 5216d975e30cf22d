/**
 * Data sets in shared memory (features, and labels or float targets): copied once into
 * SharedArrayBuffers by the parent, wrapped as Datasets again in the worker, so no epoch copies
 * anything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Dataset } from '../data/index.js';
import { describe, type SharedDatasetInit } from './protocol.js';

/**
 * A Dataset whose x and y (or float targets, for regression) live in SharedArrayBuffers, for
 * training in one or several workers without copying the data for each: `fitInWorker` passes such a Dataset on as it is. Returns
 * `ds` itself when it already is shared (the loaders `loadIdx`, `loadFashionMnist` and
 * `loadMnist` return shared Datasets); otherwise copies x and y (or targets) once, synchronously, and
 * leaves `ds` unchanged. Call it at start-up, before serving: the copy takes about as long as
 * writing the data (over half a second for Fashion-MNIST's 188 MB), whereas `fitInWorker`
 * copies a Dataset that is not shared in slices, between which the event loop runs.
 */
export function shareDataset(ds: Dataset): Dataset {
  if (!(ds instanceof Dataset)) throw new TypeError(`expected a Dataset, got ${describe(ds)}`);
  if (isSharedDataset(ds)) return ds;
  return fromWireDataset(wireOf(ds, sharedCopy(ds.x), sharedCopy(labelsOf(ds))));
}

/** What the model learns to predict: the class labels, or a regression set's float targets. */
function labelsOf(ds: Dataset): Int32Array | Float32Array {
  return ds.targets ?? ds.y;
}

// A regression set's y is empty and never read, so only its targets need to be shared.
function isSharedDataset(ds: Dataset): boolean {
  return [ds.x, labelsOf(ds)].every((a) => a.buffer instanceof SharedArrayBuffer);
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

function datasetFields(ds: Dataset): Omit<SharedDatasetInit, 'x' | 'y' | 'targets'> {
  return {
    task: ds.task,
    targetShape: [...ds.targetShape],
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
  if (isSharedDataset(ds)) return wireOf(ds, ds.x, labelsOf(ds));
  return (async () => {
    const x = await sharedCopyInSlices(ds.x, cancelled);
    return wireOf(ds, x, await sharedCopyInSlices(labelsOf(ds), cancelled));
  })();
}

/** `ds` on the wire with `x` and `labels` (labelsOf(ds), or its shared copy) in place of its own arrays. */
function wireOf(ds: Dataset, x: Float32Array, labels: Int32Array | Float32Array): SharedDatasetInit {
  const fields = { ...datasetFields(ds), x };
  return labels instanceof Float32Array ? { ...fields, y: ds.y, targets: labels } : { ...fields, y: labels };
}

/**
 * The worker's side: the Dataset over the shared buffers. A regression set takes its float
 * targets and their shape instead of labels and class counts, which Dataset refuses beside them.
 */
export function fromWireDataset(d: SharedDatasetInit): Dataset {
  const common = { x: d.x, features: d.features, shape: d.shape };
  if (d.task === 'regression') {
    if (d.targets === undefined) throw new TypeError('a regression data set must carry its targets');
    return new Dataset({ ...common, targets: d.targets, targetShape: d.targetShape });
  }
  return new Dataset({ ...common, y: d.y, numClasses: d.numClasses, classNames: d.classNames });
}
