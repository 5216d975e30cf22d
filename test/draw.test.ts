import { describe, expect, test } from 'vitest';
import { Value } from '../lib/scalar/value.js';
import { topologicalOrder } from '../lib/graph/topo-sort.js';
import { parseExpression } from '../lib/scalar/expr.js';
import { formatNumber, toDot, toSvg, type GraphNode } from '../lib/graph/draw.js';

// ---------------------------------------------------------------------------------------------
// A small XML parser: enough to check well-formedness of what we emit and to read it back.

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  /** Character data directly inside this element, entities decoded. */
  text: string;
}

function parseXml(src: string): El {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`XML: ${msg} at offset ${i}`);
  };
  const isSpace = (c: string): boolean => c === ' ' || c === '\n' || c === '\t' || c === '\r';
  const isNameChar = (c: string | undefined): boolean =>
    c !== undefined &&
    ((c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9') ||
      c === '-' ||
      c === '_' ||
      c === ':' ||
      c === '.');
  const skipSpace = (): void => {
    while (i < src.length && isSpace(src[i])) i++;
  };
  const startsWith = (s: string): boolean => src.startsWith(s, i);
  const name = (): string => {
    const start = i;
    if (!isNameChar(src[i]) || (src[i] >= '0' && src[i] <= '9') || src[i] === '-') fail('expected a name');
    while (isNameChar(src[i])) i++;
    return src.slice(start, i);
  };
  const decode = (raw: string): string => {
    let out = '';
    for (let k = 0; k < raw.length; k++) {
      const c = raw[k];
      if (c === '<') fail('raw < in text or attribute');
      if (c !== '&') {
        out += c;
        continue;
      }
      const end = raw.indexOf(';', k);
      if (end < 0) fail('unterminated entity');
      const ent = raw.slice(k + 1, end);
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (ent in named) out += named[ent];
      else if (
        ent.startsWith('#x') &&
        ent.length > 2 &&
        [...ent.slice(2)].every((d) => '0123456789abcdefABCDEF'.includes(d))
      )
        out += String.fromCodePoint(parseInt(ent.slice(2), 16));
      else if (ent.startsWith('#') && ent.length > 1 && [...ent.slice(1)].every((d) => d >= '0' && d <= '9'))
        out += String.fromCodePoint(parseInt(ent.slice(1), 10));
      else fail(`unknown entity &${ent};`);
      k = end;
    }
    return out;
  };
  const skipMisc = (): void => {
    for (;;) {
      skipSpace();
      if (startsWith('<!--')) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else return;
    }
  };
  const element = (): El => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const el: El = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const hadSpace = isSpace(src[i]);
      skipSpace();
      if (startsWith('/>')) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      if (!hadSpace) fail('expected whitespace before an attribute');
      const attr = name();
      skipSpace();
      if (src[i] !== '=') fail(`expected = after ${attr}`);
      i++;
      skipSpace();
      const quote = src[i];
      if (quote !== '"' && quote !== "'") fail(`unquoted value of ${attr}`);
      const end = src.indexOf(quote, i + 1);
      if (end < 0) fail('unterminated attribute');
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(src.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      if (i >= src.length) fail(`unclosed <${el.name}>`);
      if (startsWith('</')) {
        i += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        skipSpace();
        if (src[i] !== '>') fail('expected >');
        i++;
        return el;
      }
      if (startsWith('<!--')) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (src[i] === '<') {
        el.children.push(element());
      } else {
        const end = src.indexOf('<', i);
        el.text += decode(src.slice(i, end < 0 ? src.length : end));
        i = end < 0 ? src.length : end;
      }
    }
  };

  if (startsWith('<?xml')) {
    const end = src.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

function all(el: El, pred: (e: El) => boolean, out: El[] = []): El[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) all(c, pred, out);
  return out;
}
const hasClass =
  (cls: string) =>
  (e: El): boolean =>
    (e.attrs.class ?? '').split(' ').includes(cls);
/** All character data below `el`, e.g. the text of a <text> with <tspan>s. */
const textOf = (el: El): string => el.text + el.children.map(textOf).join('');

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
const overlap = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const rectBox = (e: El): Box => ({ x: +e.attrs.x, y: +e.attrs.y, w: +e.attrs.width, h: +e.attrs.height });
/** A generous box around a left-anchored 12px <text>: 0.7 em per character. */
const textBox = (e: El): Box => ({ x: +e.attrs.x, y: +e.attrs.y - 11, w: textOf(e).length * 12 * 0.7, h: 14 });

