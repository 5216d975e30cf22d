import type { BackendName, Kernels, SimdPath } from './types.js';
import { tsKernels } from './ts.js';
import { loadNative, packageRoot } from './native.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type { BackendName, Kernels, SimdPath } from './types.js';

const nativeLoad = loadNative();

/** The kernel objects that are available: `native` is absent when the addon did not load. */
export const backends: { readonly ts: Kernels; readonly native?: Kernels } = nativeLoad.kernels
  ? { ts: tsKernels, native: nativeLoad.kernels }
  : { ts: tsKernels };

let active: Kernels = chooseInitial();

function chooseInitial(): Kernels {
  const forced = process.env.NODEGRAD_BACKEND;
  if (forced !== undefined && forced !== '') {
    if (forced === 'ts') return tsKernels;
    if (forced === 'native') {
      if (!nativeLoad.kernels) {
        throw new Error(`nodegrad: NODEGRAD_BACKEND=native, but the native backend is unavailable: ${nativeLoad.error}`);
      }
      return nativeLoad.kernels;
    }
    throw new Error(`nodegrad: NODEGRAD_BACKEND must be 'native' or 'ts', got '${forced}'`);
  }
  if (nativeLoad.kernels) return nativeLoad.kernels;
  process.emitWarning(`${nativeLoad.error}; using the pure-TypeScript backend (same results, slower)`, {
    code: 'NODEGRAD_NO_NATIVE',
  });
  return tsKernels;
}

/** The kernels every op runs on. */
export function kernels(): Kernels {
  return active;
}

/** The active backend's name. */
export function backend(): BackendName {
  return active.name;
}

/** Switches the active backend; 'native' throws when the addon did not load, saying why. */
export function setBackend(name: BackendName): void {
  if (name === 'ts') {
    active = tsKernels;
  } else if (name === 'native') {
    if (!nativeLoad.kernels) throw new Error(`nodegrad: the native backend is unavailable: ${nativeLoad.error}`);
    active = nativeLoad.kernels;
  } else {
    throw new RangeError(`backend must be 'native' or 'ts', got '${String(name)}'`);
  }
}

/** Sets the native thread pool's size (an integer >= 1). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`threads must be an integer >= 1, got ${n}`);
  nativeLoad.kernels?.setNumThreads(n);
}

/** Runs fn with the given backend active, restoring the previous one afterwards. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const prev = active;
  setBackend(name);
  try {
    return fn();
  } finally {
    active = prev;
  }
}

export interface Info {
  backend: BackendName;
  simd: SimdPath | null;
  threads: number;
  version: string;
  /** Where the native binary was loaded from (null when it did not load). */
  nativePath: string | null;
  /** Why the native backend did not load. */
  nativeError?: string;
}

export function info(): Info {
  const out: Info = {
    backend: active.name,
    simd: active.simd(),
    threads: active.getNumThreads(),
    version: packageVersion(),
    nativePath: nativeLoad.path,
  };
  if (nativeLoad.error !== null) out.nativeError = nativeLoad.error;
  return out;
}

let version: string | undefined;
/** nodegrad's version, from its package.json. */
export function packageVersion(): string {
  version ??= (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
