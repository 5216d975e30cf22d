/** Shape checks and the one way error messages print a shape. */

/** Checks dims are non-negative integers; returns the element count. */
export function checkShape(shape: readonly number[], where: string): number {
  if (!Array.isArray(shape)) throw new TypeError(`${where}: shape must be an array of integers`);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isInteger(d) || d < 0)
      throw new RangeError(`${where}: shape ${fmtShape(shape)} has an invalid size ${d}`);
    n *= d;
  }
  return n;
}

/** `[2,3]`, as error messages show shapes. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * The offset of every position of an index space `dims` (row-major order) in a buffer where
 * dim d advances by strides[d] (0 for a broadcast dim): what permutes, batched matmuls and pads
 * walk instead of an odometer each.
 */
export function stridedOffsets(dims: readonly number[], strides: readonly number[]): Int32Array {
  let count = 1;
  for (const d of dims) count *= d;
  const offs = new Int32Array(count);
  const nd = dims.length;
  const idx = new Array<number>(nd).fill(0);
  let o = 0;
  for (let r = 0; r < count; r++) {
    offs[r] = o;
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) {
        o += strides[d];
        break;
      }
      idx[d] = 0;
      o -= strides[d] * (dims[d] - 1);
    }
  }
  return offs;
}

/** Row-major strides of shape (in elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    st[d] = acc;
    acc *= shape[d];
  }
  return st;
}

/** dim in [-ndim, ndim) normalised to [0, ndim); a scalar accepts 0 and -1 (as PyTorch). */
export function normDim(dim: number, ndim: number, op: string): number {
  const nd = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -nd || dim >= nd) {
    throw new RangeError(
      `${op}: dim ${dim} is out of range for a tensor of ${ndim} dims (expected [${-nd}, ${nd - 1}])`,
    );
  }
  return dim < 0 ? dim + nd : dim;
}
