/**
 * Hand-written SVG line charts: `lineChart` (general), `trainingPlot` (loss + accuracy panels
 * from a per-epoch history) and `lrSweepPlot` (loss curves of a learning-rate sweep).
 *
 * Every function returns a standalone SVG document as a string (no dependencies, no DOM).
 * Output is deterministic: the same input gives the same bytes.
 */
import type { EpochRecord as Rec } from '../train/record.js';
import { clean, el, escapeXml, formatSci, formatTick, num, text, textWidth } from './svg.js';
import { checkOptions, optionKeys } from '../options.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** Okabe-Ito palette (colour-blind safe), ordered for contrast on white; yellow last. */
export const PALETTE: readonly string[] = [
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#009E73', // bluish green
  '#CC79A7', // reddish purple
  '#E69F00', // orange
  '#56B4E9', // sky blue
  '#000000', // black
  '#F0E442', // yellow
];

/** One line of a lineChart. */
export interface Series {
  /** The series' name in the legend. */
  name: string;
  /** `[x, y]` pairs, or bare y values (then x = 1, 2, 3, ...). Non-finite values break the line. */
  points: ReadonlyArray<readonly [number, number]> | ReadonlyArray<number>;
  /** CSS colour; defaults to the palette entry for the series' position. */
  color?: string;
  /** Draw the line dashed (e.g. validation curves). @defaultValue false */
  dashed?: boolean;
  /** Line width in px (default 2). */
  strokeWidth?: number;
  /** Draw a dot at every point (default false; single points always get one). */
  markers?: boolean;
  /**
   * Mark where the series diverged with a cross (at its last drawable point, or where it leaves
   * the plot area). Defaults to true when the series ends in non-finite values.
   */
  diverged?: boolean;
  /** Draw on top of the other series (default false; legend order is unchanged). */
  front?: boolean;
}
export const SERIES_KEYS = optionKeys<Series>()(
  'name',
  'points',
  'color',
  'dashed',
  'strokeWidth',
  'markers',
  'diverged',
  'front',
);

/**
 * Where a chart's legend goes: 'auto' picks the inside corner that hides the least data (outside right if none is
 * free).
 */
export type LegendPosition = 'auto' | 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'right' | 'none';

/** What lineChart() draws: series, labels, size and axes. */
export interface LineChartSpec {
  /** Text above the chart. @defaultValue none */
  title?: string;
  /** A second, smaller line under the title. @defaultValue none */
  subtitle?: string;
  /** The x axis's label. @defaultValue none */
  xLabel?: string;
  /** The y axis's label. @defaultValue none */
  yLabel?: string;
  /** The lines to draw, in legend order. */
  series: ReadonlyArray<Series>;
  /** Pixels (default 720 x 420). */
  width?: number;
  /** Pixels (default 420; see width). */
  height?: number;
  /** 'log' for a logarithmic y axis (losses over orders of magnitude). @defaultValue 'linear' */
  yScale?: 'linear' | 'log';
  /** Fixed axis bounds; without them the y range is rounded out to nice ticks. */
  xMin?: number;
  /** Fixed upper x bound (see xMin). */
  xMax?: number;
  /** Fixed lower y bound (see xMin). */
  yMin?: number;
  /** Fixed upper y bound (see xMin). */
  yMax?: number;
  /** Default 'auto': the inside corner that hides the least data (outside right if none is free). */
  legend?: LegendPosition;
  /** Tick label formatters (default: compact numbers such as 0.001, 1e-4, 12k). */
  xFormat?: (v: number) => string;
  /** Tick label formatter of the y axis (see xFormat). */
  yFormat?: (v: number) => string;
}
export const LINE_CHART_KEYS = optionKeys<LineChartSpec>()(
  'title',
  'subtitle',
  'xLabel',
  'yLabel',
  'series',
  'width',
  'height',
  'yScale',
  'xMin',
  'xMax',
  'yMin',
  'yMax',
  'legend',
  'xFormat',
  'yFormat',
);

// ---------------------------------------------------------------------------------------------
// Ticks
// ---------------------------------------------------------------------------------------------

export interface NiceTicks {
  /** Bounds rounded out to multiples of `step` (they contain the input range). */
  lo: number;
  hi: number;
  step: number;
  /** Multiples of `step` from `lo` to `hi`. */
  ticks: number[];
}

/** The smallest 1, 2 or 5 x 10^k that is >= `rough`. */
export const NICE_TICKS_KEYS = optionKeys<Parameters<typeof niceTicks>[3]>()('integer');

export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const n = rough / mag;
  const m = n <= 1 + 1e-9 ? 1 : n <= 2 + 1e-9 ? 2 : n <= 5 + 1e-9 ? 5 : 10;
  return clean(m * mag);
}

/** Multiples of `step` inside [lo, hi] (with a little tolerance for rounding). */
export function ticksWithin(lo: number, hi: number, step: number): number[] {
  const eps = step * 1e-9;
  const first = Math.ceil((lo - eps) / step);
  const last = Math.floor((hi + eps) / step);
  const out: number[] = [];
  for (let k = first; k <= last && out.length < 1000; k++) out.push(clean(k * step));
  return out;
}

/**
 * Nice ticks (steps of 1, 2 or 5 x 10^k) covering [lo, hi] with at most about `target` intervals.
 * With `integer`, the step is at least 1.
 */
export function niceTicks(lo: number, hi: number, target = 6, opts: { integer?: boolean } = {}): NiceTicks {
  checkOptions('niceTicks', opts, NICE_TICKS_KEYS);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  let step = niceStep((hi - lo) / Math.max(1, target));
  if (opts.integer && step < 1) step = 1;
  const nlo = clean(Math.floor(lo / step + 1e-9) * step);
  const nhi = clean(Math.ceil(hi / step - 1e-9) * step);
  return { lo: nlo, hi: nhi, step, ticks: ticksWithin(nlo, nhi, step) };
}

/** Next larger nice step (1 -> 2 -> 5 -> 10). */
function nextStep(step: number): number {
  return niceStep(step * 1.0001 * 1.5);
}

