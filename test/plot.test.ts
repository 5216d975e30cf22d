import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  escapeXml,
  formatSci,
  formatTick,
  lineChart,
  logDomain,
  logTicks,
  lrSweepPlot,
  niceTicks,
  trainingPlot,
} from '../lib/plot/index.js';
import type { EpochRecord, LrRun } from '../lib/plot/index.js';

// ---------------------------------------------------------------------------------------------
// A tiny XML well-formedness checker (tags balance, attributes quoted, entities valid).
// ---------------------------------------------------------------------------------------------

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

function checkText(s: string, where: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '<') throw new Error(`raw '<' in ${where}`);
    if (s[i] === '&' && !ENTITY.test(s.slice(i))) throw new Error(`bad entity in ${where}: ${s.slice(i, i + 12)}`);
  }
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Parses `xml` and returns the root element; throws on anything malformed. */
function parseXml(xml: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const skipWs = () => {
    while (i < xml.length && /\s/.test(xml[i]!)) i++;
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  while (i < xml.length) {
    if (xml[i] !== '<') {
      const next = xml.indexOf('<', i);
      const chunk = xml.slice(i, next < 0 ? xml.length : next);
      const decoded = checkText(chunk, 'text');
      if (stack.length) stack[stack.length - 1]!.text += decoded;
      else if (chunk.trim()) throw new Error(`text outside the root element: ${chunk.slice(0, 20)}`);
      i = next < 0 ? xml.length : next;
      continue;
    }
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(i));
      if (!m) throw new Error(`bad closing tag at ${i}`);
      const open = stack.pop();
      if (!open || open.name !== m[1]) throw new Error(`</${m[1]}> closes <${open?.name ?? 'nothing'}>`);
      i += m[0].length;
      continue;
    }
    const m = /^<([A-Za-z_][\w.:-]*)/.exec(xml.slice(i));
    if (!m) throw new Error(`bad tag at ${i}: ${xml.slice(i, i + 20)}`);
    i += m[0].length;
    const node: XmlElement = { name: m[1]!, attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipWs();
      if (xml.startsWith('/>', i)) {
        i += 2;
        break;
      }
      if (xml[i] === '>') {
        i++;
        stack.push(node);
        break;
      }
      if (i === before) throw new Error(`missing space before attribute in <${node.name}>`);
      const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml.slice(i));
      if (!a) throw new Error(`bad attribute in <${node.name}>: ${xml.slice(i, i + 30)}`);
      if (a[1]! in node.attrs) throw new Error(`duplicate attribute ${a[1]} in <${node.name}>`);
      node.attrs[a[1]!] = checkText(a[3] ?? a[4] ?? '', `attribute ${a[1]}`);
      i += a[0].length;
    }
    const parent = stack[stack.length - (stack[stack.length - 1] === node ? 2 : 1)];
    if (parent) parent.children.push(node);
    else if (root) throw new Error('more than one root element');
    else root = node;
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

function walk(e: XmlElement, f: (e: XmlElement) => void): void {
  f(e);
  for (const c of e.children) walk(c, f);
}

function findAll(root: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  walk(root, (e) => {
    if (pred(e)) out.push(e);
  });
  return out;
}

/** All text of an element and its descendants. */
function allText(e: XmlElement): string {
  return e.text + e.children.map(allText).join('');
}

function legendNames(root: XmlElement): string[] {
  const legend = findAll(root, (e) => e.name === 'g' && e.attrs.class === 'legend');
  return legend.flatMap((g) => findAll(g, (e) => e.name === 'text').map(allText));
}

/** Y tick label texts (right-aligned labels in the axes group). */
function yTickLabels(root: XmlElement): string[] {
  const axes = findAll(root, (e) => e.name === 'g' && e.attrs.class === 'axes');
  return axes.flatMap((g) => findAll(g, (e) => e.name === 'text' && e.attrs['text-anchor'] === 'end').map(allText));
}

