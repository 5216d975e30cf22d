/**
 * Small helpers for building SVG by hand: escaping, number formatting, text-width estimates.
 * No dependencies; everything returns plain strings.
 */

/** Escapes text for use in XML character data and in double- or single-quoted attributes. */
export function escapeXml(s: string): string {
  return (
    String(s)
      // Characters that are not allowed in XML 1.0 at all (C0 controls except tab/newline/CR).
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** Largest magnitude a coordinate may have in the output (keeps off-chart points finite and short). */
const COORD_LIMIT = 1e5;

/**
 * Formats a coordinate: at most 2 decimals, no trailing zeros, never `NaN` or `Infinity`
 * (non-finite values are clamped; callers are expected to have filtered them already).
 */
export function num(v: number): string {
  if (Number.isNaN(v)) v = 0;
  if (v > COORD_LIMIT) v = COORD_LIMIT;
  if (v < -COORD_LIMIT) v = -COORD_LIMIT;
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Attribute map: `undefined`/`null`/`false` values are left out; numbers go through `num`. */
export type Attrs = Record<string, string | number | boolean | undefined | null>;

function attrString(attrs: Attrs): string {
  let out = '';
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    const s = v === true ? k : typeof v === 'number' ? num(v) : escapeXml(v);
    out += ` ${k}="${s}"`;
  }
  return out;
}

/**
 * One element. `children` is raw (already escaped) markup; omit it for a self-closing tag.
 * Use `text()` for escaped character data.
 */
export function el(tag: string, attrs: Attrs = {}, children?: string | string[]): string {
  const inner = Array.isArray(children) ? children.join('') : children;
  if (inner === undefined || inner === '') return `<${tag}${attrString(attrs)}/>`;
  return `<${tag}${attrString(attrs)}>${inner}</${tag}>`;
}

/** A `<text>` element with escaped content. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, escapeXml(content));
}

/** Removes floating-point noise (0.30000000000000004 -> 0.3). */
export function clean(v: number): number {
  if (v === 0) return 0; // also turns -0 into 0
  if (!Number.isFinite(v)) return v;
  return Number(v.toPrecision(12));
}

function trimZeros(s: string): string {
  // "1.50" -> "1.5", "2.00" -> "2", "1.50e-4" -> "1.5e-4"
  return s.replace(/(\.\d*?)0+(?=$|e)/, '$1').replace(/\.(?=$|e)/, '');
}

/**
 * Compact tick label: `0`, `0.25`, `0.001`, `1e-4`, `2.5e-5`, `950`, `1k`, `12k`, `1.5M`.
 * Up to 4 significant digits after noise removal (enough for 1/2/5 tick steps).
 */
export function formatTick(v: number): string {
  if (Number.isNaN(v)) return '';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  v = clean(v);
  if (v === 0) return '0';
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  if (a < 1e-3) {
    const [m, e] = a.toExponential(2).split('e');
    return `${sign}${trimZeros(m!)}e${Number(e)}`;
  }
  const suffixes: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [base, suffix] of suffixes) {
    if (a >= base) return `${sign}${Number((a / base).toPrecision(4))}${suffix}`;
  }
  // 0.001 <= a < 1000: plain decimal, at most 4 significant digits.
  return sign + String(Number(a.toPrecision(4)));
}

/** Learning-rate style label: `1e-3`, `3e-4`, `0.01`, `0.1`, `1`. */
export function formatSci(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && a < 0.01) {
    const [m, e] = a.toExponential(3).split('e');
    return `${v < 0 ? '-' : ''}${trimZeros(m!)}e${Number(e)}`;
  }
  return String(clean(v));
}

/**
 * Rough rendered width of `s` in a sans-serif font at `fontSize` px. Errs on the wide side
 * (DejaVu Sans, the usual fallback on Linux, is wider than Helvetica/Arial).
 */
export function textWidth(s: string, fontSize: number): number {
  let w = 0;
  for (const ch of s) {
    if ("iljI.,:;|!'`".includes(ch)) w += 0.3;
    else if ('ftr()[]{} 1-'.includes(ch)) w += 0.42;
    else if ('mwMW%@'.includes(ch)) w += 0.92;
    else if (ch >= 'A' && ch <= 'Z') w += 0.7;
    else w += 0.6;
  }
  return w * fontSize;
}