// ---------------------------------------------------------------------------------------------
// Graphs to draw

function lectureGraph(): Value {
  const { root } = parseExpression('(x + y) * z', { x: -2, y: 5, z: -4 });
  root.backward();
  return root;
}

function neuronGraph(): Value {
  const { root } = parseExpression('sigmoid(w0*x0 + w1*x1 + w2)', { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 });
  root.backward();
  return root;
}

function bigGraph(): Value {
  const { root } = parseExpression('(sigmoid(a*b + c) - tanh(x)) * max(x, y) * exp(-z) / (1 + recip(b)) + log(y)^2', {
    a: 1.5,
    b: -2,
    c: 0.5,
    x: 0.3,
    y: 2,
    z: 1,
  });
  root.backward();
  return root;
}

/** Tensor-shaped nodes with the graph protocol of lib/tensor, built by hand. */
interface FakeTensor extends GraphNode {
  op: string;
  parents: FakeTensor[];
  label?: string;
  shape: number[];
  data: Float32Array;
  grad: FakeTensor | null;
}
function fakeTensor(op: string, parents: FakeTensor[], shape: number[], label?: string, values?: number[]): FakeTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from(values ?? Array.from({ length: size }, (_, i) => i / 10));
  const t: FakeTensor = { op, parents, shape, data, grad: null };
  if (label !== undefined) t.label = label;
  return t;
}
function mlpGraph(): { loss: FakeTensor; nodes: FakeTensor[] } {
  const x = fakeTensor('', [], [32, 784], 'x');
  const w1 = fakeTensor('', [], [784, 128], 'W1');
  const b1 = fakeTensor('', [], [128], 'b1');
  const h = fakeTensor(
    'relu',
    [fakeTensor('add', [fakeTensor('matmul', [x, w1], [32, 128]), b1], [32, 128])],
    [32, 128],
  );
  const w2 = fakeTensor('', [], [128, 10], 'W2');
  const logits = fakeTensor('matmul', [h, w2], [32, 10]);
  const labels = fakeTensor('', [], [32], 'labels');
  const loss = fakeTensor('softmax_xent', [logits, labels], [], 'loss', [Math.LN10]);
  loss.grad = fakeTensor('', [], [], undefined, [1]);
  return { loss, nodes: topologicalOrder<FakeTensor>(loss) };
}

// ---------------------------------------------------------------------------------------------

describe('formatNumber', () => {
  test('four significant digits, trailing zeros dropped, -0 as 0', () => {
    expect(formatNumber(Math.exp(-1))).toBe('0.3679');
    expect(formatNumber(0.7310585786300049)).toBe('0.7311');
    expect(formatNumber(-12)).toBe('-12');
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-0.19661193324148185)).toBe('-0.1966');
  });

  test('exponent form for tiny and huge magnitudes; integers below 1e6 in full', () => {
    expect(formatNumber(1.23456e-7)).toBe('1.235e-7');
    expect(formatNumber(-2e-9)).toBe('-2e-9');
    expect(formatNumber(123456789)).toBe('1.235e8');
    expect(formatNumber(12345.6)).toBe('12346');
    expect(formatNumber(9999.7)).toBe('10000');
    expect(formatNumber(0.00012346)).toBe('0.0001235');
  });

  test('non-finite numbers and other precisions', () => {
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(Infinity)).toBe('inf');
    expect(formatNumber(-Infinity)).toBe('-inf');
    expect(formatNumber(Math.PI, 2)).toBe('3.1');
    expect(formatNumber(Math.PI, 6)).toBe('3.14159');
  });
});