/** Rounds [min, max] (positive) out to a log-scale domain: whole decades when the data spans 2+ decades, else 1-2-5 values. */
export function logDomain(min: number, max: number): [number, number] {
  if (!(min > 0) || !(max > 0)) return [1, 10];
  if (min > max) [min, max] = [max, min];
  let lo = 10 ** Math.floor(Math.log10(min) + 1e-9);
  let hi = 10 ** Math.ceil(Math.log10(max) - 1e-9);
  if (Math.log10(max / min) < 2) {
    for (const m of [5, 2])
      if (lo * m <= min * (1 + 1e-9)) {
        lo *= m;
        break;
      }
    for (const m of [0.2, 0.5])
      if (hi * m >= max * (1 - 1e-9)) {
        hi *= m;
        break;
      }
  }
  if (hi <= lo) {
    lo /= 10;
    hi *= 10;
  }
  return [clean(lo), clean(hi)];
}

/**
 * Log-scale ticks in [lo, hi]: labelled `major` ticks are the powers of 10 (plus 2x and 5x when
 * fewer than 3 decades would be labelled); `minor` are the other 2..9 x 10^k for grid lines.
 */
export function logTicks(lo: number, hi: number): { major: number[]; minor: number[] } {
  if (!(lo > 0) || !(hi > lo)) return { major: [], minor: [] };
  const d0 = Math.floor(Math.log10(lo) + 1e-9);
  const d1 = Math.ceil(Math.log10(hi) - 1e-9);
  const inRange = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const decades: number[] = [];
  for (let d = d0; d <= d1; d++) {
    const v = clean(10 ** d);
    if (inRange(v)) decades.push(v);
  }
  // Too many decades to label each: label every 2nd/5th/... one.
  let every = 1;
  while (decades.length / every > 10) every = every === 1 ? 2 : every === 2 ? 5 : every * 2;
  const major = decades.filter((v) => Math.round(Math.log10(v)) % every === 0);
  const minor: number[] = [];
  const extra = major.length < 3;
  for (let d = d0; d <= d1 && d1 - d0 <= 8; d++) {
    for (let m = 2; m <= 9; m++) {
      const v = clean(m * 10 ** d);
      if (!inRange(v)) continue;
      if (extra && (m === 2 || m === 5)) major.push(v);
      else minor.push(v);
    }
  }
  major.sort((a, b) => a - b);
  return { major, minor };
}

// ---------------------------------------------------------------------------------------------
// Layout constants
// ---------------------------------------------------------------------------------------------

const FONT = "'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif";
const TITLE_SIZE = 15;
const SUBTITLE_SIZE = 12;
const LABEL_SIZE = 12;
const TICK_SIZE = 11;
const LEGEND_SIZE = 12;
const TEXT = '#222';
const MUTED = '#555';
const GRID = '#e3e3e3';
const GRID_MINOR = '#f1f1f1';
const AXIS = '#444';

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Pt {
  x: number;
  y: number;
}

interface PreparedSeries {
  s: Series;
  index: number;
  color: string;
  width: number;
  /** Runs of consecutive drawable points (data coordinates). */
  runs: Pt[][];
  diverged: boolean;
  single: boolean;
}

// ---------------------------------------------------------------------------------------------
// Core renderer: one chart inside a box of a larger SVG
// ---------------------------------------------------------------------------------------------

/** Min and max without spreading (safe for very long arrays). */
function minOf(a: ReadonlyArray<number>): number {
  let m = Infinity;
  for (const v of a) if (v < m) m = v;
  return m;
}
function maxOf(a: ReadonlyArray<number>): number {
  let m = -Infinity;
  for (const v of a) if (v > m) m = v;
  return m;
}

function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

function specKey(spec: LineChartSpec): string {
  return JSON.stringify({
    t: spec.title,
    s: spec.subtitle,
    x: spec.xLabel,
    y: spec.yLabel,
    w: spec.width,
    h: spec.height,
    series: spec.series.map((s) => [s.name, s.points.length, s.points.slice(0, 8)]),
  });
}

function prepare(spec: LineChartSpec, log: boolean): PreparedSeries[] {
  return spec.series.map((s, index) => {
    const runs: Pt[][] = [];
    let cur: Pt[] = [];
    let lastFinite = -1;
    const n = s.points.length;
    for (let i = 0; i < n; i++) {
      const p = s.points[i] as number | readonly [number, number];
      const x = typeof p === 'number' ? i + 1 : Number(p?.[0]);
      const y = typeof p === 'number' ? p : Number(p?.[1]);
      const ok = Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0);
      if (ok) {
        cur.push({ x, y });
        lastFinite = i;
      } else if (cur.length) {
        runs.push(cur);
        cur = [];
      }
    }
    if (cur.length) runs.push(cur);
    const endsBroken = lastFinite >= 0 && lastFinite < n - 1;
    const count = runs.reduce((a, r) => a + r.length, 0);
    return {
      s,
      index,
      color: s.color ?? PALETTE[index % PALETTE.length]!,
      width: s.strokeWidth ?? 2,
      runs,
      diverged: s.diverged ?? endsBroken,
      single: count === 1,
    };
  });
}

interface Scale {
  lo: number;
  hi: number;
  log: boolean;
}

function fitFont(s: string, size: number, maxWidth: number, min = 10): number {
  const w = textWidth(s, size);
  if (w <= maxWidth) return size;
  return Math.max(min, Math.floor((size * maxWidth) / w));
}

/** Shrinks the font (down to `min`), then shortens the text with an ellipsis, to fit `maxWidth`. */
function fitText(s: string, size: number, maxWidth: number, min = 10): { s: string; size: number } {
  const f = fitFont(s, size, maxWidth, min);
  if (textWidth(s, f) <= maxWidth) return { s, size: f };
  const chars = Array.from(s);
  let n = chars.length;
  while (n > 1 && textWidth(`${chars.slice(0, n).join('')}…`, f) > maxWidth) n--;
  return { s: `${chars.slice(0, n).join('').trimEnd()}…`, size: f };
}

interface LegendGeom {
  w: number;
  h: number;
  rowH: number;
}

function legendGeom(series: PreparedSeries[]): LegendGeom {
  const rowH = 19;
  const maxText = Math.max(0, ...series.map((p) => textWidth(p.s.name, LEGEND_SIZE)));
  return { w: 10 + 26 + 8 + maxText + 12, h: 8 + rowH * series.length + 4, rowH };
}

