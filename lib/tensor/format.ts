/**
 * Printing a tensor's values the way PyTorch does: nested brackets, whole numbers with a
 * trailing '.', and only the first and last few entries of each dim once a tensor is large.
 */

const SUMMARISE_OVER = 1000;
const EDGE = 3;

/** The values of t as nested brackets (tensors of more than 1000 elements are summarised). */
export function formatValues(t: { readonly data: Float32Array; readonly shape: readonly number[] }): string {
  const { data, shape } = t;
  if (shape.length === 0) return fmtNum(data[0]);
  const summarise = data.length > SUMMARISE_OVER;
  const strides: number[] = new Array(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const rec = (d: number, off: number, indent: string): string => {
    const n = shape[d];
    const idx: (number | null)[] = [];
    if (summarise && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else {
      for (let i = 0; i < n; i++) idx.push(i);
    }
    if (d === shape.length - 1) {
      return `[${idx.map((i) => (i === null ? '...' : fmtNum(data[off + i]))).join(', ')}]`;
    }
    const sep = `,\n${indent} `;
    return `[${idx.map((i) => (i === null ? '...' : rec(d + 1, off + i * strides[d], `${indent} `))).join(sep)}]`;
  };
  return rec(0, 0, '       ');
}

function fmtNum(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e8) return `${v.toFixed(0)}.`;
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e8)) return v.toExponential(4);
  return v.toFixed(4);
}
