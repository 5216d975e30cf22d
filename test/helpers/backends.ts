// The backends the tests run on: every one that loads here, so that a backend added to the
// registry (native, wasm, ...) is tested by every test that iterates these lists, without
// editing them.
import { backends } from '../../lib/backend/index.js';
import type { BackendName, Kernels, SimdPath } from '../../lib/backend/types.js';

const loaded = backends();

/** Every backend that loads, 'ts' (the specification) first, then by priority. */
export const available: BackendName[] = ['ts', ...(Object.keys(loaded) as BackendName[]).filter((n) => n !== 'ts')];

/** The backends that run compiled kernels (every one but ts), with their kernels. */
export const compiled: [BackendName, Kernels][] = available
  .filter((n) => n !== 'ts')
  .map((n) => [n, loaded[n] as Kernels]);

/** Every backend with its kernels, ts first. */
export const all: [BackendName, Kernels][] = available.map((n) => [n, loaded[n] as Kernels]);

/** One SIMD path of one backend, switched to for the duration of a test. */
export interface SimdTarget {
  /** 'ts', or '<backend>-<path>' ('native-avx2', 'wasm-simd128'). */
  label: string;
  kernels: Kernels;
  simd: SimdPath | null;
  setup: () => void;
  teardown: () => void;
}

/** ts, and every SIMD path of every compiled backend (scalar among them). */
export function simdTargets(): SimdTarget[] {
  const out: SimdTarget[] = [{ label: 'ts', kernels: loaded.ts, simd: null, setup: () => {}, teardown: () => {} }];
  for (const [name, k] of compiled) {
    for (const path of k.supportedSimd!()) {
      let prev: SimdPath | null = null;
      out.push({
        label: `${name}-${path}`,
        kernels: k,
        simd: path,
        setup: () => {
          prev = k.simd();
          k.setSimd!(path);
        },
        teardown: () => {
          if (prev !== null) k.setSimd!(prev);
        },
      });
    }
  }
  return out;
}
