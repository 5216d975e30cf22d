/**
 * Command-line parsing for the nodegrad CLI: each command declares its options once (name,
 * type, default, help text); the same table parses argv, validates values and prints --help.
 *
 * Accepted forms: `--name value`, `--name=value`, `--flag`, `--no-flag` (booleans declared
 * negatable), `-h`, and `--` to end options. A bad flag or value throws a UsageError whose
 * message is one line (`unknown option --epoch (did you mean --epochs?)`); the caller adds the
 * usage hint and exits 2.
 */
import { closest } from '../options.js';

export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose --help to point at ('' for nodegrad itself). */
    readonly command: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionType = 'string' | 'int' | 'number' | 'boolean' | 'numbers';

export interface OptionSpec {
  name: string;
  type: OptionType;
  /** One line for --help. */
  help: string;
  /** How the value is shown in --help (`--epochs N`). */
  arg?: string;
  short?: string;
  /** Allowed values (strings only). */
  choices?: readonly string[];
  /** Smallest allowed value (int, number, numbers). */
  min?: number;
  /** Largest allowed value (int, number, numbers). */
  max?: number;
  /** Whether min is exclusive (lr > 0). */
  positive?: boolean;
  /** Shown in --help; applied by the command, not here. */
  defaultText?: string;
  /** A boolean that also has a --no-<name> form. */
  negatable?: boolean;
  /** May be given several times; the values collect in an array (strings only). */
  multiple?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** Positional arguments allowed (names for --help); extra ones are a usage error. */
  positionals?: readonly string[];
  /** Collect unknown `--name=number` / `--name number` as variables (graph). */
  variables?: boolean;
  /** Lines after the options in --help. */
  examples?: readonly string[];
}

export type OptionValue = string | number | boolean | number[] | string[];

export interface Parsed {
  options: Record<string, OptionValue | undefined>;
  positionals: string[];
  variables: Record<string, number>;
  help: boolean;
}

const HELP: OptionSpec = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };

export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const opts = [...spec.options, HELP];
  const byName = new Map(opts.map((o) => [o.name, o]));
  const byShort = new Map(opts.filter((o) => o.short).map((o) => [o.short!, o]));
  const out: Parsed = { options: {}, positionals: [], variables: {}, help: false };
  const fail = (msg: string): never => {
    throw new UsageError(msg, spec.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d|^-\.\d/.test(arg)) {
      out.positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    let opt: OptionSpec | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      opt = byName.get(name);
      if (opt === undefined && name.startsWith('no-')) {
        const base = byName.get(name.slice(3));
        if (base?.negatable) {
          if (inline !== undefined) fail(`option --${name} takes no value`);
          out.options[base.name] = false;
          continue;
        }
      }
    } else {
      name = arg.slice(1);
      opt = byShort.get(name);
      if (opt === undefined) fail(`unknown option ${arg}${suggest(name, [...byShort.keys()], '-')}`);
    }
    if (opt === undefined) {
      // graph: --x=1 or --x 1 gives the variable x a value.
      if (spec.variables && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        const text = inline ?? argv[i + 1];
        if (text !== undefined && isNumber(text)) {
          if (inline === undefined) i++;
          out.variables[name] = Number(text);
          continue;
        }
        if (text !== undefined && inline !== undefined) fail(`--${name}=${text}: a variable's value must be a number`);
      }
      fail(
        `unknown option --${name}${suggest(
          name,
          opts.map((o) => o.name),
          '--',
        )}`,
      );
    }
    const o = opt!;
    if (o.type === 'boolean') {
      if (inline !== undefined) {
        if (inline === 'true' || inline === '1') out.options[o.name] = true;
        else if (inline === 'false' || inline === '0') out.options[o.name] = false;
        else fail(`option --${o.name} takes no value (got '${inline}')`);
      } else {
        out.options[o.name] = true;
      }
      if (o === HELP) out.help = out.options.help === true;
      continue;
    }
    let text = inline;
    if (text === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        fail(`option --${o.name} needs a value${o.arg ? ` (${o.arg})` : ''}`);
      text = next;
      i++;
    }
    const value = convert(o, text!, fail);
    if (o.multiple) out.options[o.name] = [...((out.options[o.name] as string[] | undefined) ?? []), value as string];
    else out.options[o.name] = value;
  }
  if (!out.help) {
    const allowed = spec.positionals?.length ?? 0;
    if (out.positionals.length > allowed) {
      const extra = out.positionals[allowed];
      fail(allowed === 0 ? `unexpected argument '${extra}'` : `unexpected extra argument '${extra}'`);
    }
  }
  return out;
}

function isNumber(s: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s.trim());
}

function convert(o: OptionSpec, text: string, fail: (msg: string) => never): OptionValue {
  const bad = (what: string): never => fail(`option --${o.name} must be ${what}, got '${text}'`);
  const checkRange = (v: number, what: string): number => {
    if (o.min !== undefined && (o.positive ? !(v > o.min) : !(v >= o.min))) {
      bad(`${what} ${o.positive ? '>' : '>='} ${o.min}`);
    }
    if (o.max !== undefined && !(v <= o.max)) bad(`${what} <= ${o.max}`);
    return v;
  };
  switch (o.type) {
    case 'string':
      if (o.choices && !o.choices.includes(text)) {
        fail(`option --${o.name} must be one of ${o.choices.join(', ')}, got '${text}'${suggest(text, o.choices, '')}`);
      }
      if (text === '') bad('a non-empty string');
      return text;
    case 'int': {
      if (!/^[+-]?\d+$/.test(text.trim())) bad(`an integer${o.min !== undefined ? ` >= ${o.min}` : ''}`);
      const v = Number(text);
      if (!Number.isSafeInteger(v)) bad('a safe integer');
      return checkRange(v, 'an integer');
    }
    case 'number': {
      if (!isNumber(text)) bad('a number');
      const v = Number(text);
      if (!Number.isFinite(v)) bad('a finite number');
      return checkRange(v, 'a number');
    }
    case 'numbers': {
      const parts = text.split(',').map((s) => s.trim());
      if (parts.length === 0 || parts.some((p) => !isNumber(p))) bad('a comma-separated list of numbers');
      return parts.map((p) => checkRange(Number(p), 'a list of numbers, each'));
    }
    default:
      return text;
  }
}

/** `(did you mean --epochs?)` for the closest candidate within a small edit distance. */
export function suggest(word: string, candidates: Iterable<string>, prefix: string): string {
  const best = closest(word, candidates);
  return best === null ? '' : ` (did you mean ${prefix}${best}?)`;
}

/** The --help text of a command, from its spec. */
export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:'];
  const rows = [...spec.options, HELP].map((o) => {
    let left = `${o.short ? `-${o.short}, ` : '    '}--${o.name}`;
    if (o.type !== 'boolean') left += ` ${o.arg ?? (o.choices ? o.choices.join('|') : o.type === 'int' ? 'N' : 'X')}`;
    if (o.negatable) left += `, --no-${o.name}`;
    const right = o.help + (o.defaultText !== undefined ? ` (default ${o.defaultText})` : '');
    return [left, right] as const;
  });
  const w = Math.min(34, Math.max(...rows.map(([l]) => l.length)));
  for (const [l, r] of rows) lines.push(l.length > w ? `  ${l}\n  ${' '.repeat(w)}  ${r}` : `  ${l.padEnd(w)}  ${r}`);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}