function renderLegend(series: PreparedSeries[], g: LegendGeom, x: number, y: number): string {
  const parts: string[] = [];
  parts.push(
    el('rect', {
      x,
      y,
      width: g.w,
      height: g.h,
      rx: 4,
      fill: '#ffffff',
      'fill-opacity': 0.9,
      stroke: '#cccccc',
      'stroke-width': 1,
    }),
  );
  series.forEach((p, i) => {
    const cy = y + 6 + g.rowH * i + g.rowH / 2;
    const sx = x + 10;
    parts.push(
      el('line', {
        x1: sx,
        y1: cy,
        x2: sx + 26,
        y2: cy,
        stroke: p.color,
        'stroke-width': Math.min(p.width, 4),
        'stroke-dasharray': p.s.dashed ? '6 4' : undefined,
        'stroke-linecap': 'round',
      }),
    );
    if (p.s.markers || p.single) {
      parts.push(el('circle', { cx: sx + 13, cy, r: 3.5, fill: p.color, stroke: '#fff', 'stroke-width': 1 }));
    }
    if (p.diverged) parts.push(cross(sx + 13, cy, p.color, 3.5));
    parts.push(text(sx + 34, cy + LEGEND_SIZE * 0.36, p.s.name, { 'font-size': LEGEND_SIZE, fill: TEXT }));
  });
  return el('g', { class: 'legend' }, parts);
}

function cross(x: number, y: number, color: string, r = 5): string {
  const d = `M${num(x - r)},${num(y - r)}L${num(x + r)},${num(y + r)}M${num(x - r)},${num(y + r)}L${num(x + r)},${num(y - r)}`;
  return el('g', { class: 'diverged' }, [
    el('path', { d, stroke: '#ffffff', 'stroke-width': 5, 'stroke-linecap': 'round', fill: 'none' }),
    el('path', { d, stroke: color, 'stroke-width': 2.25, 'stroke-linecap': 'round', fill: 'none' }),
  ]);
}

/**
 * Thins a run with x increasing to at most ~4 points per bucket of `bucketW` (data units): first,
 * min, max and last of each bucket, in order, so the drawn envelope is unchanged.
 */
function decimate(run: Pt[], x0: number, bucketW: number): Pt[] {
  if (run.length < 2000 || !(bucketW > 0)) return run;
  for (let i = 1; i < run.length; i++) if (run[i]!.x < run[i - 1]!.x) return run; // not monotonic
  const out: Pt[] = [];
  let i = 0;
  while (i < run.length) {
    const b = Math.floor((run[i]!.x - x0) / bucketW);
    let j = i;
    let lo = i,
      hi = i;
    while (j + 1 < run.length && Math.floor((run[j + 1]!.x - x0) / bucketW) === b) {
      j++;
      if (run[j]!.y < run[lo]!.y) lo = j;
      if (run[j]!.y > run[hi]!.y) hi = j;
    }
    for (const k of [...new Set([i, lo, hi, j])].sort((a, c) => a - c)) out.push(run[k]!);
    i = j + 1;
  }
  return out;
}

/** What the drawable points span, and whether every x is an integer (epochs, steps). */
interface Extents {
  hasData: boolean;
  yMin: number;
  yMax: number;
  xMin: number;
  xMax: number;
  xInteger: boolean;
}

/** Data extents in one pass (series can be long); only points inside fixed y bounds set the y range. */
function dataExtents(spec: LineChartSpec, series: PreparedSeries[]): Extents {
  let hasData = false;
  let dataYMin = Infinity,
    dataYMax = -Infinity,
    inYMin = Infinity,
    inYMax = -Infinity;
  let dataXMin = Infinity,
    dataXMax = -Infinity;
  let xInteger = true;
  for (const p of series) {
    for (const run of p.runs) {
      for (const pt of run) {
        hasData = true;
        if (pt.y < dataYMin) dataYMin = pt.y;
        if (pt.y > dataYMax) dataYMax = pt.y;
        if (pt.x < dataXMin) dataXMin = pt.x;
        if (pt.x > dataXMax) dataXMax = pt.x;
        if (xInteger && !Number.isInteger(pt.x)) xInteger = false;
        if ((spec.yMin === undefined || pt.y >= spec.yMin) && (spec.yMax === undefined || pt.y <= spec.yMax)) {
          if (pt.y < inYMin) inYMin = pt.y;
          if (pt.y > inYMax) inYMax = pt.y;
        }
      }
    }
  }
  xInteger &&= hasData;
  // Only points inside fixed bounds count towards the automatic end of the range.
  if (inYMin <= inYMax) {
    dataYMin = inYMin;
    dataYMax = inYMax;
  }
  return { hasData, yMin: dataYMin, yMax: dataYMax, xMin: dataXMin, xMax: dataXMax, xInteger };
}

/** Space above the plot area (title, subtitle) and below it (ticks, x label). */
function verticalMargins(spec: LineChartSpec): { top: number; bottom: number } {
  const titleH = (spec.title ? TITLE_SIZE + 10 : 0) + (spec.subtitle ? SUBTITLE_SIZE + 6 : 0);
  const top = 12 + titleH + (titleH ? 6 : 0);
  const bottom = 6 + 5 + TICK_SIZE + 6 + (spec.xLabel ? LABEL_SIZE + 10 : 0) + 6;
  return { top, bottom };
}

/** The y range and its ticks: log decades, or nice linear steps about 42 px apart. */
function yAxis(
  spec: LineChartSpec,
  ext: Extents,
  approxPh: number,
): { scale: Scale; major: number[]; minor: number[] } {
  const yTarget = Math.max(2, Math.min(10, Math.floor(approxPh / 42)));
  if (spec.yScale === 'log') {
    const [dlo, dhi] = ext.hasData ? logDomain(ext.yMin, ext.yMax) : [1, 10];
    const lo = spec.yMin !== undefined && spec.yMin > 0 ? spec.yMin : dlo;
    let hi = spec.yMax !== undefined && spec.yMax > 0 ? spec.yMax : dhi;
    if (hi <= lo) hi = lo * 10;
    const t = logTicks(lo, hi);
    return { scale: { lo, hi, log: true }, major: t.major, minor: t.minor };
  }
  let lo = spec.yMin ?? (ext.hasData ? ext.yMin : 0);
  let hi = spec.yMax ?? (ext.hasData ? ext.yMax : 1);
  if (spec.yMin === undefined && spec.yMax !== undefined && lo >= hi) lo = hi - 1;
  if (spec.yMax === undefined && spec.yMin !== undefined && hi <= lo) hi = lo + 1;
  const nt = niceTicks(lo, hi, yTarget);
  if (spec.yMin === undefined) lo = nt.lo;
  if (spec.yMax === undefined) hi = nt.hi;
  if (hi <= lo) {
    hi = lo + 1;
  }
  return { scale: { lo, hi, log: false }, major: ticksWithin(lo, hi, nt.step), minor: [] };
}

