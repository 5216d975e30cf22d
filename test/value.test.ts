import { describe, expect, test } from 'vitest';
import { Value } from '../lib/scalar/value.js';
import { topologicalOrder } from '../lib/graph/topo-sort.js';
import { parseExpression } from '../lib/scalar/expr.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('lecture examples', () => {
  test('f = (x + y) * z at x = -2, y = 5, z = -4 gives f = -12, df/dx = -4, df/dy = -4, df/dz = 3', () => {
    const x = new Value(-2, 'x');
    const y = new Value(5, 'y');
    const z = new Value(-4, 'z');
    const q = x.add(y);
    const f = q.mul(z);
    f.backward();
    expect(f.data).toBe(-12);
    expect(q.data).toBe(3);
    expect(f.grad).toBe(1);
    expect(q.grad).toBe(-4);
    expect([x.grad, y.grad, z.grad]).toEqual([-4, -4, 3]);
  });

  test('sigmoid neuron at w = [2, -3, -3], x = [-1, -2]: f = 0.73, dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59]', () => {
    const w0 = new Value(2, 'w0');
    const w1 = new Value(-3, 'w1');
    const w2 = new Value(-3, 'w2');
    const x0 = new Value(-1, 'x0');
    const x1 = new Value(-2, 'x1');
    const f = w0.mul(x0).add(w1.mul(x1)).add(w2).sigmoid();
    f.backward();
    const round2 = (v: number): number => Math.round(v * 100) / 100;
    expect(round2(f.data)).toBe(0.73);
    expect([w0.grad, w1.grad, w2.grad].map(round2)).toEqual([-0.2, -0.39, 0.2]);
    expect([x0.grad, x1.grad].map(round2)).toEqual([0.39, -0.59]);

    // Exactly: the dot product is 1, so f = s(1) and every gradient is s(1)(1 - s(1)) times a weight or input.
    const s = sigmoid(1);
    const ds = (1 - s) * s;
    expect(f.data).toBeCloseTo(s, 15);
    expect(w0.grad).toBeCloseTo(-1 * ds, 15);
    expect(w1.grad).toBeCloseTo(-2 * ds, 15);
    expect(w2.grad).toBeCloseTo(ds, 15);
    expect(x0.grad).toBeCloseTo(2 * ds, 15);
    expect(x1.grad).toBeCloseTo(-3 * ds, 15);
    expect(ds).toBeCloseTo(0.19661193324148185, 15);
  });
});

describe('patterns of backward flow', () => {
  test('add distributes: both inputs receive the upstream gradient unchanged', () => {
    const a = new Value(4);
    const b = new Value(-7);
    const sum = a.add(b);
    sum.mul(-2.5).backward();
    expect(sum.grad).toBe(-2.5);
    expect(a.grad).toBe(-2.5);
    expect(b.grad).toBe(-2.5);
  });

  test('max routes: the larger input receives the upstream gradient, the other 0', () => {
    const a = new Value(2);
    const b = new Value(5);
    a.max(b).mul(3).backward();
    expect([a.grad, b.grad]).toEqual([0, 3]);

    const c = new Value(6);
    const d = new Value(-1);
    c.max(d).mul(3).backward();
    expect([c.grad, d.grad]).toEqual([3, 0]);
  });

  test('max on a tie routes the whole gradient to the first input', () => {
    const a = new Value(1.5);
    const b = new Value(1.5);
    const m = a.max(b);
    m.backward();
    expect(m.data).toBe(1.5);
    expect([a.grad, b.grad]).toEqual([1, 0]);
  });

  test('mul switches: each input receives the upstream gradient times the other input', () => {
    const a = new Value(3);
    const b = new Value(-4);
    a.mul(b).mul(2).backward();
    expect(a.grad).toBe(2 * -4);
    expect(b.grad).toBe(2 * 3);
  });

  test('a value used twice receives both contributions', () => {
    const x = new Value(3);
    x.mul(x).backward();
    expect(x.grad).toBe(6);

    const y = new Value(3);
    const t = y.mul(2);
    t.add(t).add(y).backward(); // 2*(2y) + y
    expect(y.grad).toBe(5);
  });
});

