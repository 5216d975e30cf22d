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
