// Drawing computational graphs: Graphviz DOT text, and a standalone SVG laid out here.
//
// Both work on anything with the graph protocol below: the scalar `Value`, and tensor nodes
// (recognised by a `shape`), without importing either class.
//
// SVG layout (Sugiyama-style, left to right):
//   1. layer = longest path from the leaves: inputs in column 0, the root in the last column,
//      constants just before their user; a wire spanning several columns passes through one
//      point per column it crosses, shared by all users of the same value.
//   2. order each column by the barycentre of its neighbours, sweeping right then left a few
//      times, and keep the order with the fewest crossings.
//   3. y: move each node towards its neighbours' wires, then push overlapping ones apart with
//      the least total movement (isotonic regression over the fixed order); leaves placed next
//      to their user follow it rather than pull on it, so long chains stay level.
// Inside a column every wire is horizontal; wires only curve in the gaps between columns, so an
// edge never runs through a node. A node's inputs enter at ports top to bottom in parent order.

import { topologicalOrder } from './topo-sort.js';
import { escapeXml } from '../plot/svg.js';
import { checkOptions, optionKeys } from '../options.js';

export { escapeXml };

/** What drawing needs of a node: `Value` and tensor classes both have it. */
export interface GraphNode {
  /** The op that produced the node ('add', 'tanh', ...), '' for a leaf. */
  readonly op: string;
  /** The op's inputs, in order; empty for a leaf. */
  readonly parents: readonly GraphNode[];
  /** A name to show in the drawing ('x', 'w0'). */
  readonly label?: string;
}

/** Options of toDot() and toSvg(). */
export interface DrawOptions {
  /** A caption above the graph. */
  title?: string;
  /** Show gradients (default true). */
  showGrad?: boolean;
  /** Significant digits of values and gradients (default 4). */
  digits?: number;
}

/** Options of toDot(): DrawOptions plus Graphviz's layout direction. */
export interface DotOptions extends DrawOptions {
  /** Graphviz rank direction (default 'LR': inputs on the left, the root on the right). */
  rankdir?: 'LR' | 'RL' | 'TB' | 'BT';
}

/** The SVG is always laid out left to right. */
export type SvgOptions = DrawOptions;
export const SVG_KEYS = optionKeys<SvgOptions>()('title', 'showGrad', 'digits');
export const DOT_KEYS = optionKeys<DotOptions>()('title', 'showGrad', 'digits', 'rankdir');

const VALUE_COLOR = '#1b7f3b';
const GRAD_COLOR = '#c62828';
const EDGE_COLOR = '#555555';

const opSymbols: Record<string, string> = {
  add: '+',
  sub: '−',
  mul: '×',
  div: '÷',
  pow: '^',
  recip: '1/x',
};

/**
 * `digits` significant digits, trailing zeros dropped: 0.7311, -12, 1.235e-5; -0 prints as 0.
 * Integers up to 1e6 print in full rather than in exponent form.
 */
export function formatNumber(x: number, digits = 4): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e6) {
    const s = x.toPrecision(digits);
    if (!s.includes('e')) return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
    if (a >= 1) return String(Math.round(x));
  }
  const [mantissa, exponent] = x.toExponential(Math.max(0, digits - 1)).split('e');
  const m = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
  return `${m}e${exponent.replace('+', '')}`;
}

/** Escapes text for a double-quoted DOT string. */
function escapeDotString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n');
}

// ---------------------------------------------------------------------------------------------
// What a node shows

interface NodeInfo {
  kind: 'leaf' | 'const' | 'op';
  /** The op's symbol or name, or the leaf's label. */
  title: string;
  /** The label of an op node ('f'), shown beside its op. */
  name?: string;
  /** A tensor's shape, `[2×3]`. */
  shape?: string;
  value?: string;
  grad?: string;
  /** Everything above in words, for tooltips. */
  tooltip: string;
}

interface TensorLike {
  shape: readonly number[];
  data?: ArrayLike<number>;
  grad?: { data?: ArrayLike<number> } | null;
}