describe('graph structure', () => {
  test('a leaf has op "" and no parents; an op records its inputs in order', () => {
    const a = new Value(1, 'a');
    const b = new Value(2, 'b');
    expect(a.op).toBe('');
    expect(a.parents).toEqual([]);
    expect(a.label).toBe('a');
    const d = a.sub(b);
    expect(d.op).toBe('sub');
    expect(d.parents[0]).toBe(a);
    expect(d.parents[1]).toBe(b);
    expect(d.label).toBeUndefined();
  });

  test('each op names itself', () => {
    const a = new Value(0.5);
    const ops: [Value, string][] = [
      [a.add(1), 'add'],
      [a.sub(1), 'sub'],
      [a.mul(2), 'mul'],
      [a.div(2), 'div'],
      [a.neg(), 'neg'],
      [a.pow(2), 'pow'],
      [a.exp(), 'exp'],
      [a.log(), 'log'],
      [a.recip(), 'recip'],
      [a.max(0), 'max'],
      [a.relu(), 'relu'],
      [a.sigmoid(), 'sigmoid'],
      [a.tanh(), 'tanh'],
    ];
    for (const [v, op] of ops) expect(v.op).toBe(op);
  });

  test('plain-number operands become unlabelled constant leaves', () => {
    const a = new Value(2);
    const p = a.mul(7);
    const c = p.parents[1];
    expect(c).toBeInstanceOf(Value);
    expect(c.data).toBe(7);
    expect(c.op).toBe('');
    expect(c.label).toBeUndefined();
    p.backward();
    expect(c.grad).toBe(2);
  });

  test('topologicalOrder lists every node once, inputs before their users, root last', () => {
    const x = new Value(1);
    const y = x.mul(2);
    const z = y.add(x).mul(y);
    const order = topologicalOrder(z);
    expect(new Set(order).size).toBe(order.length);
    expect(order.length).toBe(5); // x, the constant 2, y, y + x, (y + x) * y
    expect(order[order.length - 1]).toBe(z);
    for (const v of order) for (const p of v.parents) expect(order.indexOf(p)).toBeLessThan(order.indexOf(v));
  });
});

