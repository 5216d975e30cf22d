/**
 * `nodegrad graph`: the lecture's computational graphs, forward and backward, drawn as SVG (or
 * printed as DOT). A preset name or an expression, with variable values from --NAME=VALUE.
 */
import { parseExpression, toDot, toSvg } from '../../index.js';
import { formatNumber } from '../../graph/index.js';
import type { Value } from '../../scalar/index.js';
import { UsageError, suggest, type CommandSpec, type Parsed } from '../args.js';
import { CliError, type Out, writeText } from '../io.js';

/**
 * The drawing's size grows with the square of the graph (800 terms: 22 MB of SVG in a minute),
 * and a graph of hundreds of nodes is unreadable anyway: longer expressions are refused.
 */
export const MAX_EXPRESSION_CHARS = 1000;
export const MAX_GRAPH_NODES = 250;

interface Preset {
  expression: string;
  vars: Record<string, number>;
  title: string;
}

/** The lecture's examples; variables listed in the order they are printed. */
export const PRESETS: Record<string, Preset> = {
  neuron: {
    expression: 'sigmoid(w0*x0 + w1*x1 + w2)',
    vars: { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 },
    title: 'A sigmoid neuron: f = sigmoid(w0*x0 + w1*x1 + w2)',
  },
  'add-mul': {
    expression: '(x + y) * z',
    vars: { x: -2, y: 5, z: -4 },
    title: 'f = (x + y) * z',
  },
};

export const spec: CommandSpec = {
  name: 'graph',
  summary:
    "Runs an expression forward and backward, prints its value and each variable's gradient, and\n" +
    `draws the graph (values green, gradients red) to graph.svg. Presets: ${Object.keys(PRESETS).join(', ')} (default neuron);\n` +
    'or an expression of + - * / ^, exp log sigmoid tanh relu recip, max(a, b), numbers and variables.',
  usage: 'nodegrad graph [PRESET | EXPRESSION] [--NAME=VALUE ...] [options]',
  positionals: ['EXPRESSION'],
  variables: true,
  options: [
    {
      name: 'var',
      type: 'string',
      arg: 'NAME=VALUE',
      multiple: true,
      help: "a variable's value (or --NAME=VALUE); repeatable",
    },
    { name: 'out', type: 'string', arg: 'FILE', help: 'where the SVG goes', defaultText: 'graph.svg' },
    { name: 'dot', type: 'boolean', help: 'print Graphviz DOT on stdout instead of writing the SVG' },
    {
      name: 'digits',
      type: 'int',
      min: 1,
      arg: 'N',
      help: 'significant digits of values and gradients',
      defaultText: '4',
    },
    { name: 'json', type: 'boolean', help: 'one JSON object: value and gradients' },
  ],
  examples: [
    'nodegrad graph',
    'nodegrad graph add-mul',
    'nodegrad graph "max(x, y) * z" --x=1 --y=3 --z=-2',
    'nodegrad graph "x*x + 3*x" --var x=2 --dot | dot -Tpng -o graph.png',
  ],
};

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  const first = args.positionals[0];
  const preset = first === undefined ? PRESETS.neuron : Object.hasOwn(PRESETS, first) ? PRESETS[first] : undefined;
  const expression = preset?.expression ?? first!;
  const vars: Record<string, number> = { ...(preset?.vars ?? {}) };
  for (const item of (o.var as string[] | undefined) ?? []) {
    for (const part of item.split(',')) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$/.exec(part);
      if (!m) throw new UsageError(`option --var must be NAME=NUMBER, got '${part}'`, 'graph');
      vars[m[1]] = Number(m[2]);
    }
  }
  Object.assign(vars, args.variables);

  if (expression.length > MAX_EXPRESSION_CHARS) {
    throw new CliError(
      `the expression is ${expression.length} characters long; graph draws at most ${MAX_EXPRESSION_CHARS}`,
    );
  }
  let parsed: ReturnType<typeof parseExpression>;
  try {
    parsed = parseExpression(expression, vars);
  } catch (err) {
    const msg = (err as Error).message;
    const unknown = /unknown identifier '([^']+)'/.exec(msg);
    let hint = '';
    if (unknown && !msg.includes('is a function')) hint = `; give it a value with --${unknown[1]}=NUMBER`;
    else if (first !== undefined && /^[a-z-]+$/.test(first) && first.includes('-'))
      hint = suggest(first, Object.keys(PRESETS), '');
    throw new UsageError(`cannot parse '${expression}': ${msg}${hint}`, 'graph');
  }
  const { root } = parsed;
  const nodes = countNodes(root, MAX_GRAPH_NODES);
  if (nodes > MAX_GRAPH_NODES) {
    throw new CliError(
      `the expression's graph has more than ${MAX_GRAPH_NODES} nodes; graph draws at most ${MAX_GRAPH_NODES}`,
    );
  }
  root.backward();

  const digits = (o.digits as number | undefined) ?? 4;
  const fmt = (v: number): string => formatNumber(v, digits);
  const title = preset?.title ?? `f = ${expression}`;
  if (o.dot === true) {
    out.io.stdout.write(toDot(root, { title, digits }));
    return 0;
  }
  const file = (o.out as string | undefined) ?? 'graph.svg';
  const used = Object.entries(parsed.vars).filter(([name]) => new RegExp(`\\b${name}\\b`).test(expression));
  const unused = Object.keys(parsed.vars).filter((n) => !used.some(([u]) => u === n));
  for (const n of unused) out.note(`nodegrad: note: variable '${n}' does not appear in '${expression}'`);
  writeText(file, toSvg(root, { title, digits }));

  if (o.json === true) {
    out.json({
      expression,
      value: root.data,
      variables: Object.fromEntries(used.map(([n, v]) => [n, { value: v.data, grad: v.grad }])),
      svg: file,
    });
    return 0;
  }
  out.line(`f = ${expression}`);
  out.line(`f = ${fmt(root.data)}`);
  const w = Math.max(8, ...used.map(([n]) => n.length + 5));
  out.line(`${'variable'.padEnd(w)}  ${'value'.padEnd(10)}  gradient`);
  for (const [name, v] of used) out.line(`${name.padEnd(w)}  ${fmt(v.data).padEnd(10)}  df/d${name} = ${fmt(v.grad)}`);
  out.line(`wrote ${file}`);
  return 0;
}

/** The distinct values `root` depends on, itself included; stops counting past `limit`. */
function countNodes(root: Value, limit: number): number {
  const seen = new Set<Value>([root]);
  const stack = [root];
  while (stack.length > 0 && seen.size <= limit) {
    for (const p of stack.pop()!.parents) {
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return seen.size;
}