function assertClean(svg: string): XmlElement {
  const root = parseXml(svg);
  expect(root.name).toBe('svg');
  expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
  expect(svg).not.toMatch(/NaN|Infinity|undefined|null/);
  // Every numeric attribute is a plain finite number.
  walk(root, (e) => {
    for (const k of ['x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'width', 'height']) {
      if (k in e.attrs) expect(Number.isFinite(Number(e.attrs[k])), `${e.name}.${k}=${e.attrs[k]}`).toBe(true);
    }
    if (e.name === 'path') expect(e.attrs.d).toMatch(/^[ML0-9.,\-e]+$/);
  });
  return root;
}

function isNice(step: number): boolean {
  const mag = 10 ** Math.floor(Math.log10(step) + 1e-9);
  const m = Math.round((step / mag) * 1e6) / 1e6;
  return m === 1 || m === 2 || m === 5;
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/** A realistic 12-epoch MNIST-like history. */
function fakeHistory(epochs = 12): EpochRecord[] {
  const out: EpochRecord[] = [];
  for (let e = 1; e <= epochs; e++) {
    const t = e - 1;
    const loss = 0.05 + 0.42 * Math.exp(-t / 2.2) + 0.01 * Math.sin(e * 1.7);
    const valLoss = 0.085 + 0.36 * Math.exp(-t / 2.5) + 0.004 * t + 0.012 * Math.cos(e * 2.3);
    out.push({
      epoch: e,
      loss,
      accuracy: Math.min(0.999, 0.995 - 0.12 * Math.exp(-t / 2.0) + 0.002 * Math.sin(e)),
      valLoss,
      valAccuracy: Math.min(0.999, 0.979 - 0.09 * Math.exp(-t / 2.3) + 0.003 * Math.cos(e * 1.3)),
      lr: 0.01 * 0.9 ** t,
      seconds: 6.5 + 0.3 * Math.sin(e),
    });
  }
  return out;
}

/** Five learning rates like the lecture's "effects of step size" figure. */
function fakeSweep(steps = 200): LrRun[] {
  const curve = (f: (s: number) => number) => Array.from({ length: steps }, (_, s) => f(s));
  const noise = (s: number, k: number) => 1 + 0.04 * Math.sin(s * 1.3 + k) * Math.cos(s * 0.7);
  return [
    { lr: 1e-4, losses: curve((s) => (2.3 - 0.0019 * s) * noise(s, 1)) }, // low: slow, linear-ish
    { lr: 1e-3, losses: curve((s) => (0.35 + 1.95 * Math.exp(-s / 70)) * noise(s, 2)) },
    { lr: 0.01, losses: curve((s) => (0.012 + 2.29 * Math.exp(-s / 14)) * noise(s, 3)) }, // good
    { lr: 0.1, losses: curve((s) => (0.6 + 1.7 * Math.exp(-s / 4)) * noise(s, 4)) }, // high: fast then plateau
    { lr: 1, losses: curve((s) => (s < 9 ? 2.3 * Math.exp(s * 0.45) : s < 14 ? 1e6 * s : NaN)) }, // explodes
  ];
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('svg helpers', () => {
  it('escapes XML metacharacters', () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe('a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  });

  it('formats ticks compactly', () => {
    expect(formatTick(0)).toBe('0');
    expect(formatTick(0.001)).toBe('0.001');
    expect(formatTick(1e-4)).toBe('1e-4');
    expect(formatTick(2.5e-5)).toBe('2.5e-5');
    expect(formatTick(0.1 + 0.2)).toBe('0.3');
    expect(formatTick(12000)).toBe('12k');
    expect(formatTick(1500)).toBe('1.5k');
    expect(formatTick(2_500_000)).toBe('2.5M');
    expect(formatTick(950)).toBe('950');
    expect(formatTick(-0.5)).toBe('-0.5');
    expect(formatSci(0.001)).toBe('1e-3');
    expect(formatSci(3e-4)).toBe('3e-4');
    expect(formatSci(0.01)).toBe('0.01');
    expect(formatSci(1)).toBe('1');
  });
});

describe('ticks', () => {
  it('are nice and cover the data range', () => {
    const cases: Array<[number, number]> = [
      [0, 1],
      [0.013, 2.31],
      [-3.7, 12.2],
      [97.2, 99.81],
      [1, 12],
      [0, 123456],
      [1e-5, 3e-5],
      [5, 5],
      [-1, -0.2],
    ];
    for (const [lo, hi] of cases) {
      for (const target of [3, 5, 8]) {
        const t = niceTicks(lo, hi, target);
        expect(isNice(t.step), `step ${t.step} for [${lo}, ${hi}]`).toBe(true);
        expect(t.lo).toBeLessThanOrEqual(Math.min(lo, hi));
        expect(t.hi).toBeGreaterThanOrEqual(Math.max(lo, hi));
        expect(t.ticks[0]).toBe(t.lo);
        expect(t.ticks[t.ticks.length - 1]).toBe(t.hi);
        expect(t.ticks.length).toBeGreaterThanOrEqual(2);
        expect(t.ticks.length).toBeLessThanOrEqual(target + 2);
        for (const v of t.ticks) {
          const k = v / t.step;
          expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-6);
          expect(String(v)).not.toMatch(/0{6,}[1-9]|9{6,}/); // no floating-point noise
        }
      }
    }
  });

  it('uses integer steps for integer data when asked', () => {
    expect(niceTicks(1, 3, 8, { integer: true }).step).toBe(1);
  });

  it('log ticks are powers of 10 and the log domain covers the data', () => {
    for (const [lo, hi] of [
      [0.0123, 2.3],
      [1e-5, 10],
      [3, 4000],
    ] as Array<[number, number]>) {
      const [dlo, dhi] = logDomain(lo, hi);
      expect(dlo).toBeLessThanOrEqual(lo);
      expect(dhi).toBeGreaterThanOrEqual(hi);
      const { major, minor } = logTicks(dlo, dhi);
      expect(major.length).toBeGreaterThanOrEqual(3);
      for (const v of major) expect(Math.log10(v)).toBeCloseTo(Math.round(Math.log10(v)), 9);
      for (const v of minor) expect(v).toBeGreaterThanOrEqual(dlo);
    }
  });
});

describe('lineChart', () => {
  it('is well-formed XML with every series in the legend', () => {
    const svg = lineChart({
      title: 'Test',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'alpha',
          points: [
            [0, 1],
            [1, 3],
            [2, 2],
          ],
        },
        { name: 'beta', points: [5, 4, 3.5, 3.2], dashed: true },
        { name: 'gamma', points: [[1, 2.5]] },
      ],
    });
    const root = assertClean(svg);
    expect(root.attrs.width).toBe('720');
    expect(root.attrs.height).toBe('420');
    expect(legendNames(root)).toEqual(['alpha', 'beta', 'gamma']);
    // Lines are clipped to the plot area.
    const clip = findAll(root, (e) => e.name === 'clipPath');
    expect(clip).toHaveLength(1);
    const lines = findAll(root, (e) => e.attrs.class === 'lines');
    expect(lines[0]!.attrs['clip-path']).toBe(`url(#${clip[0]!.attrs.id})`);
    // The single-point series is a marker.
    expect(findAll(root, (e) => e.name === 'circle').length).toBeGreaterThanOrEqual(1);
    // A dashed series.
    expect(findAll(root, (e) => e.name === 'path' && e.attrs['stroke-dasharray'] !== undefined)).toHaveLength(1);
  });

  it('y tick labels are nice and cover the data', () => {
    const ys = [0.37, 1.93, 1.2, 0.81];
    const root = assertClean(lineChart({ title: 't', series: [{ name: 's', points: ys }] }));
    const ticks = yTickLabels(root).map(Number);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...ticks)).toBeLessThanOrEqual(Math.min(...ys));
    expect(Math.max(...ticks)).toBeGreaterThanOrEqual(Math.max(...ys));
    const step = ticks[1]! - ticks[0]!;
    expect(isNice(Number(step.toPrecision(6)))).toBe(true);
  });

  it('escapes <&" in titles, labels and series names', () => {
    const nasty = `<script>&"x"</script>`;
    const svg = lineChart({
      title: nasty,
      subtitle: nasty,
      xLabel: nasty,
      yLabel: nasty,
      series: [{ name: nasty, points: [1, 2] }],
    });
    const root = assertClean(svg);
    expect(svg).not.toContain('<script>');
    expect(allText(findAll(root, (e) => e.attrs.class === 'title')[0]!)).toBe(nasty);
    expect(legendNames(root)).toEqual([nasty]);
  });

  it('skips non-finite points without NaN in the output or in the ranges', () => {
    const svg = lineChart({
      title: 'diverged',
      series: [
        { name: 'ok', points: [1, 0.8, 0.6, 0.5] },
        {
          name: 'bad',
          points: [
            [1, 1],
            [2, NaN],
            [3, 0.7],
            [4, Infinity],
            [5, -Infinity],
            [NaN, 2],
          ],
        },
        { name: 'boom', points: [1, 2, 4, NaN, NaN] },
      ],
    });
    const root = assertClean(svg);
    const ticks = yTickLabels(root).map(Number);
    expect(Math.max(...ticks)).toBeLessThanOrEqual(5); // Infinity did not blow the range up
    expect(findAll(root, (e) => e.attrs.class === 'diverged')).not.toHaveLength(0);
    expect(legendNames(root)).toEqual(['ok', 'bad', 'boom']);
  });

  it('handles empty and all-NaN series', () => {
    for (const series of [[], [{ name: 'empty', points: [] }], [{ name: 'nan', points: [NaN, NaN] }]]) {
      const svg = lineChart({ title: 'empty', series });
      const root = assertClean(svg);
      expect(svg).toContain('no data');
      expect(legendNames(root)).toEqual(series.map((s) => s.name));
    }
    assertClean(lineChart({ series: [{ name: 'e', points: [] }], yScale: 'log' }));
  });

  it('handles a constant series and a single point', () => {
    assertClean(lineChart({ series: [{ name: 'c', points: [3, 3, 3] }] }));
    assertClean(lineChart({ series: [{ name: 'p', points: [[7, 0]] }] }));
  });

  it('log scale uses decade ticks and drops non-positive values', () => {
    const svg = lineChart({
      title: 'log',
      yScale: 'log',
      series: [{ name: 'loss', points: [2.3, 0.9, 0.2, 0.05, 0.011, 0, -1, 0.004] }],
    });
    const root = assertClean(svg);
    const labels = yTickLabels(root);
    expect(labels).toEqual(['0.001', '0.01', '0.1', '1', '10']);
  });

  it('honours explicit y bounds and formatters', () => {
    const root = assertClean(
      lineChart({
        series: [{ name: 'acc', points: [80, 90, 95] }],
        yMin: 75,
        yMax: 100,
        yFormat: (v) => `${v}%`,
      }),
    );
    const labels = yTickLabels(root);
    expect(labels[0]).toMatch(/^(75|80)%$/);
    expect(labels[labels.length - 1]).toBe('100%');
  });

  it('copes with very long series', () => {
    const n = 100_000;
    const ys = Array.from({ length: n }, (_, i) => 2 * Math.exp(-i / 20_000) + 0.05 * (1.2 + Math.sin(i)));
    const svg = lineChart({ series: [{ name: 'long', points: ys }], yScale: 'log' });
    expect(svg).not.toMatch(/NaN|Infinity/);
    // Thinned to the envelope: a few points per pixel column, not 100k.
    const d = /<path d="([^"]*)"[^>]*class="series"/.exec(svg)![1]!;
    const count = d.split('L').length;
    expect(count).toBeGreaterThan(1000);
    expect(count).toBeLessThan(8000);
  });

  it('is deterministic and uses distinct clip ids for different charts', () => {
    const a = lineChart({ title: 'a', series: [{ name: 's', points: [1, 2] }] });
    expect(lineChart({ title: 'a', series: [{ name: 's', points: [1, 2] }] })).toBe(a);
    const b = lineChart({ title: 'b', series: [{ name: 's', points: [1, 2] }] });
    const id = (s: string) => /clipPath id="([^"]+)"/.exec(s)![1];
    expect(id(a)).not.toBe(id(b));
  });
});

