// A recursive-descent parser from infix text to a graph of `Value`s.
//
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/') unary)*
//   unary   := ('-' | '+') unary | power
//   power   := primary ('^' unary)?          right-associative; -x^2 is -(x^2)
//   primary := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
//
// Columns in error messages are 1-based.

import { Value } from './value.js';

type Unary = (a: Value) => Value;
const unaryFns: Record<string, Unary> = {
  exp: (a) => a.exp(),
  log: (a) => a.log(),
  sigmoid: (a) => a.sigmoid(),
  tanh: (a) => a.tanh(),
  relu: (a) => a.relu(),
  recip: (a) => a.recip(),
};
const binaryFns: Record<string, (a: Value, b: Value) => Value> = {
  max: (a, b) => a.max(b),
};

interface Token {
  kind: 'num' | 'name' | 'sym' | 'end';
  text: string;
  col: number;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (isDigit(c) || (c === '.' && isDigit(src[i + 1]))) {
      const start = i;
      while (isDigit(src[i])) i++;
      if (src[i] === '.') {
        i++;
        while (isDigit(src[i])) i++;
      }
      if (src[i] === 'e' || src[i] === 'E') {
        let j = i + 1;
        if (src[j] === '+' || src[j] === '-') j++;
        if (!isDigit(src[j])) throw syntaxError(`malformed number '${src.slice(start, j)}'`, start);
        i = j;
        while (isDigit(src[i])) i++;
      }
      tokens.push({ kind: 'num', text: src.slice(start, i), col: start + 1 });
    } else if (isNameStart(c)) {
      const start = i;
      while (i < src.length && (isNameStart(src[i]) || isDigit(src[i]))) i++;
      tokens.push({ kind: 'name', text: src.slice(start, i), col: start + 1 });
    } else if ('+-*/^(),'.includes(c)) {
      tokens.push({ kind: 'sym', text: c, col: i + 1 });
      i++;
    } else {
      throw syntaxError(`unexpected character '${c}'`, i);
    }
  }
  tokens.push({ kind: 'end', text: '', col: src.length + 1 });
  return tokens;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isNameStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function syntaxError(message: string, index: number): Error {
  return new Error(`${message} at column ${index + 1}`);
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'end of input' : `'${t.text}'`;
}

/**
 * Parses `src` into a graph of `Value`s. Each name in `vars` becomes one leaf labelled with that
 * name (every occurrence refers to the same leaf, so `x*x` accumulates both gradients); numbers
 * become constant leaves. Functions: exp log sigmoid tanh relu recip (one argument), max (two).
 * Throws an Error naming the column for syntax errors and unknown names.
 */
export function parseExpression(
  src: string,
  vars: Record<string, number>,
): { root: Value; vars: Record<string, Value> } {
  const leaves: Record<string, Value> = {};
  for (const [name, x] of Object.entries(vars)) leaves[name] = new Value(x, name);

  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token => tokens[pos];
  const isSym = (text: string): boolean => peek().kind === 'sym' && peek().text === text;
  const fail = (message: string, t: Token = peek()): never => {
    throw new Error(`${message} at column ${t.col}`);
  };
  const expect = (text: string): void => {
    if (!isSym(text)) fail(`expected '${text}' but found ${describe(peek())}`);
    pos++;
  };

  function expr(): Value {
    let v = term();
    while (isSym('+') || isSym('-')) {
      const op = tokens[pos++].text;
      const rhs = term();
      v = op === '+' ? v.add(rhs) : v.sub(rhs);
    }
    return v;
  }

  function term(): Value {
    let v = unary();
    while (isSym('*') || isSym('/')) {
      const op = tokens[pos++].text;
      const rhs = unary();
      v = op === '*' ? v.mul(rhs) : v.div(rhs);
    }
    return v;
  }

  function unary(): Value {
    if (isSym('-')) {
      pos++;
      // A negative literal is one constant, not a neg gate; but -2^2 is still -(2^2).
      const t = peek();
      const after = tokens[pos + 1];
      if (t.kind === 'num' && !(after.kind === 'sym' && after.text === '^')) {
        pos++;
        return new Value(-Number(t.text));
      }
      return unary().neg();
    }
    if (isSym('+')) {
      pos++;
      return unary();
    }
    return power();
  }

  function power(): Value {
    const base = primary();
    if (isSym('^')) {
      pos++;
      return base.pow(unary());
    }
    return base;
  }

  function primary(): Value {
    const t = peek();
    if (t.kind === 'num') {
      pos++;
      return new Value(Number(t.text));
    }
    if (isSym('(')) {
      pos++;
      const v = expr();
      expect(')');
      return v;
    }
    if (t.kind === 'name') {
      pos++;
      if (isSym('(')) return call(t);
      const leaf = Object.hasOwn(leaves, t.text) ? leaves[t.text] : undefined;
      if (leaf === undefined) {
        const hint =
          Object.hasOwn(unaryFns, t.text) || Object.hasOwn(binaryFns, t.text)
            ? ` (${t.text} is a function: ${t.text}(...))`
            : '';
        return fail(`unknown identifier '${t.text}'${hint}`, t);
      }
      return leaf;
    }
    return fail(`expected a number, a name or '(' but found ${describe(t)}`);
  }

  function call(name: Token): Value {
    pos++; // '('
    const args: Value[] = [expr()];
    while (isSym(',')) {
      pos++;
      args.push(expr());
    }
    expect(')');
    if (Object.hasOwn(unaryFns, name.text)) {
      if (args.length !== 1) fail(`${name.text}() takes 1 argument, got ${args.length}`, name);
      return unaryFns[name.text](args[0]);
    }
    if (Object.hasOwn(binaryFns, name.text)) {
      if (args.length !== 2) fail(`${name.text}() takes 2 arguments, got ${args.length}`, name);
      return binaryFns[name.text](args[0], args[1]);
    }
    const known = [...Object.keys(unaryFns), ...Object.keys(binaryFns)].join(' ');
    return fail(`unknown function '${name.text}' (known: ${known})`, name);
  }

  const root = expr();
  if (peek().kind !== 'end') fail(`unexpected ${describe(peek())}`);
  return { root, vars: leaves };
}