describe('gradients against centred finite differences (float64)', () => {
  const h = 1e-6;
  const close = (analytic: number, numeric: number): void => {
    expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(numeric)));
  };

  const unary: [string, (a: Value) => Value, number[]][] = [
    ['neg', (a) => a.neg(), [-1.3, 0.2, 2]],
    ['exp', (a) => a.exp(), [-2, 0.1, 1.7]],
    ['log', (a) => a.log(), [0.05, 1.3, 20]],
    ['recip', (a) => a.recip(), [-2.5, 0.3, 4]],
    ['relu', (a) => a.relu(), [-1.2, 0.7, 3]],
    ['sigmoid', (a) => a.sigmoid(), [-4, -0.3, 0, 2.2]],
    ['tanh', (a) => a.tanh(), [-1.5, 0, 0.4, 3]],
    ['pow(number)', (a) => a.pow(3), [-1.5, 0.4, 2]],
    ['pow(fraction)', (a) => a.pow(0.5), [0.3, 2, 9]],
    ['add(number)', (a) => a.add(-4), [-1, 3]],
    ['mul(number)', (a) => a.mul(-4), [-1, 3]],
    ['div(number)', (a) => a.div(3), [-1, 3]],
    ['max(number)', (a) => a.max(0.5), [-1, 3]],
  ];
  for (const [name, f, points] of unary) {
    test(`${name} at ${points.join(', ')}`, () => {
      for (const x0 of points) {
        const x = new Value(x0);
        f(x).backward();
        const numeric = (f(new Value(x0 + h)).data - f(new Value(x0 - h)).data) / (2 * h);
        close(x.grad, numeric);
      }
    });
  }

  const binary: [string, (a: Value, b: Value) => Value, [number, number][]][] = [
    [
      'add',
      (a, b) => a.add(b),
      [
        [1, 2],
        [-3, 0.5],
      ],
    ],
    [
      'sub',
      (a, b) => a.sub(b),
      [
        [1, 2],
        [-3, 0.5],
      ],
    ],
    [
      'mul',
      (a, b) => a.mul(b),
      [
        [1.5, -2],
        [-3, 0.25],
      ],
    ],
    [
      'div',
      (a, b) => a.div(b),
      [
        [1.5, -2],
        [-3, 0.25],
        [2, 7],
      ],
    ],
    [
      'max',
      (a, b) => a.max(b),
      [
        [1.5, -2],
        [-3, 0.25],
      ],
    ],
    [
      'pow(Value)',
      (a, b) => a.pow(b),
      [
        [1.5, 2],
        [0.7, -1.3],
        [3, 0.5],
      ],
    ],
  ];
  for (const [name, f, points] of binary) {
    test(`${name} with two Values at ${points.map((p) => `(${p.join(', ')})`).join(' ')}`, () => {
      for (const [a0, b0] of points) {
        const a = new Value(a0);
        const b = new Value(b0);
        f(a, b).backward();
        const da = (f(new Value(a0 + h), new Value(b0)).data - f(new Value(a0 - h), new Value(b0)).data) / (2 * h);
        const db = (f(new Value(a0), new Value(b0 + h)).data - f(new Value(a0), new Value(b0 - h)).data) / (2 * h);
        close(a.grad, da);
        close(b.grad, db);
      }
    });
  }

  test('a composite expression through the parser', () => {
    const src = 'max(x, y) * exp(-z) / (1 + tanh(x*y)) + log(y)^2 - sigmoid(z)';
    const at = { x: 0.4, y: 1.7, z: -0.6 };
    const { root, vars } = parseExpression(src, at);
    root.backward();
    for (const name of Object.keys(at) as (keyof typeof at)[]) {
      const plus = parseExpression(src, { ...at, [name]: at[name] + h }).root.data;
      const minus = parseExpression(src, { ...at, [name]: at[name] - h }).root.data;
      close(vars[name].grad, (plus - minus) / (2 * h));
    }
  });
});

describe('edge cases', () => {
  test('pow with a Value exponent: d/db a^b = a^b ln a', () => {
    const a = new Value(2.5);
    const b = new Value(1.5);
    a.pow(b).backward();
    expect(b.grad).toBeCloseTo(2.5 ** 1.5 * Math.log(2.5), 14);
    expect(a.grad).toBeCloseTo(1.5 * 2.5 ** 0.5, 14);
  });

  test('pow of a negative base to an integer power has the right base gradient and a NaN exponent gradient', () => {
    const a = new Value(-3);
    const b = new Value(2);
    const p = a.pow(b);
    p.backward();
    expect(p.data).toBe(9);
    expect(a.grad).toBe(-6);
    expect(b.grad).toBeNaN();
  });

  test('pow at a zero base: exponent gradient 0, and 0^0 has base gradient 0', () => {
    const a = new Value(0);
    const b = new Value(3);
    a.pow(b).backward();
    expect(a.grad).toBe(0);
    expect(b.grad).toBe(0);
    const c = new Value(0);
    const zero = new Value(0);
    const p = c.pow(zero);
    p.backward();
    expect(p.data).toBe(1);
    expect(c.grad).toBe(0);
  });

  test('log of a non-positive number follows Math.log: -Infinity at 0, NaN below', () => {
    expect(new Value(0).log().data).toBe(-Infinity);
    expect(new Value(-2).log().data).toBeNaN();
    expect(new Value(Math.E).log().data).toBe(1);
  });

  test('div by a Value: d/db (a/b) = -a/b^2', () => {
    const a = new Value(3);
    const b = new Value(-2);
    const q = a.div(b);
    q.backward();
    expect(q.data).toBe(-1.5);
    expect(a.grad).toBe(-0.5);
    expect(b.grad).toBe(-0.75);
  });

  test('relu passes the gradient for positive inputs only, 0 at 0', () => {
    for (const [x0, g] of [
      [2, 1],
      [0, 0],
      [-1, 0],
    ]) {
      const x = new Value(x0);
      x.relu().backward();
      expect(x.grad).toBe(g);
    }
  });

  test('sigmoid does not overflow for large |x|', () => {
    for (const x0 of [-1000, 1000]) {
      const x = new Value(x0);
      const s = x.sigmoid();
      s.backward();
      expect(s.data).toBe(x0 > 0 ? 1 : 0);
      expect(x.grad).toBe(0);
    }
  });
});