describe('trainingPlot', () => {
  it('draws two panels with train and validation curves', () => {
    const svg = trainingPlot(fakeHistory(), { title: 'MNIST <mlp> & friends' });
    const root = assertClean(svg);
    const titles = findAll(root, (e) => e.attrs.class === 'title').map(allText);
    expect(titles).toEqual(['MNIST <mlp> & friends', 'Loss', 'Accuracy']);
    expect(legendNames(root)).toEqual(['train', 'validation', 'train', 'validation']);
    expect(findAll(root, (e) => e.name === 'clipPath')).toHaveLength(2);
    const ids = findAll(root, (e) => e.name === 'clipPath').map((e) => e.attrs.id);
    expect(new Set(ids).size).toBe(2);
    // Accuracy axis is in percent and tops out at 100.
    const labels = yTickLabels(root);
    expect(labels).toContain('100%');
    expect(allText(root)).toContain('12 epochs');
  });

  it('works without validation data, with NaN losses, and when empty', () => {
    const h = fakeHistory(5).map(({ epoch, loss, accuracy }) => ({ epoch, loss, accuracy }));
    h[3]!.loss = NaN;
    const root = assertClean(trainingPlot(h));
    expect(legendNames(root)).toEqual(['train', 'train']);
    assertClean(trainingPlot([]));
    assertClean(trainingPlot(fakeHistory(1)));
    assertClean(trainingPlot(fakeHistory(6), { layout: 'column' }));
  });
});