describe('toDot', () => {
  /** id -> label text with tags removed, and the edges as pairs of ids. */
  function readDot(dot: string): { labels: Map<string, string>; edges: [string, string][] } {
    const labels = new Map<string, string>();
    const edges: [string, string][] = [];
    for (const line of dot.split('\n')) {
      const node = /^ {2}(n\d+) \[label=<(.*)>, fillcolor="[^"]*"\];$/.exec(line);
      if (node) labels.set(node[1], node[2].replace(/<br\/>/g, ' | ').replace(/<[^>]*>/g, ''));
      const edge = /^ {2}(n\d+) -> (n\d+);$/.exec(line);
      if (edge) edges.push([edge[1], edge[2]]);
    }
    return { labels, edges };
  }

  test('(x + y) * z: every node with its value and grad, and the four edges', () => {
    const dot = toDot(lectureGraph());
    expect(dot.startsWith('digraph G {\n')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    expect(dot).toContain('rankdir=LR');
    const { labels, edges } = readDot(dot);
    expect([...labels.values()].sort()).toEqual(
      [
        '+ | value 3 | grad -4',
        'x | value -2 | grad -4',
        'y | value 5 | grad -4',
        'z | value -4 | grad 3',
        '× | value -12 | grad 1',
      ].sort(),
    );
    const byText = (head: string): string => [...labels].find(([, text]) => text.startsWith(`${head} |`))![0];
    const named = edges.map(([a, b]) => `${labels.get(a)!.split(' |')[0]}->${labels.get(b)!.split(' |')[0]}`).sort();
    expect(named).toEqual(['+->×', 'x->+', 'y->+', 'z->×']);
    expect(edges).toContainEqual([byText('z'), byText('×')]);
  });

  test('a value used twice gets two edges into its user', () => {
    const x = new Value(3, 'x');
    const sq = x.mul(x);
    const { edges } = readDot(toDot(sq));
    expect(edges).toEqual([
      ['n0', 'n1'],
      ['n0', 'n1'],
    ]);
  });

  test('options: title, rankdir, showGrad', () => {
    const dot = toDot(lectureGraph(), { title: 'lecture', rankdir: 'TB', showGrad: false });
    expect(dot).toContain('label="lecture"');
    expect(dot).toContain('rankdir=TB');
    expect(dot).not.toContain('grad ');
    expect(dot).not.toContain('#c62828');
    expect(dot).toContain('value -12');
  });

  test('labels and titles are escaped', () => {
    const a = new Value(1, 'a<b>&"c"');
    const dot = toDot(a.add(2), { title: 'say "hi" \\ <there>' });
    expect(dot).toContain('<b>a&lt;b&gt;&amp;&quot;c&quot;</b>');
    expect(dot).not.toContain('a<b>');
    expect(dot).toContain('label="say \\"hi\\" \\\\ <there>"');
  });

  test('tensor nodes show op and shape, and the value only when they hold one element', () => {
    const { loss } = mlpGraph();
    const { labels, edges } = readDot(toDot(loss));
    const texts = [...labels.values()];
    expect(texts).toContain('matmul | [32×128]');
    expect(texts).toContain('W1 | [784×128]');
    expect(texts).toContain('loss = softmax_xent | scalar | value 2.303 | grad 1');
    expect(texts.filter((t) => t.includes('value'))).toHaveLength(1);
    expect(edges).toHaveLength(9);
  });
});

describe('toSvg', () => {
  const graphs: [string, () => GraphNode][] = [
    ['(x + y) * z', lectureGraph],
    ['the sigmoid neuron', neuronGraph],
    ['a 20-node expression', bigGraph],
    ['a tensor MLP', () => mlpGraph().loss],
  ];

  test('the XML checker rejects malformed documents', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow(/closes/);
    expect(() => parseXml('<a>x & y</a>')).toThrow(/entity/);
    expect(() => parseXml('<a x=1/>')).toThrow(/unquoted/);
    expect(() => parseXml('<a/><b/>')).toThrow(/after the root/);
    expect(() => parseXml('<a x="<"/>')).toThrow(/raw </);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate/);
    expect(() => parseXml('<a>')).toThrow(/unclosed/);
    expect(parseXml('<?xml version="1.0"?>\n<a k="&lt;&#65;"><b>t&amp;</b></a>\n').children[0].text).toBe('t&');
  });

  for (const [name, build] of graphs) {
    test(`${name}: well-formed standalone SVG with size, viewBox, white background and a sans-serif font`, () => {
      const svg = parseXml(toSvg(build()));
      expect(svg.name).toBe('svg');
      expect(svg.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
      const w = Number(svg.attrs.width);
      const h = Number(svg.attrs.height);
      expect(w).toBeGreaterThan(100);
      expect(h).toBeGreaterThan(50);
      expect(svg.attrs.viewBox).toBe(`0 0 ${w} ${h}`);
      expect(svg.attrs['font-family']).toMatch(/sans-serif/);
      const size = Number(svg.attrs['font-size']);
      expect(size).toBeGreaterThanOrEqual(11);
      expect(size).toBeLessThanOrEqual(14);
      const bg = all(svg, hasClass('background'))[0];
      expect(bg.attrs.fill).toBe('#ffffff');
      expect([+bg.attrs.width, +bg.attrs.height]).toEqual([w, h]);
    });

    test(`${name}: one box per node, none overlapping, all inside the canvas`, () => {
      const root = build();
      const svg = parseXml(toSvg(root));
      const boxes = all(svg, hasClass('box')).map(rectBox);
      expect(boxes).toHaveLength(topologicalOrder(root).length);
      for (let i = 0; i < boxes.length; i++) {
        const b = boxes[i];
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.y).toBeGreaterThanOrEqual(0);
        expect(b.x + b.w).toBeLessThanOrEqual(+svg.attrs.width);
        expect(b.y + b.h).toBeLessThanOrEqual(+svg.attrs.height);
        for (let j = i + 1; j < boxes.length; j++) expect(overlap(b, boxes[j]), `boxes ${i} and ${j}`).toBe(false);
      }
    });

    test(`${name}: value and gradient texts clear every box and each other`, () => {
      const svg = parseXml(toSvg(build()));
      const boxes = all(svg, hasClass('box')).map(rectBox);
      const texts = all(svg, (e) => e.name === 'text' && (hasClass('value')(e) || hasClass('grad')(e))).map(textBox);
      for (const t of texts) {
        expect(t.x + t.w).toBeLessThanOrEqual(+svg.attrs.width);
        for (const b of boxes) expect(overlap(t, b)).toBe(false);
      }
      for (let i = 0; i < texts.length; i++)
        for (let j = i + 1; j < texts.length; j++) expect(overlap(texts[i], texts[j])).toBe(false);
    });

    test(`${name}: one arrow-headed path per edge`, () => {
      const root = build();
      const svg = parseXml(toSvg(root));
      const edgeCount = topologicalOrder(root).reduce((n, v) => n + v.parents.length, 0);
      const paths = all(svg, hasClass('edges'))[0].children.filter((e) => e.name === 'path');
      expect(paths).toHaveLength(edgeCount);
      for (const p of paths) expect(p.attrs['marker-end']).toBe('url(#arrow)');
      expect(all(svg, (e) => e.name === 'marker' && e.attrs.id === 'arrow')).toHaveLength(1);
    });
  }

  /** node group -> [op or label, value, grad] as drawn. */
  function nodeTexts(svg: El): string[][] {
    return all(svg, hasClass('node')).map((g) => {
      const pick = (cls: string): string =>
        textOf(all(g, hasClass(cls))[0] ?? { name: '', attrs: {}, children: [], text: '' });
      return [pick('head'), pick('value'), pick('grad')];
    });
  }

  test('the sigmoid neuron shows every op or label with its value and gradient', () => {
    const drawn = nodeTexts(parseXml(toSvg(neuronGraph())));
    expect(drawn).toEqual(
      expect.arrayContaining([
        ['w0', '2', '-0.1966'],
        ['x0', '-1', '0.3932'],
        ['w1', '-3', '-0.3932'],
        ['x1', '-2', '-0.5898'],
        ['w2', '-3', '0.1966'],
        ['×', '-2', '0.1966'],
        ['×', '6', '0.1966'],
        ['+', '4', '0.1966'],
        ['+', '1', '0.1966'],
        ['sigmoid', '0.7311', '1'],
      ]),
    );
    expect(drawn).toHaveLength(10);
  });

  test('inputs are in the leftmost column, constants just before their user, the root alone in the rightmost', () => {
    const root = bigGraph();
    const svg = parseXml(toSvg(root));
    const groups = all(svg, hasClass('node'));
    const x = (g: El): number => +all(g, hasClass('box'))[0].attrs.x;
    const columns = [...new Set(groups.map(x))].sort((a, b) => a - b);
    expect(columns).toHaveLength(9); // the longest path: b, recip, +, ÷... has 9 nodes
    const inputs = groups.filter(hasClass('leaf'));
    expect(inputs.map((g) => textOf(all(g, hasClass('head'))[0])).sort()).toEqual(['a', 'b', 'c', 'x', 'y', 'z']);
    for (const g of inputs) expect(x(g)).toBe(columns[0]);
    // Both constants (the 1 in 1 + recip(b), the 2 in log(y)^2) feed ops in the third column.
    const constants = groups.filter(hasClass('const'));
    expect(constants).toHaveLength(2);
    for (const g of constants) expect(x(g)).toBe(columns[1]);
    expect(groups.filter((g) => x(g) === columns[columns.length - 1])).toHaveLength(1);
  });

  test('an input enters its op above the next input: a - b has a on top', () => {
    const a = new Value(1, 'a');
    const b = new Value(2, 'b');
    const svg = parseXml(toSvg(a.sub(b)));
    const ends = all(svg, hasClass('edges'))[0].children.map((p) => Number(p.attrs.d.trim().split(/[ ,]/).at(-1)));
    const leafY = (label: string): number => {
      const g = all(svg, hasClass('leaf')).find((e) => textOf(all(e, hasClass('head'))[0]) === label)!;
      return +all(g, hasClass('box'))[0].attrs.y;
    };
    // Edges are emitted in parent order; the first one must end higher up (smaller y).
    expect(ends[0]).toBeLessThan(ends[1]);
    expect(leafY('a')).toBeLessThan(leafY('b'));
  });

  test('tensor nodes show op and shape; a one-element tensor also shows value and grad', () => {
    const svg = parseXml(toSvg(mlpGraph().loss));
    const shapes = all(svg, hasClass('shape')).map(textOf);
    expect(shapes).toEqual(expect.arrayContaining(['[32×784]', '[784×128]', '[32×128]', '[32×10]', '[32]', 'scalar']));
    const drawn = nodeTexts(svg);
    expect(drawn).toContainEqual(['loss = softmax_xent', '2.303', '1']);
    expect(drawn).toContainEqual(['matmul', '', '']);
    expect(drawn.filter(([, v]) => v !== '')).toHaveLength(1);
  });

  test('labels and the title are escaped and read back unchanged', () => {
    const nasty = `<script>alert("x") & 'y'</script>`;
    const a = new Value(1, nasty);
    const svgText = toSvg(a.mul(2), { title: `T & <T> "q"` });
    expect(svgText).not.toContain('<script>');
    const svg = parseXml(svgText);
    expect(all(svg, hasClass('head')).map(textOf)).toContain(nasty);
    expect(textOf(all(svg, hasClass('title'))[0])).toBe(`T & <T> "q"`);
  });

  test('showGrad: false leaves out the gradients', () => {
    const svg = parseXml(toSvg(lectureGraph(), { showGrad: false }));
    expect(all(svg, hasClass('grad'))).toHaveLength(0);
    expect(all(svg, hasClass('value'))).toHaveLength(5);
  });

  test('a chain thousands of ops deep draws without overflowing the stack', () => {
    let v = new Value(1, 'x');
    for (let i = 0; i < 3000; i++) v = v.mul(1.0001);
    v.backward();
    const svg = toSvg(v);
    expect(svg.length).toBeGreaterThan(3000 * 100);
    expect(toDot(v).split('->').length - 1).toBe(6000);
  });

  test('a deep graph with an input at every step still lays out (inputs move next to their use)', () => {
    let v = new Value(1, 'x');
    for (let i = 0; i < 3000; i++) v = v.mul(new Value(1.0001, `w${i}`));
    v.backward();
    // With every w_i in column 0 this would need ~4.5M pass-through points; next to their use, none.
    const svg = parseXml(toSvg(v));
    expect(all(svg, hasClass('box'))).toHaveLength(6001);
    expect(+svg.attrs.height).toBeLessThan(300);
  });

  test('a wide graph keeps its boxes apart', () => {
    const leaves = Array.from({ length: 24 }, (_, i) => new Value(i - 12, `v${i}`));
    let layer = leaves.map((v, i) => (i % 2 === 0 ? v.mul(leaves[(i * 7) % 24]) : v.tanh()));
    while (layer.length > 1) {
      const next: Value[] = [];
      for (let i = 0; i + 1 < layer.length; i += 2) next.push(layer[i].add(layer[i + 1]));
      if (layer.length % 2 === 1) next.push(layer[layer.length - 1]);
      layer = next;
    }
    layer[0].backward();
    const boxes = all(parseXml(toSvg(layer[0])), hasClass('box')).map(rectBox);
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) expect(overlap(boxes[i], boxes[j])).toBe(false);
  });
});
