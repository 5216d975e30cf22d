/**
 * Version counters of the buffers that backward closures read (PyTorch's saved-tensor check).
 * An op that keeps an input's data for its backward records the buffer's version; whatever
 * changes a buffer in place through the library (a DataLoader refilling its batch, an optimizer
 * step) bumps it; backward compares and refuses a buffer that changed, instead of computing
 * gradients from values the forward pass never saw.
 *
 * Counters are keyed by the typed array object (Tensor.data), which a Tensor wrapping a batch
 * or a parameter shares. Like PyTorch's `.data`, a direct element write (`t.data[i] = v`) does
 * not count: call markModified(array) after one.
 */

/** Buffers never modified in place have no entry: version 0. A WeakMap lets them be collected. */
const versions = new WeakMap<ArrayBufferView, number>();

/** How many times `array` has been modified in place through the library (or markModified). */
export function versionOf(array: ArrayBufferView): number {
  return versions.get(array) ?? 0;
}

/**
 * Records an in-place change of `array`: a graph built before it that saved this buffer for its
 * backward now throws there, as PyTorch does. The library calls it for its own in-place writes;
 * call it after writing into a buffer a graph may still need.
 */
export function markModified(array: ArrayBufferView): void {
  versions.set(array, (versions.get(array) ?? 0) + 1);
}

/** The versions of the buffers an op saves for its backward, taken when the op runs. */
export function saveVersions(saved: readonly ArrayBufferView[]): number[] {
  const out = new Array<number>(saved.length);
  for (let i = 0; i < saved.length; i++) out[i] = versions.get(saved[i]) ?? 0;
  return out;
}

/** Throws PyTorch's error when a buffer saved by `op` has changed since the op ran. */
export function checkSavedVersions(op: string, saved: readonly ArrayBufferView[], expected: readonly number[]): void {
  for (let i = 0; i < saved.length; i++) {
    const now = versions.get(saved[i]) ?? 0;
    if (now === expected[i]) continue;
    const a = saved[i] as ArrayBufferView & { length?: number };
    throw new Error(
      `backward: one of the variables needed for gradient computation has been modified by an inplace operation: ` +
        `[${a.constructor.name}(${a.length ?? a.byteLength})], saved by ${op}, is at version ${now}; expected version ${expected[i]} instead. ` +
        'Hint: a DataLoader refills its batch buffers (batch.x, batch.y) for every batch, and an optimizer step changes ' +
        'the parameters in place: call backward() before either, or copy the buffer (batch.x.slice()).',
    );
  }
}