describe('lrSweepPlot', () => {
  it('marks diverged runs, highlights the best and uses a log axis', () => {
    const svg = lrSweepPlot(fakeSweep());
    const root = assertClean(svg);
    expect(legendNames(root)).toEqual(['lr = 1e-4', 'lr = 1e-3', 'lr = 0.01 (best)', 'lr = 0.1', 'lr = 1 (diverged)']);
    expect(allText(root)).toContain('best: lr = 0.01');
    const labels = yTickLabels(root).map(Number);
    for (const v of labels) expect(Math.log10(v)).toBeCloseTo(Math.round(Math.log10(v)), 9);
    expect(Math.max(...labels)).toBeLessThanOrEqual(100); // the explosion did not stretch the axis
    const best = findAll(root, (e) => e.name === 'path' && e.attrs['data-name'] === 'lr = 0.01 (best)')[0]!;
    expect(Number(best.attrs['stroke-width'])).toBeGreaterThan(2);
    expect(findAll(root, (e) => e.attrs.class === 'diverged').length).toBeGreaterThanOrEqual(2); // chart + legend
  });

  it('respects an explicit best flag, linear scale for narrow ranges, NaN-only runs', () => {
    const runs: LrRun[] = [
      { lr: 0.1, losses: [1, 0.9, 0.8] },
      { lr: 0.01, losses: [1, 0.95, 0.92], best: true },
      { lr: 10, losses: [1, NaN, NaN] },
      { lr: 100, losses: [NaN, NaN] },
      { lr: 5, losses: [] },
    ];
    const root = assertClean(lrSweepPlot(runs, { title: 'sweep "x" & <y>' }));
    expect(legendNames(root)[0]).toBe('lr = 0.01 (best)');
    expect(legendNames(root)).toContain('lr = 10 (diverged)');
    expect(allText(root)).toContain('best: lr = 0.01');
    expect(allText(findAll(root, (e) => e.attrs.class === 'title')[0]!)).toBe('sweep "x" & <y>');
    assertClean(lrSweepPlot([]));
    const allDiverged = assertClean(
      lrSweepPlot([
        { lr: 5, losses: [2, 30, NaN] },
        { lr: 9, losses: [2, 5, 40] },
      ]),
    );
    expect(allText(allDiverged)).toContain('no run converged');
    expect(legendNames(allDiverged)).toEqual(['lr = 5 (diverged)', 'lr = 9 (diverged)']);
  });
});