function describeNode(node: GraphNode, opts: DrawOptions): NodeInfo {
  const digits = opts.digits ?? 4;
  const showGrad = opts.showGrad ?? true;
  const fmt = (x: number): string => formatNumber(x, digits);
  const n = node as GraphNode & { data?: unknown; grad?: unknown; shape?: unknown };
  const isLeaf = node.op === '' || node.parents.length === 0;
  let value: string | undefined;
  let grad: string | undefined;
  let shape: string | undefined;

  if (Array.isArray(n.shape)) {
    const t = n as unknown as TensorLike;
    shape = t.shape.length === 0 ? 'scalar' : `[${t.shape.join('×')}]`;
    const size = t.shape.reduce((p, d) => p * d, 1);
    if (size === 1 && t.data !== undefined && t.data.length >= 1) {
      value = fmt(Number(t.data[0]));
      const g = t.grad?.data;
      if (g !== undefined && g.length >= 1) grad = fmt(Number(g[0]));
    }
  } else if (typeof n.data === 'number') {
    value = fmt(n.data);
    if (typeof n.grad === 'number') grad = fmt(n.grad);
  }
  if (!showGrad) grad = undefined;

  let kind: NodeInfo['kind'];
  let title: string;
  let name: string | undefined;
  if (isLeaf && node.op === '') {
    kind = node.label !== undefined ? 'leaf' : 'const';
    title = node.label ?? (shape !== undefined ? 'tensor' : (value ?? 'const'));
  } else {
    kind = 'op';
    title = opSymbols[node.op] ?? node.op;
    name = node.label;
  }
  const words = [
    kind === 'op' ? `op ${node.op}` : kind === 'leaf' ? `leaf ${node.label}` : 'constant',
    name !== undefined ? `label ${name}` : '',
    shape !== undefined ? `shape ${shape}` : '',
    value !== undefined ? `value ${value}` : '',
    grad !== undefined ? `grad ${grad}` : '',
  ].filter((w) => w !== '');
  return { kind, title, name, shape, value, grad, tooltip: words.join(', ') };
}

/** The head line: the op, and the node's label when an op node has one ('f = ×'). */
function headline(info: NodeInfo): string {
  return info.name !== undefined ? `${info.name} = ${info.title}` : info.title;
}

// ---------------------------------------------------------------------------------------------
// DOT

