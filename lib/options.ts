/**
 * Run-time checks of options objects. JavaScript callers have no type checker, and code ported
 * from PyTorch passes `weight_decay`, `eta_min` or `T_max`: an unknown key would otherwise be
 * dropped without a word and the run would differ from PyTorch's. Every options object of the
 * public API goes through `checkOptions`, which throws a TypeError naming the key and, where one
 * is close, the key that was meant.
 *
 * The allowed keys are a run-time list, declared next to the options interface with
 * `optionKeys<Options>()(...)`, which fails to compile when the list misses a key of the
 * interface, so the two cannot drift.
 */

/** What a value is, for messages: `'1' (a string)`, `1`, `null`, `an array`. */
export function quote(v: unknown): string {
  if (typeof v === 'string') return `'${v}' (a string)`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null || v === undefined) {
    return String(v);
  }
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}

/**
 * The keys of T as a run-time list: `optionKeys<AdamOptions>()('lr', 'betas', ...)`. The call
 * does not compile when a key of T is missing from the list (the error names it) or when the
 * list has a key T lacks.
 */
export function optionKeys<T>() {
  // NonNullable: options typed inline are named by their parameter, `Parameters<typeof f>[1]`,
  // which includes undefined when the parameter is optional
  type O = NonNullable<T>;
  return <const K extends readonly (keyof O & string)[]>(
    ...keys: K &
      ([Exclude<keyof O, K[number]>] extends [never] ? unknown : { missingKeys: Exclude<keyof O, K[number]> })
  ): readonly string[] => keys;
}

// Names PyTorch, Keras and TensorFlow.js users write for the same thing, mapped to ours when
// neither the camelCase rule nor the edit distance finds them.
const ALIASES: Readonly<Record<string, string>> = {
  learningrate: 'lr',
  learning_rate: 'lr',
  epoch: 'epochs',
  numepochs: 'epochs',
  num_epochs: 'epochs',
  max_epochs: 'epochs',
  maxepochs: 'epochs',
  validationdata: 'validation',
  validation_data: 'validation',
  beta1: 'betas',
  beta2: 'betas',
  decay: 'weightDecay',
  l2: 'weightDecay',
  lossfn: 'loss',
  verbose: 'progress',
  restore_best_weights: 'restoreBest',
  restorebestweights: 'restoreBest',
  test_size: 'test',
  testsize: 'test',
  val_size: 'validation',
  valsize: 'validation',
  validation_size: 'validation',
  validationsize: 'validation',
  random_state: 'seed',
  randomstate: 'seed',
  generator: 'rng',
  sep: 'delimiter',
  raise_exception: 'throwOnFail',
  raiseexception: 'throwOnFail',
};

/** `weight_decay` -> `weightDecay`, `T_max` -> `tMax`. */
function camel(key: string): string {
  const parts = key.split('_').filter((p) => p.length > 0);
  if (parts.length < 2) return key;
  return parts.map((p, i) => (i === 0 ? p.toLowerCase() : p[0].toUpperCase() + p.slice(1).toLowerCase())).join('');
}

/** Damerau-Levenshtein distance (adjacent transpositions count 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate `word` was most likely meant for, or null: a case-insensitive match first, then
 * the closest by edit distance when it is close enough for its length (or `word` starts it).
 */
export function closest(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === null) return null;
  const limit = Math.max(1, Math.min(3, Math.floor(best.length / 3)));
  const isPrefix = word.length >= 3 && best.startsWith(word);
  return bestD <= limit || isPrefix ? best : null;
}

/** The allowed key a caller most likely meant by `key`, or null. */
export function suggestKey(key: string, allowed: readonly string[]): string | null {
  const c = camel(key);
  const lower = c.toLowerCase();
  const exact = allowed.find((k) => k.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  const alias = ALIASES[key.toLowerCase()] ?? ALIASES[lower];
  if (alias !== undefined && allowed.includes(alias)) return alias;
  return closest(c, allowed);
}

/**
 * Throws a TypeError unless `options` is undefined or an object whose own keys with a value
 * other than undefined are all in `allowed`: "unknown option 'weight_decay' for Adam: did you mean 'weightDecay'?". `owner`
 * names the function or class the options were given to.
 */
export function checkOptions(owner: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, got ${quote(options)}`);
  }
  for (const [key, value] of Object.entries(options)) {
    // an undefined value changes nothing, so `{ momentum: cond ? 0.9 : undefined }` is fine
    if (value === undefined || allowed.includes(key)) continue;
    throw unknownKey('option', key, owner, allowed);
  }
}

function unknownKey(kind: 'option' | 'hook', key: string, owner: string, allowed: readonly string[]): TypeError {
  const hint = suggestKey(key, allowed);
  return new TypeError(
    `unknown ${kind} '${key}' for ${owner}` +
      (hint !== null ? `: did you mean '${hint}'?` : ` (${kind}s: ${allowed.map((k) => `'${k}'`).join(', ')})`),
  );
}

/**
 * Throws a TypeError when `obj`, or a class it is an instance of, has a method named like a hook
 * (`onEpochEnded`, Keras's `on_epoch_end`) that is not one of `hooks`: a misspelt hook would
 * never be called. Its other properties (a callback's own state) are its own business.
 */
export function checkHooks(owner: string, obj: object, hooks: readonly string[]): void {
  for (
    let o: object | null = obj;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (!/^on[A-Z_]/.test(key) || hooks.includes(key)) continue;
      if (typeof Object.getOwnPropertyDescriptor(o, key)?.value === 'function')
        throw unknownKey('hook', key, owner, hooks);
    }
  }
}

/**
 * `value` must be one of `choices`; a TypeError/RangeError naming the option otherwise, so that
 * an unsupported mode (`reduction: 'batchmean'`) is never silently treated as another.
 */
export function checkChoice<T extends string>(owner: string, name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string') {
    throw new TypeError(
      `${owner}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${quote(value)}`,
    );
  }
  if (!(choices as readonly string[]).includes(value)) {
    const hint = closest(value, choices);
    throw new RangeError(
      `${owner}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got '${value}'` +
        (hint !== null ? ` (did you mean '${hint}'?)` : ''),
    );
  }
  return value as T;
}