describe('sigmoid gate', () => {
  test('is one node with the local gradient (1 - s) * s', () => {
    const x = new Value(0.8);
    const s = x.sigmoid();
    expect(s.parents).toEqual([x]);
    s.backward();
    expect(x.grad).toBe((1 - s.data) * s.data);
  });

  test('matches the graph built from exp, add and recip in value and gradient', () => {
    for (const x0 of [-3, -0.5, 0, 1, 2.7]) {
      const a = new Value(x0);
      const gate = a.sigmoid();
      gate.backward();
      const b = new Value(x0);
      const composite = b.neg().exp().add(1).recip();
      composite.backward();
      expect(topologicalOrder(composite).length).toBeGreaterThan(topologicalOrder(gate).length);
      expect(gate.data).toBeCloseTo(composite.data, 15);
      expect(a.grad).toBeCloseTo(b.grad, 15);
      expect(a.grad).not.toBe(0);
    }
  });
});

describe('backward and zeroGrad', () => {
  test('a chain of 10,000 ops runs backward without overflowing the stack', () => {
    const x = new Value(1);
    let v = x;
    for (let i = 0; i < 10_000; i++) v = v.mul(1.0001);
    v.backward();
    expect(x.grad).toBeCloseTo(1.0001 ** 10_000, 8);
    v.zeroGrad();
    expect(x.grad).toBe(0);
  });

  test('a chain of 200,000 ops also works (no recursion anywhere)', () => {
    const x = new Value(0);
    let v = x;
    for (let i = 0; i < 200_000; i++) v = v.add(1);
    v.backward();
    expect(v.data).toBe(200_000);
    expect(x.grad).toBe(1);
  });

  test('zeroGrad zeroes every grad in the graph below', () => {
    const { root } = parseExpression('sigmoid(w0*x0 + w1*x1 + w2)', { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 });
    root.backward();
    const all = topologicalOrder(root);
    expect(all.some((v) => v.grad !== 0)).toBe(true);
    root.zeroGrad();
    expect(all.every((v) => v.grad === 0)).toBe(true);
  });

  test('a second backward without zeroGrad adds one more gradient to the leaves', () => {
    const x = new Value(2);
    const y = new Value(-1);
    const f = x.mul(y).add(x).tanh();
    f.backward();
    const once = [x.grad, y.grad];
    f.backward();
    expect(x.grad).toBeCloseTo(2 * once[0], 15);
    expect(y.grad).toBeCloseTo(2 * once[1], 15);
    expect(f.grad).toBe(1);
  });
});

