// How Python prints values, for module reprs that read like PyTorch's.

/** A number as Python's repr prints a float: 1e-05, 0.001, 2.0. */
export function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e >= -4 && e < 16) return String(v);
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}
