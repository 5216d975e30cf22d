/**
 * The kernel interface: one set of kernels, implemented twice (the native addon and pure
 * TypeScript). Row-major float32 throughout; labels are Int32Array.
 *
 * Each kernel is declared once, in kernel-table.ts; see there for its parameters.
 *
 * Conventions shared by both backends:
 * - Sizes are non-negative integers. A buffer must hold at least the elements its sizes say
 *   (pass `subarray` views to work on part of a larger buffer).
 * - Outputs may alias inputs only where a kernel says so.
 * - The native backend checks every argument and throws TypeError (wrong count or type) or
 *   RangeError (a size, length or label out of range) naming the parameter. The TS backend
 *   performs the same checks, so both fail the same way.
 */

import type { KernelFunctions, SIMD_PATHS } from './kernel-table.js';

/**
 * The backends nodegrad knows, highest priority first: 'native' (the C++ SIMD addon), 'wasm'
 * (the same kernels compiled to WebAssembly, one thread) and 'ts' (pure TypeScript, the
 * reference that loads everywhere). Every list of backends (CLI choices, bench rows) is this one.
 */
export const BACKEND_NAMES = ['native', 'wasm', 'ts'] as const;
/** One of BACKEND_NAMES: 'native', 'wasm' or 'ts'. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/**
 * The instruction set the native kernels use: 'scalar', 'avx2' (AVX2 + FMA), 'avx512' (the avx2
 * kernels plus AVX-512F GEMM tiles, on CPUs that have AVX-512F) or 'neon' (arm64).
 */
export type SimdPath = (typeof SIMD_PATHS)[number];

/**
 * The kernels (one method per entry of kernel-table.ts, with its doc comment and its argument
 * types mapped from the declared parameters) plus each backend's controls.
 */
export interface Kernels extends KernelFunctions {
  /** Which backend these kernels belong to. */
  readonly name: BackendName;

  /** Threads the kernels use (always 1 for the TS backend). */
  getNumThreads(): number;
  /** Sets the thread count (an integer >= 1); the TS backend accepts and ignores it. */
  setNumThreads(n: number): void;
  /** The SIMD path in use: null for the TS backend. */
  simd(): SimdPath | null;
  /** Native only: the SIMD paths this CPU and binary can run (scalar always among them). */
  supportedSimd?(): SimdPath[];
  /** Native only: switches the SIMD path (tests use it); RangeError when unsupported. */
  setSimd?(path: SimdPath): void;
}
