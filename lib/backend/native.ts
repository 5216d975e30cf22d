import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Kernels, SimdPath } from './types.js';
import { KERNEL_NAMES, type KernelFunctions } from './kernel-table.js';

/** The package root: lib/backend or dist/backend sit two levels below it. */
export const packageRoot = path.join(__dirname, '..', '..');

export interface NativeLoad {
  kernels: Kernels | null;
  /** Where the binary was loaded from. */
  path: string | null;
  /** Why it did not load. */
  error: string | null;
  /**
   * The binary loaded but its initialisation threw: it refuses the configuration
   * (NODEGRAD_SIMD, NODEGRAD_THREADS), which the user must fix, rather than being absent.
   */
  refused: boolean;
}

interface NativeAddon extends Omit<Kernels, 'name' | 'simd' | 'supportedSimd' | 'setSimd'> {
  simd(): string;
  supportedSimd(): string[];
  setSimd(path: string): void;
}

/** Loads the addon through node-gyp-build (build/Release first, then prebuilds/). Never throws. */
export function loadNative(): NativeLoad {
  const req = createRequire(__filename);
  let file: string;
  try {
    const gypBuild = req('node-gyp-build') as { resolve(dir: string): string };
    file = gypBuild.resolve(packageRoot);
  } catch (err) {
    return { kernels: null, path: null, error: `no native binary was found (${firstLine(err)})`, refused: false };
  }
  try {
    const addon = req(file) as NativeAddon;
    // The kernels are the addon's own functions (one per table entry); the controls are mapped
    // by hand because simd() and its kin narrow strings to SimdPath.
    const missing = KERNEL_NAMES.filter((name) => typeof addon[name] !== 'function');
    if (missing.length > 0) throw new Error(`it has no ${missing.join(', ')} (a stale build?)`);
    const kernels: Kernels = {
      name: 'native',
      ...(Object.fromEntries(KERNEL_NAMES.map((name) => [name, addon[name]])) as KernelFunctions),
      getNumThreads: addon.getNumThreads,
      setNumThreads: addon.setNumThreads,
      simd: () => addon.simd() as SimdPath,
      supportedSimd: () => addon.supportedSimd() as SimdPath[],
      setSimd: addon.setSimd,
    };
    return { kernels, path: file, error: null, refused: false };
  } catch (err) {
    // Node's own failures (dlopen: wrong architecture, not a shared object) carry a code; what
    // the addon's constructor throws does not.
    if ((err as { code?: unknown } | null)?.code === undefined)
      return { kernels: null, path: file, error: firstLine(err), refused: true };
    return {
      kernels: null,
      path: file,
      error: `the native binary at ${file} did not load (${firstLine(err)})`,
      refused: false,
    };
  }
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}