/** Graphviz text: one box per node (head line, value in green, grad in red), edges input -> op. */
export function toDot(root: GraphNode, options: DotOptions = {}): string {
  checkOptions('toDot', options, DOT_KEYS);
  const nodes = topologicalOrder<GraphNode>(root);
  const id = new Map<GraphNode, string>(nodes.map((n, i) => [n, `n${i}`]));
  const lines: string[] = ['digraph G {'];
  const graphAttrs = [`rankdir=${options.rankdir ?? 'LR'}`, 'fontname="Helvetica"'];
  if (options.title !== undefined) graphAttrs.push(`label="${escapeDotString(options.title)}"`, 'labelloc=t');
  lines.push(`  graph [${graphAttrs.join(', ')}];`);
  lines.push('  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12];');
  lines.push(`  edge [color="${EDGE_COLOR}", arrowsize=0.7];`);
  for (const node of nodes) {
    const info = describeNode(node, options);
    // An HTML-like label, so every piece of text is XML-escaped.
    const parts = [`<b>${escapeXml(headline(info))}</b>`];
    if (info.shape !== undefined) parts.push(escapeXml(info.shape));
    if (info.value !== undefined) parts.push(`<font color="${VALUE_COLOR}">value ${escapeXml(info.value)}</font>`);
    if (info.grad !== undefined) parts.push(`<font color="${GRAD_COLOR}">grad ${escapeXml(info.grad)}</font>`);
    const fill = info.kind === 'op' ? '#eef4fb' : info.kind === 'leaf' ? '#ffffff' : '#f3f3f3';
    lines.push(`  ${id.get(node)} [label=<${parts.join('<br/>')}>, fillcolor="${fill}"];`);
  }
  for (const node of nodes) {
    for (const p of node.parents) lines.push(`  ${id.get(p)} -> ${id.get(node)};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// SVG layout

const FONT = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";
const TITLE_SIZE = 13; // op or label inside the box
const TEXT_SIZE = 12; // shapes, values, gradients
const CHAR_W = 0.64; // average advance per em for digits and lowercase in the fonts above
const BOX_MIN_W = 40;
const BOX_PAD_X = 10;
const BOX_H1 = 28; // one line of text
const BOX_H2 = 42; // title and shape
const COL_GAP = 64; // room for the curves between columns
const NODE_GAP = 16; // vertical gap between the footprints of two nodes
const WIRE_GAP = 10; // between a pass-through wire and anything else
const MARGIN = 20;
const DUMMY_BUDGET = 8; // pass-through points per node before inputs leave column 0

function textWidth(s: string, size: number, bold = false): number {
  return [...s].length * size * CHAR_W * (bold ? 1.08 : 1);
}

interface Item {
  /** The graph node, or undefined for a point a long edge passes through. */
  node?: GraphNode;
  info?: NodeInfo;
  layer: number;
  /** Index within the layer. */
  pos: number;
  preds: Link[];
  succs: Link[];
  boxW: number;
  boxH: number;
  /** Width of the box plus the wire carrying the value and gradient. */
  footW: number;
  /** Extent above and below the wire. */
  up: number;
  down: number;
  y: number;
}

/** `from` in layer l feeds `to` in layer l + 1 at input `port` of `to`. */
interface Link {
  from: Item;
  to: Item;
  port: number;
}

interface Layout {
  items: Item[];
  /** Each graph edge: its items from source to target, and the target port. */
  edges: { chain: Item[]; port: number }[];
  colX: number[];
  colW: number[];
  width: number;
  height: number;
}

function portOffset(item: Item, port: number): number {
  if (item.node === undefined) return 0;
  const k = item.node.parents.length;
  if (k <= 1) return 0;
  const step = Math.min(10, (item.boxH - 10) / (k - 1));
  return (port - (k - 1) / 2) * step;
}

/**
 * Longest path from the leaves, with the inputs (labelled leaves) in column 0. A constant
 * (unlabelled leaf) sits in the column just before its first user instead, so it does not drag
 * a wire across the drawing. If column-0 inputs would still need more than `DUMMY_BUDGET`
 * pass-through points per node (a deep graph with inputs all along it), every leaf moves next
 * to its first user, which keeps the layout linear in the size of the graph.
 */
function assignLayers(nodes: readonly GraphNode[]): Map<GraphNode, number> {
  const layerOf = new Map<GraphNode, number>();
  for (const node of nodes) {
    let layer = 0;
    for (const p of node.parents) layer = Math.max(layer, layerOf.get(p)! + 1);
    layerOf.set(node, layer);
  }
  const firstUse = new Map<GraphNode, number>();
  const lastUse = new Map<GraphNode, number>();
  for (const node of nodes) {
    const l = layerOf.get(node)!;
    for (const p of node.parents) {
      firstUse.set(p, Math.min(firstUse.get(p) ?? Infinity, l));
      lastUse.set(p, Math.max(lastUse.get(p) ?? 0, l));
    }
  }
  const isLeaf = (n: GraphNode): boolean => n.parents.length === 0 && firstUse.has(n);
  const moveNextToUse = (n: GraphNode): void => void layerOf.set(n, firstUse.get(n)! - 1);
  for (const n of nodes) if (isLeaf(n) && n.label === undefined) moveNextToUse(n);
  let dummies = 0;
  for (const [n, last] of lastUse) dummies += Math.max(0, last - layerOf.get(n)! - 1);
  if (dummies > DUMMY_BUDGET * nodes.length) for (const n of nodes) if (isLeaf(n)) moveNextToUse(n);
  return layerOf;
}

function layout(root: GraphNode, opts: DrawOptions): Layout {
  const nodes = topologicalOrder<GraphNode>(root);
  const itemOf = new Map<GraphNode, Item>();
  const items: Item[] = [];
  const layerOf = assignLayers(nodes);

  const newItem = (layer: number, node?: GraphNode): Item => {
    const item: Item = {
      node,
      layer,
      pos: 0,
      preds: [],
      succs: [],
      boxW: 0,
      boxH: 0,
      footW: 0,
      up: WIRE_GAP / 2,
      down: WIRE_GAP / 2,
      y: 0,
    };
    if (node !== undefined) {
      const info = describeNode(node, opts);
      item.info = info;
      const head = headline(info);
      item.boxW = Math.max(BOX_MIN_W, textWidth(head, TITLE_SIZE, true) + 2 * BOX_PAD_X);
      if (info.shape !== undefined) item.boxW = Math.max(item.boxW, textWidth(info.shape, TEXT_SIZE) + 2 * BOX_PAD_X);
      item.boxH = info.shape !== undefined ? BOX_H2 : BOX_H1;
      const label = Math.max(textWidth(info.value ?? '', TEXT_SIZE), textWidth(info.grad ?? '', TEXT_SIZE));
      item.footW = item.boxW + (label > 0 ? label + 14 : 12);
      // Value text sits above the wire, gradient text below it (baselines at -5 and +15).
      item.up = Math.max(item.boxH / 2, info.value !== undefined ? 18 : 0);
      item.down = Math.max(item.boxH / 2, info.grad !== undefined ? 19 : 0);
    }
    items.push(item);
    return item;
  };
  for (const node of nodes) itemOf.set(node, newItem(layerOf.get(node)!, node));

  // One run of pass-through points per source, as far as its farthest user; every user taps
  // the run in the column just before its own, so a value used often is one shared wire.
  const lastUse = new Map<GraphNode, number>();
  for (const node of nodes) {
    for (const p of node.parents) lastUse.set(p, Math.max(lastUse.get(p) ?? 0, layerOf.get(node)!));
  }
  const runs = new Map<GraphNode, Item[]>();
  for (const node of nodes) {
    const run = [itemOf.get(node)!];
    const end = lastUse.get(node) ?? 0;
    for (let l = layerOf.get(node)! + 1; l < end; l++) {
      const dummy = newItem(l);
      const link: Link = { from: run[run.length - 1], to: dummy, port: 0 };
      link.from.succs.push(link);
      dummy.preds.push(link);
      run.push(dummy);
    }
    runs.set(node, run);
  }
  const edges: Layout['edges'] = [];
  for (const node of nodes) {
    const target = itemOf.get(node)!;
    node.parents.forEach((p, port) => {
      const run = runs.get(p)!;
      const chain = run.slice(0, target.layer - run[0].layer);
      const link: Link = { from: chain[chain.length - 1], to: target, port };
      link.from.succs.push(link);
      target.preds.push(link);
      chain.push(target);
      edges.push({ chain, port });
    });
  }

  const nLayers = itemOf.get(root)!.layer + 1;
  const layers: Item[][] = Array.from({ length: nLayers }, () => []);
  // Items were made in topological (depth-first) order, which is a fair first ordering.
  for (const item of items) layers[item.layer].push(item);
  const renumber = (layer: Item[]): void => layer.forEach((it, i) => (it.pos = i));
  layers.forEach(renumber);

  orderLayers(layers, renumber);
  placeVertically(layers);

  // x: each column as wide as its widest node.
  const colW = layers.map((layer) => Math.max(0, ...layer.map((it) => it.footW)));
  const colX: number[] = [];
  let x = MARGIN;
  for (let l = 0; l < nLayers; l++) {
    colX.push(x);
    x += colW[l] + (l + 1 < nLayers ? COL_GAP : 0);
  }
  let width = x + MARGIN;

  let top = Infinity;
  let bottom = -Infinity;
  for (const it of items) {
    top = Math.min(top, it.y - it.up);
    bottom = Math.max(bottom, it.y + it.down);
  }
  const titleH = opts.title !== undefined ? 30 : 0;
  const legendH = 24;
  const shift = MARGIN + titleH - top;
  for (const it of items) it.y += shift;
  const height = bottom - top + 2 * MARGIN + titleH + legendH;
  if (opts.title !== undefined) width = Math.max(width, textWidth(opts.title, 15, true) + 2 * MARGIN);
  width = Math.max(width, 220);
  return { items, edges, colX, colW, width: Math.ceil(width), height: Math.ceil(height) };
}

/** Where a link meets its target, as a fraction of a position, so ports order like positions. */
function portKey(link: Link): number {
  const k = link.to.node?.parents.length ?? 1;
  return link.to.pos + (k > 1 ? (0.8 * link.port) / (k - 1) : 0);
}

/** Edge crossings between neighbouring columns: inversions of target keys sorted by source. */
function crossings(layers: Item[][]): number {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const links: [number, number][] = [];
    for (const it of layers[l]) for (const s of it.succs) links.push([it.pos, portKey(s)]);
    links.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    total += inversions(links.map((e) => e[1]));
  }
  return total;
}

/** Pairs i < j with xs[i] > xs[j], by merge sort. */
function inversions(xs: number[]): number {
  if (xs.length < 2) return 0;
  let count = 0;
  let a = xs.slice();
  let b = new Array<number>(xs.length);
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (a[j] < a[i]) {
          count += mid - i;
          b[k++] = a[j++];
        } else b[k++] = a[i++];
      }
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    [a, b] = [b, a];
  }
  return count;
}

function orderLayers(layers: Item[][], renumber: (layer: Item[]) => void): void {
  const sortBy = (layer: Item[], key: (it: Item) => number | undefined): void => {
    const keyed = layer.map((it) => ({ it, k: key(it) ?? it.pos }));
    keyed.sort((a, b) => a.k - b.k || a.it.pos - b.it.pos);
    keyed.forEach((e, i) => (layer[i] = e.it));
    renumber(layer);
  };
  const mean = (xs: number[]): number | undefined =>
    xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;

  let best = layers.map((layer) => layer.slice());
  let bestCount = crossings(layers);
  for (let sweep = 0; sweep < 6 && bestCount > 0; sweep++) {
    for (let l = 1; l < layers.length; l++) sortBy(layers[l], (it) => mean(it.preds.map((p) => p.from.pos)));
    for (let l = layers.length - 2; l >= 0; l--) sortBy(layers[l], (it) => mean(it.succs.map(portKey)));
    const count = crossings(layers);
    if (count < bestCount) {
      bestCount = count;
      best = layers.map((layer) => layer.slice());
    }
  }
  best.forEach((layer, l) => {
    layers[l] = layer;
    renumber(layer);
  });
}

/** Vertical distance needed between consecutive items `a` (above) and `b` of one column. */
function separation(a: Item, b: Item): number {
  const gap = a.node !== undefined && b.node !== undefined ? NODE_GAP : WIRE_GAP;
  return a.down + b.up + gap;
}

/**
 * Puts the items of `layer` as close to `want` as the order and separations allow, minimising
 * the weighted squared movement: subtract the cumulative separations, fit a non-decreasing
 * sequence (pool adjacent violators), add them back.
 */
function placeLayer(layer: Item[], want: number[], weight: (it: Item) => number = () => 1): void {
  const offset: number[] = [0];
  for (let i = 1; i < layer.length; i++) offset.push(offset[i - 1] + separation(layer[i - 1], layer[i]));
  const blocks: { sum: number; w: number; n: number }[] = [];
  for (let i = 0; i < layer.length; i++) {
    const w = weight(layer[i]);
    blocks.push({ sum: w * (want[i] - offset[i]), w, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (a.sum / a.w <= b.sum / b.w) break;
      a.sum += b.sum;
      a.w += b.w;
      a.n += b.n;
      blocks.pop();
    }
  }
  let i = 0;
  for (const b of blocks) {
    for (let j = 0; j < b.n; j++, i++) layer[i].y = b.sum / b.w + offset[i];
  }
}

/**
 * Two phases. First everything but the leaves that sit next to their user (constants, or all
 * leaves of a deep graph): sweeps that pull each item towards the mean of its neighbours.
 * Wires between inner nodes aim at the centre of their target, not its port, so a long chain
 * stays level instead of drifting by a port offset per column. Then those leaves follow: each
 * goes to the port it feeds, and the items placed before only move if it would not fit.
 */
function placeVertically(layers: Item[][]): void {
  const isLeaf = (it: Item): boolean => it.node !== undefined && it.node.parents.length === 0;
  const follows = (it: Item): boolean => isLeaf(it) && it.layer > 0;
  const aim = (link: Link): number => (isLeaf(link.from) ? portOffset(link.to, link.port) : 0);
  const mean = (xs: number[], fallback: number): number =>
    xs.length === 0 ? fallback : xs.reduce((a, b) => a + b, 0) / xs.length;
  const towardsPreds = (it: Item): number =>
    mean(
      it.preds.filter((p) => !follows(p.from)).map((p) => p.from.y - aim(p)),
      it.y,
    );
  const towardsSuccs = (it: Item): number =>
    mean(
      it.succs.map((p) => p.to.y + aim(p)),
      it.y,
    );

  const active = layers.map((layer) => layer.filter((it) => !follows(it)));
  for (const layer of active)
    placeLayer(
      layer,
      layer.map(() => 0),
    );
  for (let iter = 0; iter < 8; iter++) {
    for (let l = 1; l < active.length; l++) placeLayer(active[l], active[l].map(towardsPreds));
    for (let l = active.length - 2; l >= 0; l--) placeLayer(active[l], active[l].map(towardsSuccs));
  }
  // A last pass towards both sides, so neither direction wins outright.
  for (const layer of active) {
    placeLayer(
      layer,
      layer.map((it) => {
        const hasPreds = it.preds.some((p) => !follows(p.from));
        if (hasPreds && it.succs.length > 0) return (towardsPreds(it) + towardsSuccs(it)) / 2;
        return hasPreds ? towardsPreds(it) : towardsSuccs(it);
      }),
    );
  }

  for (const layer of layers) {
    if (!layer.some(follows)) continue;
    const want = layer.map((it) => (follows(it) ? towardsSuccs(it) : it.y));
    placeLayer(layer, want, (it) => (follows(it) ? 1 : 1e6));
  }
}

// ---------------------------------------------------------------------------------------------
// SVG output

const r = (x: number): string => String(Math.round(x * 10) / 10);

/**
 * A standalone SVG of the graph, inputs on the left and the root on the right. Each node is a
 * box with its op (or a leaf's label, or a tensor's shape); on the wire leaving it, its value
 * in green above and its gradient in red below, as in the CS231n backprop figures.
 */
export function toSvg(root: GraphNode, options: SvgOptions = {}): string {
  checkOptions('toSvg', options, SVG_KEYS);
  const L = layout(root, options);
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" font-family="${FONT}" font-size="${TEXT_SIZE}">`,
  );
  out.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
      `<path d="M0,0 L10,5 L0,10 z" fill="${EDGE_COLOR}"/></marker></defs>`,
  );
  out.push(`<rect class="background" x="0" y="0" width="${L.width}" height="${L.height}" fill="#ffffff"/>`);
  if (options.title !== undefined) {
    out.push(
      `<text class="title" x="${MARGIN}" y="${MARGIN + 14}" font-size="15" font-weight="bold" fill="#222222">${escapeXml(options.title)}</text>`,
    );
  }

  // Wires first, so boxes and text sit on top of them.
  out.push(`<g class="edges" fill="none" stroke="${EDGE_COLOR}" stroke-width="1.3">`);
  const wireEnd = (it: Item): number => L.colX[it.layer] + L.colW[it.layer];
  for (const { chain, port } of L.edges) {
    const src = chain[0];
    const dst = chain[chain.length - 1];
    let x = wireEnd(src);
    let y = src.y;
    let d = `M${r(x)},${r(y)}`;
    const curveTo = (x2: number, y2: number): void => {
      const mid = (x + x2) / 2;
      d += y2 === y ? ` L${r(x2)},${r(y2)}` : ` C${r(mid)},${r(y)} ${r(mid)},${r(y2)} ${r(x2)},${r(y2)}`;
      x = x2;
      y = y2;
    };
    for (const dummy of chain.slice(1, -1)) {
      curveTo(L.colX[dummy.layer], dummy.y);
      d += ` L${r(wireEnd(dummy))},${r(dummy.y)}`;
      x = wireEnd(dummy);
    }
    curveTo(L.colX[dst.layer], dst.y + portOffset(dst, port));
    out.push(`<path d="${d}" marker-end="url(#arrow)"/>`);
  }
  out.push('</g>');

  for (const it of L.items) {
    if (it.node === undefined || it.info === undefined) continue;
    const info = it.info;
    const x = L.colX[it.layer];
    const y = it.y;
    const isRoot = it.node === root;
    const fill = info.kind === 'op' ? '#eef4fb' : info.kind === 'leaf' ? '#fffbea' : '#f3f3f3';
    const stroke = info.kind === 'op' ? '#3d6fa8' : '#8a8a8a';
    out.push(`<g class="node ${info.kind}">`);
    out.push(`<title>${escapeXml(info.tooltip)}</title>`);
    // The wire out of the node, to the end of its column: its value rides above, its grad below.
    out.push(
      `<line class="wire" x1="${r(x + it.boxW)}" y1="${r(y)}" x2="${r(wireEnd(it))}" y2="${r(y)}" stroke="${EDGE_COLOR}" stroke-width="1.3"/>`,
    );
    out.push(
      `<rect class="box" x="${r(x)}" y="${r(y - it.boxH / 2)}" width="${r(it.boxW)}" height="${r(it.boxH)}" rx="6" fill="${fill}" stroke="${stroke}" stroke-width="${isRoot ? 2.2 : 1.2}"${info.kind === 'const' ? ' stroke-dasharray="3,2"' : ''}/>`,
    );
    const cx = x + it.boxW / 2;
    const head = escapeXml(headline(info));
    if (info.shape !== undefined) {
      out.push(
        `<text class="head" x="${r(cx)}" y="${r(y - 4)}" text-anchor="middle" font-size="${TITLE_SIZE}" font-weight="bold" fill="#1a1a1a">${head}</text>`,
      );
      out.push(
        `<text class="shape" x="${r(cx)}" y="${r(y + 13)}" text-anchor="middle" fill="#555555">${escapeXml(info.shape)}</text>`,
      );
    } else {
      out.push(
        `<text class="head" x="${r(cx)}" y="${r(y + 4.5)}" text-anchor="middle" font-size="${TITLE_SIZE}" font-weight="bold" fill="#1a1a1a">${head}</text>`,
      );
    }
    const tx = x + it.boxW + 7;
    if (info.value !== undefined)
      out.push(
        `<text class="value" x="${r(tx)}" y="${r(y - 5)}" fill="${VALUE_COLOR}">${escapeXml(info.value)}</text>`,
      );
    if (info.grad !== undefined)
      out.push(`<text class="grad" x="${r(tx)}" y="${r(y + 15)}" fill="${GRAD_COLOR}">${escapeXml(info.grad)}</text>`);
    out.push('</g>');
  }

  // Legend, bottom left, for whichever of values and gradients are drawn.
  const anyValue = L.items.some((it) => it.info?.value !== undefined);
  const anyGrad = L.items.some((it) => it.info?.grad !== undefined);
  const parts: string[] = [];
  if (anyValue) parts.push(`above the wire: <tspan fill="${VALUE_COLOR}">value</tspan>`);
  if (anyGrad) parts.push(`below: <tspan fill="${GRAD_COLOR}">gradient</tspan>`);
  if (parts.length > 0) {
    out.push(
      `<text class="legend" x="${MARGIN}" y="${r(L.height - MARGIN / 2 - 4)}" font-size="11" fill="#666666">${parts.join(', ')}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