/** The x range: the data's (or the fixed bounds), widened when empty, padded for end markers. */
function xDomain(spec: LineChartSpec, ext: Extents, series: PreparedSeries[]): [number, number] {
  let xlo = spec.xMin ?? (ext.hasData ? ext.xMin : 0);
  let xhi = spec.xMax ?? (ext.hasData ? ext.xMax : 1);
  if (xhi < xlo) [xlo, xhi] = [xhi, xlo];
  if (xhi === xlo) {
    const d = ext.xInteger ? 1 : xlo === 0 ? 1 : Math.abs(xlo) * 0.1;
    if (spec.xMin === undefined) xlo -= d;
    if (spec.xMax === undefined) xhi += d;
    if (xhi === xlo) xhi = xlo + d;
  }
  // Room for markers at the ends (only for automatic bounds).
  if (series.some((p) => p.s.markers || p.single) && ext.hasData) {
    const padX = (xhi - xlo) * 0.025;
    if (spec.xMin === undefined) xlo -= padX;
    if (spec.xMax === undefined) xhi += padX;
  }
  return [xlo, xhi];
}

/** The x ticks for a plot `pw` px wide: the nicest step whose labels do not collide. */
function xTicksFor(
  xlo: number,
  xhi: number,
  xInteger: boolean,
  xFmt: (v: number) => string,
  pw: number,
): { ticks: number[]; labels: string[] } {
  const target = Math.max(2, Math.min(12, Math.floor(pw / 70)));
  let step = niceTicks(xlo, xhi, target, { integer: xInteger }).step;
  for (let guard = 0; guard < 20; guard++) {
    const ticks = ticksWithin(xlo, xhi, step);
    const labels = ticks.map(xFmt);
    const maxW = Math.max(0, ...labels.map((s) => textWidth(s, TICK_SIZE)));
    const spacing = ticks.length > 1 ? (step / (xhi - xlo)) * pw : Infinity;
    if (spacing >= maxW + 14 || ticks.length <= 2) return { ticks, labels };
    step = nextStep(step);
  }
  return { ticks: [], labels: [] };
}

/** The plot area and the maps from data to pixels. */
interface Frame {
  plot: Box;
  sx(x: number): number;
  sy(y: number): number;
}

function frame(plot: Box, xlo: number, xhi: number, yScale: Scale): Frame {
  return {
    plot,
    sx: (x) => plot.x + ((x - xlo) / (xhi - xlo)) * plot.w,
    sy: (y) => {
      const t = yScale.log
        ? (Math.log10(y) - Math.log10(yScale.lo)) / (Math.log10(yScale.hi) - Math.log10(yScale.lo))
        : (y - yScale.lo) / (yScale.hi - yScale.lo);
      return plot.y + plot.h - t * plot.h;
    },
  };
}

/** How many drawn points and line samples fall under a legend at (lx, ly): fewer is better. */
function legendOverlap(series: PreparedSeries[], f: Frame, lg: LegendGeom, lx: number, ly: number): number {
  let hits = 0;
  const inBox = (x: number, y: number) => x >= lx - 4 && x <= lx + lg.w + 4 && y >= ly - 4 && y <= ly + lg.h + 4;
  for (const p of series) {
    for (const run of p.runs) {
      for (let i = 0; i < run.length; i++) {
        const a = run[i]!;
        const ax = f.sx(a.x),
          ay = f.sy(a.y);
        if (inBox(ax, ay)) hits++;
        const b = run[i + 1];
        if (!b) continue;
        const bx = f.sx(b.x),
          by = f.sy(b.y);
        const steps = Math.min(40, Math.ceil(Math.hypot(bx - ax, by - ay) / 6));
        for (let k = 1; k < steps; k++) if (inBox(ax + ((bx - ax) * k) / steps, ay + ((by - ay) * k) / steps)) hits++;
      }
    }
  }
  return hits;
}

/**
 * Where the legend goes: a fixed corner, outside right, or ('auto') the inside corner that hides
 * the least data, else outside right when that leaves the plot wide enough. Moving it outside
 * narrows the plot, so the frame to draw with is returned too.
 */
function placeLegend(
  pos: LegendPosition,
  series: PreparedSeries[],
  lg: LegendGeom,
  f: Frame,
  box: Box,
  relayout: () => Frame,
): { at: [number, number] | null; frame: Frame } {
  if (pos === 'none' || !series.length) return { at: null, frame: f };
  const { plot } = f;
  const corners: Array<[LegendPosition, number, number]> = [
    ['top-right', plot.x + plot.w - lg.w - 8, plot.y + 8],
    ['top-left', plot.x + 8, plot.y + 8],
    ['bottom-right', plot.x + plot.w - lg.w - 8, plot.y + plot.h - lg.h - 8],
    ['bottom-left', plot.x + 8, plot.y + plot.h - lg.h - 8],
  ];
  if (pos === 'right') return { at: [plot.x + plot.w + 14, plot.y + 4], frame: f };
  if (pos !== 'auto') {
    const c = corners.find(([name]) => name === pos)!;
    return { at: [c[1], c[2]], frame: f };
  }
  const fits = lg.w + 16 <= plot.w && lg.h + 16 <= plot.h;
  let best: [number, number] | null = null;
  let bestScore = Infinity;
  if (fits) {
    for (const [, lx, ly] of corners) {
      const sc = legendOverlap(series, f, lg, lx, ly);
      if (sc < bestScore) {
        bestScore = sc;
        best = [lx, ly];
      }
    }
  }
  if (bestScore > 0 && lg.w + 10 < box.w * 0.35) {
    const outside = relayout();
    return { at: [outside.plot.x + outside.plot.w + 14, outside.plot.y + 4], frame: outside };
  }
  return { at: best ?? [plot.x + plot.w - lg.w - 8, plot.y + 8], frame: f };
}

