/**
 * The backend registry: each backend registers a loader and a priority; nothing loads until the
 * first use (kernels(), backend(), info(), setNumThreads(), ...), which picks the highest
 * priority that loads, unless NODEGRAD_BACKEND (read then) or setBackend() names one. Importing
 * the package therefore loads no binary and prints nothing; a fallback below the
 * highest-priority backend is announced once, by a process warning, at the use that made it.
 */
import type { BackendName, Kernels, SimdPath } from './types.js';
import { tsKernels } from './ts.js';
import { loadNative, packageRoot, type NativeLoad } from './native.js';
import { loadWasm, WasmConfigError } from './wasm.js';
import { checkOptions, optionKeys } from '../options.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type { BackendName, Kernels, SimdPath } from './types.js';
export { BACKEND_NAMES } from './types.js';

/**
 * Thrown by a loader whose backend is present but refuses the user's configuration (the addon
 * given NODEGRAD_THREADS=abc): the user has something to fix, so the registry raises it at
 * first use instead of quietly falling back to a slower backend. Any other error from a loader
 * means "not available here" and the next priority is tried.
 */
export class BackendConfigError extends Error {
  /** Always 'BackendConfigError', so logs and instanceof-free checks can tell it apart. */
  override name = 'BackendConfigError';
}

/** The largest thread pool the backends accept (the addon's kMaxThreads, and ts.ts's check). */
export const MAX_THREADS = 256;

type LoadState = { kernels: Kernels; error: null } | { kernels: null; error: Error };

interface Entry {
  name: BackendName;
  load: () => Kernels;
  priority: number;
  /** Set by the first attempt: a loader runs at most once per process. */
  state: LoadState | null;
}

/**
 * What the automatic backend choice fell back from and why (chooseBackend() returns it; the one-time warning says it).
 */
export interface Fallback {
  /** The highest-priority backend, which did not load. */
  from: BackendName;
  /** The backend chosen instead. */
  to: BackendName;
  /** Why `from` did not load. */
  reason: string;
}

/** The registered backends, highest priority first. */
const registry: Entry[] = [];
let active: Kernels | null = null;
/** The fallback the automatic choice made (null: none, or the choice was explicit). */
let fallback: Fallback | null = null;
let warned = false;
/** The last setNumThreads value, applied to backends that load after it. */
let threads: number | null = null;

/**
 * Registers a backend. `load` returns its kernels or throws saying why they are unavailable
 * (throw BackendConfigError for a configuration the user must fix); it runs at most once, at the
 * first use that needs it. Higher priority wins the automatic choice.
 */
export function registerBackend(name: BackendName, load: () => Kernels, priority: number): void {
  if (!Number.isFinite(priority))
    throw new RangeError(`registerBackend: priority must be a finite number, got ${priority}`);
  if (registry.some((e) => e.name === name))
    throw new Error(`registerBackend: a backend named '${name}' is already registered`);
  registry.push({ name, load, priority, state: null });
  registry.sort((a, b) => b.priority - a.priority);
}

// The native addon wins where it loads; the WebAssembly module (the same kernels, one thread)
// where it does not; pure TypeScript everywhere else.
let nativeLoad: NativeLoad | null = null;
registerBackend(
  'native',
  () => {
    nativeLoad = loadNative();
    if (nativeLoad.kernels) return nativeLoad.kernels;
    if (nativeLoad.refused) throw new BackendConfigError(`nodegrad: ${nativeLoad.error}`);
    throw new Error(nativeLoad.error ?? 'the native backend did not load');
  },
  100,
);
registerBackend(
  'wasm',
  () => {
    try {
      return loadWasm();
    } catch (err) {
      if (err instanceof WasmConfigError) throw new BackendConfigError(`nodegrad: ${err.message}`);
      throw err;
    }
  },
  50,
);
registerBackend('ts', () => tsKernels, 0);

function entry(name: BackendName): Entry | undefined {
  return registry.find((e) => e.name === name);
}

