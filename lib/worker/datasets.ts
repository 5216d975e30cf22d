/**
 * Data sets in shared memory: copied once into SharedArrayBuffers by the parent, wrapped as
 * Datasets again in the worker, so no epoch copies anything.
 */
import { Dataset } from '../data/index.js';
import { describe, type SharedDatasetInit } from './protocol.js';

/**
 * A Dataset whose x and y live in SharedArrayBuffers (copied once), for training in several
 * workers at once without copying the data for each. Returns `ds` itself when it already is.
 */
export function shareDataset(ds: Dataset): Dataset {
  if (!(ds instanceof Dataset)) throw new TypeError(`expected a Dataset, got ${describe(ds)}`);
  if (isShared(ds.x) && isShared(ds.y)) return ds;
  return new Dataset({ ...datasetFields(ds), x: sharedCopy(ds.x), y: sharedCopy(ds.y) });
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

function sharedCopy<T extends Float32Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a);
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

/** The parent's side: what to send. */
export function toWireDataset(ds: Dataset): SharedDatasetInit {
  const shared = shareDataset(ds);
  return { x: shared.x, y: shared.y, ...datasetFields(ds) };
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