/** Title and subtitle, centred over the plot area but kept inside the box. */
function renderTitles(spec: LineChartSpec, box: Box, plot: Box): string[] {
  const out: string[] = [];
  let ty = box.y + 12;
  const cx = plot.x + plot.w / 2;
  if (spec.title) {
    ty += TITLE_SIZE;
    const t = fitText(spec.title, TITLE_SIZE, (box.w - 16) / 1.1, 11); // bold is wider
    const w = textWidth(t.s, t.size);
    const x = Math.min(Math.max(cx, box.x + 8 + w / 2), box.x + box.w - 8 - w / 2);
    out.push(
      text(x, ty, t.s, {
        'font-size': t.size,
        'font-weight': 'bold',
        'text-anchor': 'middle',
        fill: TEXT,
        class: 'title',
      }),
    );
    ty += 8;
  }
  if (spec.subtitle) {
    ty += SUBTITLE_SIZE + 2;
    const t = fitText(spec.subtitle, SUBTITLE_SIZE, box.w - 16, 10);
    const w = textWidth(t.s, t.size);
    const x = Math.min(Math.max(cx, box.x + 8 + w / 2), box.x + box.w - 8 - w / 2);
    out.push(text(x, ty, t.s, { 'font-size': t.size, 'text-anchor': 'middle', fill: MUTED, class: 'subtitle' }));
  }
  return out;
}

function renderGrid(f: Frame, yMinor: number[], yMajor: number[], xTicks: number[]): string {
  const { plot } = f;
  const grid: string[] = [];
  for (const v of yMinor) {
    const y = f.sy(v);
    grid.push(el('line', { x1: plot.x, y1: y, x2: plot.x + plot.w, y2: y, stroke: GRID_MINOR, 'stroke-width': 1 }));
  }
  for (const v of yMajor) {
    const y = f.sy(v);
    grid.push(el('line', { x1: plot.x, y1: y, x2: plot.x + plot.w, y2: y, stroke: GRID, 'stroke-width': 1 }));
  }
  for (const v of xTicks) {
    const x = f.sx(v);
    grid.push(el('line', { x1: x, y1: plot.y, x2: x, y2: plot.y + plot.h, stroke: GRID, 'stroke-width': 1 }));
  }
  return el('g', { class: 'grid' }, grid);
}

/** Axis lines, tick marks and tick labels. */
function renderAxes(f: Frame, yMajor: number[], yLabels: string[], xTicks: number[], xLabels: string[]): string {
  const { plot } = f;
  const axes: string[] = [];
  const bottomY = plot.y + plot.h;
  axes.push(el('line', { x1: plot.x, y1: bottomY, x2: plot.x + plot.w, y2: bottomY, stroke: AXIS, 'stroke-width': 1 }));
  axes.push(el('line', { x1: plot.x, y1: plot.y, x2: plot.x, y2: bottomY, stroke: AXIS, 'stroke-width': 1 }));
  yMajor.forEach((v, i) => {
    const y = f.sy(v);
    axes.push(el('line', { x1: plot.x - 5, y1: y, x2: plot.x, y2: y, stroke: AXIS, 'stroke-width': 1 }));
    axes.push(
      text(plot.x - 8, y + TICK_SIZE * 0.35, yLabels[i]!, {
        'font-size': TICK_SIZE,
        'text-anchor': 'end',
        fill: MUTED,
      }),
    );
  });
  xTicks.forEach((v, i) => {
    const x = f.sx(v);
    axes.push(el('line', { x1: x, y1: bottomY, x2: x, y2: bottomY + 5, stroke: AXIS, 'stroke-width': 1 }));
    axes.push(
      text(x, bottomY + 6 + TICK_SIZE, xLabels[i]!, { 'font-size': TICK_SIZE, 'text-anchor': 'middle', fill: MUTED }),
    );
  });
  return el('g', { class: 'axes' }, axes);
}

/** The x label under the tick labels, the y label rotated along the left edge. */
function renderAxisLabels(spec: LineChartSpec, box: Box, plot: Box): string[] {
  const out: string[] = [];
  if (spec.xLabel) {
    const t = fitText(spec.xLabel, LABEL_SIZE, plot.w);
    out.push(
      text(plot.x + plot.w / 2, plot.y + plot.h + 6 + TICK_SIZE + 8 + LABEL_SIZE, t.s, {
        'font-size': t.size,
        'text-anchor': 'middle',
        fill: TEXT,
        class: 'x-label',
      }),
    );
  }
  if (spec.yLabel) {
    const lx = box.x + 10 + LABEL_SIZE;
    const ly = plot.y + plot.h / 2;
    const t = fitText(spec.yLabel, LABEL_SIZE, plot.h);
    out.push(
      text(lx, ly, t.s, {
        'font-size': t.size,
        'text-anchor': 'middle',
        fill: TEXT,
        transform: `rotate(-90 ${num(lx)} ${num(ly)})`,
        class: 'y-label',
      }),
    );
  }
  return out;
}

/** Where a diverged series gets its cross: its last point, or where it leaves the plot for good. */
function divergencePoint(run: Pt[], f: Frame, inside: (x: number, y: number) => boolean): [number, number] {
  const { plot } = f;
  const scr = run.map((pt) => [f.sx(pt.x), f.sy(pt.y)] as const);
  let j = scr.length - 1;
  while (j >= 0 && !inside(scr[j]![0], scr[j]![1])) j--;
  let x: number, y: number;
  if (j === scr.length - 1 || j < 0) {
    [x, y] = scr[scr.length - 1]!;
  } else {
    const [ax, ay] = scr[j]!;
    const [bx, by] = scr[j + 1]!;
    const edge = by < plot.y ? plot.y : by > plot.y + plot.h ? plot.y + plot.h : NaN;
    if (Number.isFinite(edge) && by !== ay) {
      const t = (edge - ay) / (by - ay);
      x = ax + (bx - ax) * t;
      y = edge;
    } else {
      x = bx;
      y = by;
    }
  }
  x = Math.min(Math.max(x, plot.x), plot.x + plot.w);
  y = Math.min(Math.max(y, plot.y), plot.y + plot.h);
  return [x, y];
}