// Writes example SVGs for eyeballing: PLOT_OUT_DIR=/tmp/plots npx vitest run test/plot.test.ts
const outDir = process.env.PLOT_OUT_DIR;
describe.runIf(!!outDir)('examples', () => {
  it('writes example SVGs', () => {
    fs.mkdirSync(outDir!, { recursive: true });
    const write = (name: string, svg: string) => fs.writeFileSync(path.join(outDir!, name), svg);
    write('training.svg', trainingPlot(fakeHistory(), { title: 'mlp-784-256-10 on MNIST' }));
    write('training-column.svg', trainingPlot(fakeHistory(30), { layout: 'column' }));
    write('lr-sweep.svg', lrSweepPlot(fakeSweep(), { title: 'Effects of step size' }));
    write(
      'lr-sweep-epochs.svg',
      lrSweepPlot(
        fakeSweep(20).map((r) => ({ ...r, losses: r.losses.map((v) => v * 0.3) })),
        { xLabel: 'epoch' },
      ),
    );
    write(
      'line.svg',
      lineChart({
        title: 'Diverging run',
        subtitle: 'NaN from step 7',
        xLabel: 'step',
        yLabel: 'value',
        series: [
          { name: 'stable', points: [3, 2.5, 2.2, 2.1, 2.05, 2, 1.98, 1.97, 1.97, 1.96] },
          { name: 'diverged', points: [3, 2.8, 3.5, 6, 9, 14, NaN, NaN, NaN, NaN], dashed: true },
          { name: 'single point', points: [[5, 4]] },
        ],
      }),
    );
    write(
      'line-log.svg',
      lineChart({
        title: 'Log scale',
        xLabel: 'x',
        yLabel: 'y',
        yScale: 'log',
        legend: 'right',
        series: [
          {
            name: 'exp decay',
            points: Array.from({ length: 50 }, (_, i) => [i * 250, 5 * Math.exp(-i / 6)] as [number, number]),
          },
        ],
      }),
    );
    write('line-empty.svg', lineChart({ title: 'Nothing yet', series: [] }));
    const nanHistory = fakeHistory(8).map(({ epoch, loss, accuracy }) => ({ epoch, loss, accuracy }));
    nanHistory[5]!.loss = NaN;
    nanHistory[6]!.loss = Infinity;
    write('training-nan.svg', trainingPlot(nanHistory, { title: 'No validation set, NaN at epochs 6-7' }));
    write('training-1epoch.svg', trainingPlot(fakeHistory(1)));
    write(
      'small.svg',
      lineChart({
        title: 'A rather long title that will not fit into such a small chart at all',
        width: 360,
        height: 240,
        xLabel: 'iteration',
        yLabel: 'a long y-axis label',
        series: [
          { name: 'series with a long name', points: [12000, 45000, 38000, 99000] },
          { name: 'b', points: [0, 1e5] },
        ],
      }),
    );
  });
});

