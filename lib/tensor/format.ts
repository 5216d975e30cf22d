/**
 * Printing a tensor's values the way PyTorch does (torch/_tensor_str.py, default print
 * options): one number format for the whole tensor, every entry padded to the widest, rows
 * wrapped at 80 columns, and only the first and last few entries of each dim once a tensor is large.
 */

/** PyTorch's print options: threshold, edgeitems, precision, linewidth. */
const SUMMARISE_OVER = 1000;
const EDGE = 3;
const PRECISION = 4;
const LINE_WIDTH = 80;

interface Values {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** True when formatValues elides entries (more than 1000 elements, as in PyTorch). */
export function isSummarised(t: Values): boolean {
  return t.data.length > SUMMARISE_OVER;
}

/**
 * The values of t as nested brackets, each line after the first indented by `indent` (7, the
 * width of `tensor(`). Tensors of more than 1000 elements are summarised.
 */
export function formatValues(t: Values, indent = 7): string {
  const { data, shape } = t;
  if (data.length === 0) return '[]';
  const summarise = isSummarised(t);
  const strides: number[] = new Array(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  // the entries that will be printed: they alone set the format, as in PyTorch
  const shown: number[] = [];
  const indices = (n: number): (number | null)[] => {
    if (!summarise || n <= 2 * EDGE) return Array.from({ length: n }, (_, i) => i);
    const head = Array.from({ length: EDGE }, (_, i) => i);
    return [...head, null, ...head.map((i) => n - EDGE + i)];
  };
  const collect = (d: number, off: number): void => {
    for (const i of indices(shape[d])) {
      if (i === null) continue;
      if (d === shape.length - 1) shown.push(data[off + i]);
      else collect(d + 1, off + i * strides[d]);
    }
  };
  if (shape.length === 0) shown.push(data[0]);
  else collect(0, 0);
  const fmt = formatter(shown);
  if (shape.length === 0) return fmt.format(data[0]).trimStart();

  const rec = (d: number, off: number, ind: number): string => {
    const idx = indices(shape[d]);
    if (d === shape.length - 1) {
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - ind) / (fmt.width + 2)));
      const items = idx.map((i) => (i === null ? ' ...' : fmt.format(data[off + i])));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(ind + 1)}`)}]`;
    }
    const parts = idx.map((i) => (i === null ? '...' : rec(d + 1, off + i * strides[d], ind + 1)));
    return `[${parts.join(`,${'\n'.repeat(shape.length - d - 1)}${' '.repeat(ind + 1)}`)}]`;
  };
  return rec(0, 0, indent);
}

interface Formatter {
  width: number;
  format(v: number): string;
}

/** PyTorch's _Formatter: integer, fixed or scientific notation, chosen from the finite non-zero values. */
function formatter(values: readonly number[]): Formatter {
  const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
  let intMode = true;
  let sciMode = false;
  let width = 1;
  if (finite.length > 0) {
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    intMode = finite.every((v) => Number.isInteger(v));
    sciMode = max / min > 1000 || max > 1e8 || (!intMode && min < 1e-4);
    for (const v of finite) {
      const len = sciMode ? sci(v).length : intMode ? fixed(v, 0).length + 1 : fixed(v, PRECISION).length;
      width = Math.max(width, len);
    }
  }
  return {
    width,
    format(v: number): string {
      let s: string;
      if (sciMode) s = sci(v);
      else if (intMode) s = Number.isFinite(v) ? `${fixed(v, 0)}.` : fixed(v, 0);
      else s = fixed(v, PRECISION);
      return s.padStart(width);
    },
  };
}

/** Python's '{:.Nf}': round half to even on the exact binary value; nan, inf, -inf. */
function fixed(v: number, digits: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  let s = v.toFixed(digits);
  // toFixed rounds an exact tie away from zero; Python rounds it to even
  const exact = Math.abs(v).toFixed(Math.min(100, digits + 30));
  const rest = exact.slice(exact.length - 30);
  if (/^50*$/.test(rest)) {
    const down = (Math.sign(v) * (Math.abs(v) - 0.5 * 10 ** -digits)).toFixed(digits);
    const last = down.replace(/[-.]/g, '').at(-1);
    if (last !== undefined && Number(last) % 2 === 0) s = down;
  }
  return s;
}

/** Python's '{:.4e}': a two-digit exponent at least (1.0000e+00). */
function sci(v: number): string {
  if (!Number.isFinite(v)) return fixed(v, 0);
  const [m, e] = v.toExponential(PRECISION).split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}