/** Series: lines (clipped), then markers and divergence crosses (unclipped, only when inside). */
function renderSeries(series: PreparedSeries[], f: Frame, clipId: string): string[] {
  const { plot } = f;
  const inside = (x: number, y: number) =>
    x >= plot.x - 0.5 && x <= plot.x + plot.w + 0.5 && y >= plot.y - 0.5 && y <= plot.y + plot.h + 0.5;
  const order = [...series.filter((p) => !p.s.front), ...series.filter((p) => p.s.front)];
  const lines: string[] = [];
  const marks: string[] = [];
  for (const p of order) {
    let d = '';
    for (const run of p.runs) {
      if (run.length < 2) continue;
      d += run.map((pt, i) => `${i ? 'L' : 'M'}${num(f.sx(pt.x))},${num(f.sy(pt.y))}`).join('');
    }
    if (d) {
      lines.push(
        el('path', {
          d,
          fill: 'none',
          stroke: p.color,
          'stroke-width': p.width,
          'stroke-linejoin': 'round',
          'stroke-linecap': 'round',
          'stroke-dasharray': p.s.dashed ? '6 4' : undefined,
          class: 'series',
          'data-name': p.s.name,
        }),
      );
    }
    for (const run of p.runs) {
      if (!(p.s.markers || run.length === 1)) continue;
      for (const pt of run) {
        const x = f.sx(pt.x),
          y = f.sy(pt.y);
        if (!inside(x, y)) continue;
        marks.push(
          el('circle', { cx: x, cy: y, r: p.s.markers ? 3 : 3.5, fill: p.color, stroke: '#fff', 'stroke-width': 1 }),
        );
      }
    }
    if (p.diverged && p.runs.length) {
      const [x, y] = divergencePoint(p.runs[p.runs.length - 1]!, f, inside);
      marks.push(cross(x, y, p.color));
    }
  }
  return [el('g', { 'clip-path': `url(#${clipId})`, class: 'lines' }, lines), el('g', { class: 'markers' }, marks)];
}

/**
 * Renders one chart into `box`; returns `<defs>` content and body markup. Steps: the data's
 * extents, the y axis, the x domain, the horizontal layout, thinning long series, the legend's
 * place (which may narrow the plot), then drawing: titles, grid, axes, labels, series, legend.
 */
function renderChart(spec: LineChartSpec, box: Box, idPrefix: string, minLeft = 0): { defs: string; body: string } {
  const series = prepare(spec, spec.yScale === 'log');
  const ext = dataExtents(spec, series);
  const yFmt = spec.yFormat ?? formatTick;
  const xFmt = spec.xFormat ?? formatTick;
  const { top, bottom } = verticalMargins(spec);
  const y = yAxis(spec, ext, Math.max(60, box.h - top - bottom));
  const [xlo, xhi] = xDomain(spec, ext, series);

  // Horizontal layout: the y tick labels set the left margin, the last x label (and an outside legend) the right.
  const yLabels = y.major.map(yFmt);
  const yLabelW = Math.max(textWidth('0', TICK_SIZE), ...yLabels.map((s) => textWidth(s, TICK_SIZE)));
  const left = Math.max(minLeft, 10 + (spec.yLabel ? LABEL_SIZE + 10 : 0) + yLabelW + 6 + 5);
  const legendPos: LegendPosition = series.length === 0 ? 'none' : (spec.legend ?? 'auto');
  const lg = legendGeom(series);
  const layout = (outside: boolean): Frame => {
    let right = Math.max(16, textWidth(xFmt(xhi), TICK_SIZE) / 2 + 6);
    if (outside) right += lg.w + 10;
    const plot: Box = {
      x: box.x + left,
      y: box.y + top,
      w: Math.max(40, box.w - left - right),
      h: Math.max(40, box.h - top - bottom),
    };
    return frame(plot, xlo, xhi, y.scale);
  };
  const first = layout(legendPos === 'right');

  // Long series: keep the envelope at about 2 buckets per pixel column.
  const bucketW = (xhi - xlo) / (first.plot.w * 2);
  for (const p of series) p.runs = p.runs.map((r) => decimate(r, xlo, bucketW));

  const legend = placeLegend(legendPos, series, lg, first, box, () => layout(true));
  const f = legend.frame;
  const { plot } = f;
  const { ticks: xTicks, labels: xLabels } = xTicksFor(xlo, xhi, ext.xInteger, xFmt, plot.w);

  const clipId = `${idPrefix}-clip`;
  const pad = 3; // so lines along the plot edges are not cut in half
  const defs = el(
    'clipPath',
    { id: clipId },
    el('rect', {
      x: plot.x - pad,
      y: plot.y - pad,
      width: plot.w + 2 * pad,
      height: plot.h + 2 * pad,
    }),
  );
  const out: string[] = [
    ...renderTitles(spec, box, plot),
    renderGrid(f, y.minor, y.major, xTicks),
    renderAxes(f, y.major, yLabels, xTicks, xLabels),
    ...renderAxisLabels(spec, box, plot),
    ...renderSeries(series, f, clipId),
  ];
  if (!ext.hasData) {
    out.push(
      text(plot.x + plot.w / 2, plot.y + plot.h / 2, 'no data', {
        'font-size': 13,
        'text-anchor': 'middle',
        fill: '#999',
        'font-style': 'italic',
      }),
    );
  }
  if (legend.at) out.push(renderLegend(series, lg, legend.at[0], legend.at[1]));
  return { defs, body: el('g', { class: 'chart' }, out) };
}

function svgDocument(width: number, height: number, title: string | undefined, defs: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    el(
      'svg',
      {
        xmlns: 'http://www.w3.org/2000/svg',
        width,
        height,
        viewBox: `0 0 ${num(width)} ${num(height)}`,
        role: 'img',
        'font-family': FONT,
      },
      [
        title ? el('title', {}, escapeXml(title)) : '',
        defs ? el('defs', {}, defs) : '',
        el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }),
        body,
      ],
    ) +
    '\n'
  );
}