describe('output is byte-for-byte stable', () => {
  // Rendered by the single 320-line renderChart before it was split into named steps: the
  // split (and any later refactoring) must reproduce them exactly.
  const golden = (name: string) =>
    fs.readFileSync(path.join(__dirname, 'fixtures', 'plot', `golden-${name}.svg`), 'utf8');
  const hist = <T>(n: number, f: (e: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i + 1));

  it('training plot with validation curves', () => {
    expect(
      trainingPlot(
        hist(20, (e) => ({
          epoch: e,
          loss: 2 / e,
          valLoss: 2.2 / e + 0.01 * e,
          accuracy: 1 - 0.5 / e,
          valAccuracy: 0.95 - 0.4 / e,
        })),
        { title: 'mlp on digits' },
      ),
    ).toBe(golden('train'));
  });
  it('training plot that diverges', () => {
    expect(
      trainingPlot(
        hist(6, (e) => ({ epoch: e, loss: e > 4 ? NaN : 1 / e, accuracy: 0.5 })),
        { title: 'diverged' },
      ),
    ).toBe(golden('trainDiv'));
  });
  it('learning-rate sweep with a diverging run and a best run', () => {
    const runs = [1e-4, 1e-3, 1e-2, 1e-1, 1].map((lr, k) => ({
      lr,
      losses: hist(50, (i) => (lr > 0.5 && i > 20 ? Infinity : 2 * Math.exp(-i * lr * 3) + 0.05 * k)),
      best: k === 2,
    }));
    expect(lrSweepPlot(runs, { title: 'sweep' })).toBe(golden('sweep'));
  });
  it('log scale with fixed x bounds, a diverged series and non-positive values', () => {
    expect(
      lineChart({
        yScale: 'log',
        xMin: 0,
        xMax: 100,
        width: 300,
        height: 200,
        series: [
          { name: 'l', points: hist(100, (i) => 1 / i), diverged: true },
          { name: 'neg', points: [-1, 0, 2] },
        ],
      }),
    ).toBe(golden('lineLog'));
  });
  it('every legend position', () => {
    const charts = (['top-left', 'bottom-right', 'right', 'none', 'auto', 'bottom-left', 'top-right'] as const).map(
      (legend) =>
        lineChart({
          legend,
          yMin: -0.5,
          yMax: 2,
          series: [
            { name: 'up', points: hist(20, (i) => i / 10) },
            { name: 'flat', points: hist(20, () => 1) },
          ],
        }),
    );
    expect(charts.join('\n')).toBe(golden('lineLegends'));
  });
});