describe('parseExpression', () => {
  test('(x + y) * z builds the lecture graph with one labelled leaf per variable', () => {
    const { root, vars } = parseExpression('(x + y) * z', { x: -2, y: 5, z: -4 });
    root.backward();
    expect(root.data).toBe(-12);
    expect(root.op).toBe('mul');
    expect(root.parents[0].op).toBe('add');
    expect(root.parents[1]).toBe(vars.z);
    expect(vars.x.label).toBe('x');
    expect([vars.x.grad, vars.y.grad, vars.z.grad]).toEqual([-4, -4, 3]);
  });

  test('the sigmoid neuron parses to a single sigmoid gate', () => {
    const { root, vars } = parseExpression('sigmoid(w0*x0 + w1*x1 + w2)', { w0: 2, x0: -1, w1: -3, x1: -2, w2: -3 });
    root.backward();
    expect(root.op).toBe('sigmoid');
    expect(root.data).toBeCloseTo(sigmoid(1), 15);
    expect(vars.x1.grad).toBeCloseTo(-3 * sigmoid(1) * (1 - sigmoid(1)), 15);
  });

  test('precedence and associativity: ^ over unary minus over * / over + -, ^ right-associative', () => {
    const at = (src: string, vars: Record<string, number> = {}): number => parseExpression(src, vars).root.data;
    expect(at('2 + 3 * 4 ^ 2')).toBe(50);
    expect(at('-x^2', { x: 3 })).toBe(-9);
    expect(at('-2^2')).toBe(-4);
    expect(at('2^3^2')).toBe(512);
    expect(at('2^-1')).toBe(0.5);
    expect(at('10 - 4 - 3')).toBe(3);
    expect(at('12 / 3 / 2')).toBe(2);
    expect(at('1/x', { x: 4 })).toBe(0.25);
    expect(at('x^2', { x: -3 })).toBe(9);
    expect(at('--x', { x: 2 })).toBe(2);
    expect(at('+1.5e1 * .5')).toBe(7.5);
    expect(at('max(x, y) * exp(-z)', { x: 1, y: 2, z: 0 })).toBe(2);
    expect(at('recip(4) + relu(-3) + tanh(0) + log(1)')).toBe(0.25);
  });

  test('a negative literal is one constant leaf; negating a name is a neg gate', () => {
    const lit = parseExpression('x * -2', { x: 1 }).root;
    expect(lit.parents[1].op).toBe('');
    expect(lit.parents[1].data).toBe(-2);
    const gate = parseExpression('exp(-z)', { z: 1 }).root;
    expect(gate.parents[0].op).toBe('neg');
  });

  test('a variable used twice is one leaf that accumulates both gradients', () => {
    const { root, vars } = parseExpression('x * x + x', { x: 3 });
    root.backward();
    expect(vars.x.grad).toBe(7);
  });

  test('unknown identifiers and syntax errors throw with the column', () => {
    const parse = (src: string): unknown => parseExpression(src, { x: 1, y: 2 });
    expect(() => parse('x + q')).toThrow(/unknown identifier 'q' at column 5$/);
    expect(() => parse('(x + 1')).toThrow(/expected '\)' but found end of input at column 7$/);
    expect(() => parse('x +')).toThrow(/at column 4$/);
    expect(() => parse('x $ y')).toThrow(/unexpected character '\$' at column 3$/);
    expect(() => parse('x y')).toThrow(/unexpected 'y' at column 3$/);
    expect(() => parse('foo(x)')).toThrow(/unknown function 'foo'.* at column 1$/);
    expect(() => parse('max(x)')).toThrow(/max\(\) takes 2 arguments, got 1 at column 1$/);
    expect(() => parse('exp(x, y)')).toThrow(/exp\(\) takes 1 argument, got 2 at column 1$/);
    expect(() => parse('1e+')).toThrow(/malformed number '1e\+' at column 1$/);
    expect(() => parse('2 * exp')).toThrow(/unknown identifier 'exp' \(exp is a function.* at column 5$/);
    expect(() => parse('')).toThrow(/at column 1$/);
  });

  test('returns a leaf for every variable given, used or not', () => {
    const { vars } = parseExpression('x', { x: 1, unused: 5 });
    expect(Object.keys(vars).sort()).toEqual(['unused', 'x']);
    expect(vars.unused.data).toBe(5);
  });
});