function attempt(e: Entry): LoadState {
  if (e.state === null) {
    try {
      const k = e.load();
      if (threads !== null) k.setNumThreads(threads);
      e.state = { kernels: k, error: null };
    } catch (err) {
      e.state = { kernels: null, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
  return e.state;
}

function names(): string {
  return registry.map((e) => `'${e.name}'`).join(', ');
}

/**
 * The kernels of the backend named by setBackend (via 'backend') or by NODEGRAD_BACKEND, or an
 * error saying why they cannot be had; the variable's errors are configuration errors.
 */
function loaded(name: BackendName, via: 'backend' | 'NODEGRAD_BACKEND'): Kernels {
  const e = entry(name);
  if (e === undefined) throw new RangeError(`${via} must be one of ${names()}, got '${String(name)}'`);
  const s = attempt(e);
  if (s.kernels) return s.kernels;
  if (s.error instanceof BackendConfigError) throw s.error;
  if (via === 'backend') throw new Error(`nodegrad: the ${name} backend is unavailable: ${s.error.message}`);
  throw new BackendConfigError(
    `nodegrad: NODEGRAD_BACKEND=${name}, but the ${name} backend is unavailable: ${s.error.message}`,
  );
}

/** NODEGRAD_BACKEND, checked; undefined when unset or empty. */
function envChoice(): BackendName | undefined {
  const forced = process.env.NODEGRAD_BACKEND;
  if (forced === undefined || forced === '') return undefined;
  if (!entry(forced as BackendName)) {
    throw new BackendConfigError(`nodegrad: NODEGRAD_BACKEND must be one of ${names()}, got '${forced}'`);
  }
  return forced as BackendName;
}

function chooseAutomatically(): Kernels {
  for (const e of registry) {
    const s = attempt(e);
    if (s.error instanceof BackendConfigError) throw s.error;
    if (s.kernels === null) continue;
    const top = registry[0];
    if (e !== top) fallback = { from: top.name, to: e.name, reason: (top.state as { error: Error }).error.message };
    return s.kernels;
  }
  throw new Error(
    `nodegrad: no backend loaded (${registry.map((e) => `${e.name}: ${e.state?.error?.message}`).join('; ')})`,
  );
}

export const CHOOSE_KEYS = optionKeys<Parameters<typeof chooseBackend>[0]>()('warn');

/**
 * Makes the first-use choice now if none is made yet, and returns the fallback it made (null
 * when the highest-priority backend loaded or a backend was named). `warn: false` leaves saying
 * so to the caller: the CLI prints it in its own words instead of a Node warning.
 */
export function chooseBackend(options: { warn?: boolean } = {}): Fallback | null {
  checkOptions('chooseBackend', options, CHOOSE_KEYS);
  if (active === null) {
    const forced = envChoice();
    active = forced !== undefined ? loaded(forced, 'NODEGRAD_BACKEND') : chooseAutomatically();
    if (fallback !== null && options.warn !== false && !warned) {
      warned = true;
      const slower =
        fallback.to === 'ts'
          ? 'the pure-TypeScript backend (same results, slower)'
          : `the ${fallback.to === 'wasm' ? 'WebAssembly' : fallback.to} backend (one thread, slower than native)`;
      process.emitWarning(`${fallback.reason}; using ${slower}`, {
        code: `NODEGRAD_NO_${fallback.from.toUpperCase()}`,
      });
    }
  }
  return fallback;
}

function current(): Kernels {
  chooseBackend();
  return active!;
}

/** The backends that load, by name; `ts`, the specification, loads everywhere. */
export type AvailableBackends = Readonly<{ ts: Kernels } & Partial<Record<BackendName, Kernels>>>;

/**
 * Every registered backend that loads, highest priority first; loads them all (tests and
 * benchmarks iterate it to run against each). Makes no choice.
 */
export function backends(): AvailableBackends {
  const out: Partial<Record<BackendName, Kernels>> = {};
  for (const e of registry) {
    const k = attempt(e).kernels;
    if (k) out[e.name] = k;
  }
  return out as AvailableBackends;
}

/** The kernels every op runs on. */
export function kernels(): Kernels {
  return current();
}

/** The active backend's name. */
export function backend(): BackendName {
  return current().name;
}

/**
 * Switches the active backend; throws when it does not load, saying why. An invalid
 * NODEGRAD_BACKEND is still an error, although the name given here overrides it.
 */
export function setBackend(name: BackendName): void {
  if (active === null) envChoice();
  active = loaded(name, 'backend');
}

/**
 * Sets the native thread pool's size (an integer from 1 to 256), now and for backends loaded
 * later. The active backend checks n first, so a bad value reaches no other backend.
 */
export function setNumThreads(n: number): void {
  current().setNumThreads(n);
  for (const e of registry) e.state?.kernels?.setNumThreads(n);
  threads = n;
}

/** Runs fn with the given backend active, restoring the previous one (or none yet) afterwards. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const prev = active;
  setBackend(name);
  try {
    return fn();
  } finally {
    active = prev;
  }
}

/** One registered backend as info() reports it. */
export interface BackendState {
  /** The backend's name. */
  name: BackendName;
  /** Its priority; the highest one that loads is chosen automatically. */
  priority: number;
  /** chosen: the active backend; available: it loads; unavailable: see error. */
  state: 'chosen' | 'available' | 'unavailable';
  /** Why it did not load. */
  error?: string;
}

/**
 * What info() (and `nodegrad info`) reports: the active backend, its SIMD path and threads, and every backend's state.
 */
export interface Info {
  /** The active backend. */
  backend: BackendName;
  /** The SIMD path the native kernels use, or null for the TS backend. */
  simd: SimdPath | null;
  /** Threads the kernels use (set with setNumThreads or NODEGRAD_THREADS; 1 for the TS backend). */
  threads: number;
  /** nodegrad's version (package.json). */
  version: string;
  /** Where the native binary was loaded from (null when it did not load). */
  nativePath: string | null;
  /** Why the native backend did not load. */
  nativeError?: string;
  /** Every registered backend, highest priority first. */
  backends: BackendState[];
}

/** The active backend and its settings, and the state of every registered backend (loads them all). */
export function info(): Info {
  const k = current();
  const list: BackendState[] = registry.map((e) => {
    const s = attempt(e);
    if (s.kernels) return { name: e.name, priority: e.priority, state: s.kernels === k ? 'chosen' : 'available' };
    return {
      name: e.name,
      priority: e.priority,
      state: 'unavailable',
      error: s.error.message.replace(/^nodegrad: /, ''),
    };
  });
  const out: Info = {
    backend: k.name,
    simd: k.simd(),
    threads: k.getNumThreads(),
    version: packageVersion(),
    nativePath: nativeLoad?.path ?? null,
    backends: list,
  };
  const nativeError = list.find((b) => b.name === 'native')?.error;
  if (nativeError !== undefined) out.nativeError = nativeError;
  return out;
}

let version: string | undefined;
/** nodegrad's version, from its package.json. */
export function packageVersion(): string {
  version ??= (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
  return version;
}