function dim(v: number | undefined, def: number, min: number): number {
  return v !== undefined && Number.isFinite(v) ? Math.max(min, v) : def;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** A line chart as a standalone SVG document. */
export function lineChart(spec: LineChartSpec): string {
  checkOptions('lineChart', spec, LINE_CHART_KEYS);
  if (Array.isArray(spec.series)) spec.series.forEach((s, i) => checkOptions(`lineChart series[${i}]`, s, SERIES_KEYS));
  const width = dim(spec.width, 720, 200);
  const height = dim(spec.height, 420, 150);
  const id = `ng${hashString(specKey(spec))}`;
  const { defs, body } = renderChart(spec, { x: 0, y: 0, w: width, h: height }, id);
  return svgDocument(width, height, spec.title, defs, body);
}

/** One epoch of a training run; `accuracy` and `valAccuracy` are fractions in [0, 1]. */
/** What the plot reads of fit's EpochRecord (lr and seconds optional, for histories from elsewhere). */
export type EpochRecord = Pick<Rec, 'epoch' | 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy'> &
  Partial<Pick<Rec, 'lr' | 'seconds'>>;

/** Options of trainingPlot(). */
export interface TrainingPlotOptions {
  /** Text above the plots. @defaultValue 'Training' */
  title?: string;
  /** Default 1040 x 420 side by side ('row'), 720 x 760 stacked ('column'). */
  width?: number;
  /** Pixels (default 420 for 'row', 760 for 'column'; see width). */
  height?: number;
  /** 'row': loss and accuracy side by side; 'column': stacked. @defaultValue 'row' */
  layout?: 'row' | 'column';
}
export const TRAINING_PLOT_KEYS = optionKeys<TrainingPlotOptions>()('title', 'width', 'height', 'layout');

const TRAIN_COLOR = '#0072B2';
const VAL_COLOR = '#D55E00';

function fmtLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

function fmtPct(frac: number): string {
  return `${(frac * 100).toFixed(1)}%`;
}

/** Spans more than `decades` powers of ten (positive finite values only). */
function spansDecades(values: number[], decades: number): boolean {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  if (pos.length < 2) return false;
  return maxOf(pos) / minOf(pos) > 10 ** decades;
}

/**
 * Loss and accuracy per epoch, two panels in one SVG (left/top "Loss", right/bottom "Accuracy",
 * accuracy in %). Validation curves are drawn dashed when present.
 */
export function trainingPlot(history: ReadonlyArray<EpochRecord>, options: TrainingPlotOptions = {}): string {
  checkOptions('trainingPlot', options, TRAINING_PLOT_KEYS);
  const layout = options.layout ?? 'row';
  const width = dim(options.width, layout === 'row' ? 1040 : 720, 300);
  const height = dim(options.height, layout === 'row' ? 420 : 760, 250);
  const h = [...history].filter((r) => r && Number.isFinite(r.epoch)).sort((a, b) => a.epoch - b.epoch);
  const title = options.title ?? 'Training';
  const markers = h.length <= 40;

  const hasVal = (k: 'valLoss' | 'valAccuracy') => h.some((r) => r[k] !== undefined && r[k] !== null);
  const pts = (f: (r: EpochRecord) => number | undefined): Array<[number, number]> =>
    h.map((r) => [r.epoch, f(r) ?? NaN]);

  // Summary line under the title.
  const summary: string[] = [];
  if (h.length) {
    const last = h[h.length - 1]!;
    summary.push(`${h.length} epoch${h.length === 1 ? '' : 's'}`);
    summary.push(
      `final loss ${fmtLoss(last.loss)}${last.valLoss !== undefined ? ` (val ${fmtLoss(last.valLoss)})` : ''}`,
    );
    const accKey = hasVal('valAccuracy') ? 'valAccuracy' : 'accuracy';
    let best: EpochRecord | undefined;
    for (const r of h) {
      const v = r[accKey];
      if (v !== undefined && Number.isFinite(v) && (!best || v > (best[accKey] ?? -Infinity))) best = r;
    }
    if (best)
      summary.push(
        `best ${accKey === 'valAccuracy' ? 'val ' : ''}accuracy ${fmtPct(best[accKey]!)} (epoch ${best.epoch})`,
      );
    const secs = h.reduce((a, r) => a + (Number.isFinite(r.seconds) ? r.seconds! : 0), 0);
    if (h.some((r) => r.seconds !== undefined))
      summary.push(secs >= 120 ? `${(secs / 60).toFixed(1)} min` : `${secs.toFixed(1)} s`);
  }

  const headerH = 12 + TITLE_SIZE + 8 + (summary.length ? SUBTITLE_SIZE + 6 : 0) + 4;
  const pw = layout === 'row' ? width / 2 : width;
  const ph = layout === 'row' ? height - headerH : (height - headerH) / 2;

  // Loss panel.
  const lossValues = h.flatMap((r) => [r.loss, r.valLoss ?? NaN]);
  const lossSeries: Series[] = [{ name: 'train', points: pts((r) => r.loss), color: TRAIN_COLOR, markers }];
  if (hasVal('valLoss'))
    lossSeries.push({ name: 'validation', points: pts((r) => r.valLoss), color: VAL_COLOR, dashed: true, markers });
  const lossSpec: LineChartSpec = {
    title: 'Loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: lossSeries,
    yScale: spansDecades(lossValues, 2) ? 'log' : 'linear',
  };
  // A linear loss axis starts at 0 unless the losses sit far above it.
  const finiteLoss = lossValues.filter((v) => Number.isFinite(v));
  if (
    lossSpec.yScale === 'linear' &&
    finiteLoss.length &&
    minOf(finiteLoss) >= 0 &&
    minOf(finiteLoss) < 0.5 * maxOf(finiteLoss)
  )
    lossSpec.yMin = 0;

  // Accuracy panel (percent).
  const accValues = h
    .flatMap((r) => [r.accuracy, r.valAccuracy ?? NaN])
    .filter((v) => Number.isFinite(v))
    .map((v) => v * 100);
  const accSeries: Series[] = [{ name: 'train', points: pts((r) => r.accuracy * 100), color: TRAIN_COLOR, markers }];
  if (hasVal('valAccuracy')) {
    accSeries.push({
      name: 'validation',
      points: pts((r) => (r.valAccuracy === undefined ? undefined : r.valAccuracy * 100)),
      color: VAL_COLOR,
      dashed: true,
      markers,
    });
  }
  let accMin = 0;
  if (accValues.length) {
    const lo = minOf(accValues);
    // Some room below the lowest value, rounded down to a multiple of 5 (or 10 for wide ranges).
    const r = 100 - lo;
    const unit = r > 30 ? 10 : 5;
    accMin = Math.max(0, Math.floor((lo - Math.max(1, r * 0.1)) / unit) * unit);
  }
  const accMax = accValues.length ? Math.max(100, Math.ceil(maxOf(accValues))) : 100;
  const accSpec: LineChartSpec = {
    title: 'Accuracy',
    xLabel: 'epoch',
    yLabel: 'accuracy',
    series: accSeries,
    yMin: accMin,
    yMax: accMax,
    yFormat: (v) => `${formatTick(v)}%`,
  };

  const prefix = `ng${hashString(JSON.stringify([title, h.length, h.slice(0, 4), h.slice(-1)]))}`;
  const lossBox: Box = { x: 0, y: headerH, w: pw, h: ph };
  const accBox: Box = layout === 'row' ? { x: pw, y: headerH, w: pw, h: ph } : { x: 0, y: headerH + ph, w: pw, h: ph };
  // Stacked panels share the plot's left edge (room for labels such as "100%" or "0.001").
  const minLeft = layout === 'column' ? 10 + LABEL_SIZE + 10 + textWidth('0.001', TICK_SIZE) + 11 : 0;
  const a = renderChart(lossSpec, lossBox, `${prefix}-loss`, minLeft);
  const b = renderChart(accSpec, accBox, `${prefix}-acc`, minLeft);

  const header: string[] = [];
  const t = fitText(title, TITLE_SIZE + 2, (width - 20) / 1.1, 11); // bold is wider
  header.push(
    text(width / 2, 12 + TITLE_SIZE, t.s, {
      'font-size': t.size,
      'font-weight': 'bold',
      'text-anchor': 'middle',
      fill: TEXT,
      class: 'title',
    }),
  );
  if (summary.length) {
    const st = fitText(summary.join('  ·  '), SUBTITLE_SIZE, width - 20, 10);
    header.push(
      text(width / 2, 12 + TITLE_SIZE + 8 + SUBTITLE_SIZE + 2, st.s, {
        'font-size': st.size,
        'text-anchor': 'middle',
        fill: MUTED,
        class: 'subtitle',
      }),
    );
  }
  return svgDocument(width, height, title, a.defs + b.defs, el('g', {}, [...header, a.body, b.body]));
}

/** One run of a learning-rate sweep, for lrSweepPlot(). */
export interface LrRun {
  /** The learning rate of this run (the legend shows it). */
  lr: number;
  /** Loss per step or per epoch. */
  losses: ReadonlyArray<number>;
  /**
   * Highlight this run as the best. @defaultValue the run with the lowest final loss among those that did not diverge
   */
  best?: boolean;
}

/** Options of lrSweepPlot(). */
export interface LrSweepOptions {
  /** Text above the chart. @defaultValue 'Learning-rate sweep' */
  title?: string;
  /** Default 'step'. */
  xLabel?: string;
  /** Pixels (default 720, as lineChart). */
  width?: number;
  /** Pixels (default 420, as lineChart). */
  height?: number;
  /** Where the legend goes (see LineChartSpec.legend). @defaultValue 'auto' */
  legend?: LegendPosition;
}
export const LR_SWEEP_KEYS = optionKeys<LrSweepOptions>()('title', 'xLabel', 'width', 'height', 'legend');

/**
 * All loss curves of a learning-rate sweep in one chart. Values above 10x a run's initial loss
 * (or non-finite) count as diverged: the curve is cut there, leaves the chart through the top and
 * gets a cross, and its legend entry says "(diverged)". The best run (`best: true`, else the
 * lowest final loss among runs that did not diverge) is drawn thicker and named in the subtitle.
 * The y axis is logarithmic when the plotted losses span more than 2 decades.
 */
export function lrSweepPlot(runs: ReadonlyArray<LrRun>, options: LrSweepOptions = {}): string {
  checkOptions('lrSweepPlot', options, LR_SWEEP_KEYS);
  const sorted = runs
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.lr - b.r.lr || a.i - b.i)
    .map((e) => e.r);
  interface Prepared {
    run: LrRun;
    kept: Array<[number, number]>;
    exitX: number | null;
    diverged: boolean;
    final: number;
  }
  const prepared: Prepared[] = sorted.map((run) => {
    const losses = run.losses ?? [];
    const first = losses.find((v) => Number.isFinite(v));
    const limit = first !== undefined && first > 0 ? 10 * first : Infinity;
    const kept: Array<[number, number]> = [];
    let exitX: number | null = null;
    let diverged = false;
    for (let i = 0; i < losses.length; i++) {
      const v = losses[i]!;
      if (Number.isFinite(v) && v <= limit) {
        kept.push([i + 1, v]);
        continue;
      }
      if (kept.length === 0 && !Number.isFinite(v)) continue; // leading garbage: skip
      diverged = true;
      exitX = i + 1;
      break;
    }
    const final = kept.length ? kept[kept.length - 1]![1] : NaN;
    return { run, kept, exitX, diverged, final };
  });

  // Best run.
  let best = prepared.find((p) => p.run.best);
  if (!best) {
    for (const p of prepared) {
      if (!p.diverged && Number.isFinite(p.final) && (!best || p.final < best.final)) best = p;
    }
  }

  // y range from the runs that did not diverge (diverged ones may leave through the top); from
  // all on-chart values when every run diverged.
  const stable = prepared.filter((p) => !p.diverged);
  const values = (stable.some((p) => p.kept.length) ? stable : prepared).flatMap((p) => p.kept.map(([, y]) => y));
  const log = spansDecades(values, 2) && values.every((v) => v > 0);
  let yMin: number | undefined;
  let yMax: number | undefined;
  if (values.length) {
    const lo = minOf(values),
      hi = maxOf(values);
    if (log) [yMin, yMax] = logDomain(lo, hi);
    else {
      const nt = niceTicks(lo >= 0 && lo < 0.5 * hi ? 0 : lo, hi, 7);
      yMin = nt.lo;
      yMax = nt.hi;
    }
  }
  // Where a diverged run goes after its last on-chart value: far above the top.
  const above = (): number => {
    if (yMax === undefined || yMin === undefined) return 1e6;
    return log ? yMax * 1e6 : yMax + (yMax - yMin) * 1e3;
  };

  const series: Series[] = prepared.map((p, k) => {
    const points = [...p.kept];
    if (p.diverged && p.exitX !== null && p.kept.length) points.push([p.exitX, above()]);
    const isBest = p === best;
    let name = `lr = ${formatSci(p.run.lr)}`;
    if (isBest) name += ' (best)';
    if (p.diverged) name += ' (diverged)';
    return {
      name,
      points,
      color: PALETTE[k % PALETTE.length]!,
      strokeWidth: isBest ? 3.5 : 1.75,
      diverged: p.diverged,
      front: isBest,
    };
  });

  const subtitle = best
    ? `best: lr = ${formatSci(best.run.lr)}${Number.isFinite(best.final) ? ` (final loss ${fmtLoss(best.final)})` : ''}`
    : prepared.length
      ? 'no run converged'
      : undefined;
  const spec: LineChartSpec = {
    title: options.title ?? 'Learning-rate sweep',
    subtitle,
    xLabel: options.xLabel ?? 'step',
    yLabel: log ? 'loss (log scale)' : 'loss',
    series,
    yScale: log ? 'log' : 'linear',
    yMin,
    yMax,
    width: options.width,
    height: options.height,
    legend: options.legend ?? 'auto',
  };
  return lineChart(spec);
}
