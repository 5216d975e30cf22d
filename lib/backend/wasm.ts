/**
 * The WebAssembly backend: the C++ kernels of native/kernels compiled to wasm/nodegrad.wasm
 * (scripts/build-wasm.sh), for platforms without a native binary. It loads synchronously from
 * the package's own file (no fetch, no download) and runs on one thread.
 *
 * Data path: tensors stay Float32Arrays on the JS side. A call is checked by the TS backend's
 * table-driven checks (check.ts: same order, same messages), then every array it uses is copied
 * into a scratch arena in the module's memory (one block from the module's malloc, grown when a
 * call needs more and otherwise reused, so a training step allocates nothing), the export runs,
 * and exactly the arrays the table's `writes` names are copied back. An output the call
 * overwrites whole without reading it (the table's `overwrites`: GEMM's C with beta 0, the
 * activations, gradients unless accumulated) is not copied in: 1.8 of the 12.9 MB the MLP step
 * would copy, and the convolution and pooling outputs and gradients take the anchor CNN's step
 * (batch 64) from 144 to 122 MB. An output that is its input (sameOrDisjoint: y may be x
 * itself) shares one copy, so in-place calls stay in place. Views of the memory are re-taken
 * whenever its buffer changed (memory.grow detaches them).
 *
 * A trap (an out-of-memory abort inside a kernel, a bug) becomes an Error naming the kernel,
 * and the instance is replaced by a fresh one, since a trapped instance's stack and heap are
 * left in an unknown state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as chk from './check.js';
import {
  KERNEL_NAMES,
  KERNELS,
  SIMD_PATHS,
  factors,
  overwriteTest,
  type KernelFunctions,
  type KernelName,
  type KernelSpec,
} from './kernel-table.js';
import type { Kernels, SimdPath } from './types.js';

/** The module's file, relative to the package root (lib/backend and dist/backend are two levels below it). */
export const wasmPath = path.join(__dirname, '..', '..', 'wasm', 'nodegrad.wasm');

/** Thrown by the loader for a NODEGRAD_SIMD this module refuses (index.ts makes it a BackendConfigError). */
export class WasmConfigError extends Error {}

type Fn = (...args: number[]) => number;
interface Exports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  malloc(bytes: number): number;
  free(ptr: number): void;
  ngw_simd(): number;
  ngw_supported_simd(): number;
  ngw_set_simd(i: number): number;
  [name: string]: unknown;
}

/** What the module's abort (proc_exit) raises inside a call: the kernel could not go on. */
class WasmAbort extends Error {}

// The only imports a standalone emscripten module has: growth notices (views are re-taken on
// every call anyway) and exit, which only abort() reaches (operator new out of memory).
const imports = {
  env: { emscripten_notify_memory_growth: () => {} },
  wasi_snapshot_preview1: {
    proc_exit: (code: number) => {
      throw new WasmAbort(`the module aborted (exit code ${code}, e.g. out of memory)`);
    },
  },
};

/** Bytes between two arrays in the arena: 64, a cache line, so each copy starts aligned. */
const ALIGN = 64;

/** One parameter, as the copying needs it. */
interface ParamPlan {
  kind: 'bool' | 'size' | 'number' | 'int' | 'f32' | 'f32?' | 'i32';
  /** Arrays: the indices of the sizes their count multiplies. */
  counts: number[] | null;
  /** Written by the kernel: copied back after the call. */
  writes: boolean;
  /** Overwritten whole, unread, when this holds for the call's arguments: not copied in. */
  overwritten: ((args: readonly unknown[]) => boolean) | null;
}

/**
 * Loads the module and returns its kernels. Throws when the file is missing or does not
 * compile here (the registry then falls back to TS), or WasmConfigError when NODEGRAD_SIMD names
 * a path this module cannot run.
 */
export function loadWasm(file: string = wasmPath): Kernels {
  if (!fs.existsSync(file)) throw new Error(`no WebAssembly module at ${file}`);
  const module = new WebAssembly.Module(fs.readFileSync(file));
  const simdEnv = process.env.NODEGRAD_SIMD ?? '';

  let ex = instantiate(module);
  const supported = (): SimdPath[] => {
    const mask = ex.ngw_supported_simd();
    return SIMD_PATHS.filter((_, i) => (mask >> i) & 1);
  };
  const missing = KERNEL_NAMES.filter((name) => typeof ex[`ngw_${name}`] !== 'function');
  if (missing.length > 0) throw new Error(`the WebAssembly module has no ${missing.join(', ')} (a stale build?)`);
  let simd = SIMD_PATHS[ex.ngw_simd()];
  if (simdEnv !== '') {
    const i = SIMD_PATHS.indexOf(simdEnv as SimdPath);
    if (i < 0) throw new WasmConfigError(`NODEGRAD_SIMD='${simdEnv}' is not a SIMD path (expected ${listOf('')})`);
    if (!ex.ngw_set_simd(i)) {
      throw new WasmConfigError(
        `NODEGRAD_SIMD='${simdEnv}' cannot run in the WebAssembly module (supported: ${supported().join(', ')})`,
      );
    }
    simd = simdEnv as SimdPath;
  }

  // The arena: [arena, arena + arenaBytes) from the module's malloc.
  let arena = 0,
    arenaBytes = 0;
  let f32 = new Float32Array(ex.memory.buffer);
  let i32 = new Int32Array(ex.memory.buffer);
  const views = () => {
    if (f32.buffer !== ex.memory.buffer) {
      f32 = new Float32Array(ex.memory.buffer);
      i32 = new Int32Array(ex.memory.buffer);
    }
  };
  const reserve = (fn: string, bytes: number): number => {
    if (bytes <= arenaBytes) return arena;
    if (arena !== 0) ex.free(arena);
    arena = 0;
    arenaBytes = 0;
    // Room to grow by half again, so a slowly growing batch does not reallocate every call.
    for (const size of [bytes + (bytes >> 1), bytes]) {
      const p = size < 2 ** 32 ? ex.malloc(size) >>> 0 : 0;
      if (p !== 0) {
        arena = p;
        arenaBytes = size;
        return p;
      }
    }
    throw new RangeError(`${fn}: out of WebAssembly memory (the call needs ${mb(bytes)} MB; wasm32 has at most 4096)`);
  };
  // After a trap the instance is unusable: start a fresh one (its arena is empty, its path reset).
  const restart = () => {
    ex = instantiate(module);
    ex.ngw_set_simd(SIMD_PATHS.indexOf(simd));
    arena = 0;
    arenaBytes = 0;
    views();
  };

  const kernel = (name: KernelName): ((...args: unknown[]) => unknown) => {
    const spec: KernelSpec = KERNELS[name];
    const writes = new Set<string>(spec.writes);
    const at = (n: string) => spec.params.findIndex((p) => p.name === n);
    const plan: ParamPlan[] = spec.params.map((p) => {
      const rule = writes.has(p.name) ? spec.overwrites?.[p.name] : undefined;
      return {
        kind: p.kind,
        counts: 'count' in p ? factors(p.count).map(at) : null,
        writes: writes.has(p.name),
        overwritten: rule !== undefined ? overwriteTest(rule, at) : null,
      };
    });
    const exportName = `ngw_${name}`;
    const np = plan.length;
    // Scratch per call: each array's element count, its byte address, the array it shares.
    const used = new Float64Array(np);
    const addr = new Float64Array(np);
    const owner = new Int32Array(np);
    const wargs: number[] = new Array(np).fill(0);

    return (...args: unknown[]) => {
      let bytes = 0;
      for (let i = 0; i < np; i++) {
        const p = plan[i];
        owner[i] = -1;
        if (p.counts === null || args[i] === null) continue;
        const v = args[i] as Float32Array | Int32Array;
        let n = 1;
        for (const j of p.counts) n *= args[j] as number;
        used[i] = n;
        // The same first element as an earlier array of the same kind: one copy serves both
        // (the checks allow that only where the kernel computes in place).
        for (let j = 0; j < i; j++) {
          if (
            (plan[j].kind === 'i32') === (p.kind === 'i32') &&
            owner[j] === -1 &&
            args[j] !== null &&
            plan[j].counts !== null &&
            used[j] === n &&
            chk.bufferOf(args[j] as Float32Array) === chk.bufferOf(v) &&
            chk.byteOffsetOf(args[j] as Float32Array) === chk.byteOffsetOf(v)
          ) {
            owner[i] = j;
            break;
          }
        }
        if (owner[i] !== -1) continue;
        addr[i] = bytes;
        bytes += Math.ceil((n * 4) / ALIGN) * ALIGN;
      }
      const base = reserve(name, bytes);
      views();
      for (let i = 0; i < np; i++) {
        const p = plan[i];
        if (p.counts === null) {
          wargs[i] = p.kind === 'bool' ? (args[i] ? 1 : 0) : (args[i] as number);
          continue;
        }
        if (args[i] === null) {
          wargs[i] = 0;
          continue;
        }
        if (owner[i] !== -1) {
          wargs[i] = wargs[owner[i]];
          continue;
        }
        const a = base + addr[i];
        wargs[i] = a;
        // Nothing to copy (and the array may be detached, its length 0: the checks allow that).
        if (used[i] === 0) continue;
        if (p.overwritten?.(args) && !shared(owner, i)) continue;
        const v = args[i] as Float32Array | Int32Array;
        if (p.kind === 'i32') i32.set(prefix(v as Int32Array, used[i], Int32Array), a / 4);
        else f32.set(prefix(v as Float32Array, used[i], Float32Array), a / 4);
      }
      let result: number;
      try {
        result = (ex[exportName] as Fn)(...wargs);
      } catch (err) {
        if (!(err instanceof WasmAbort || err instanceof WebAssembly.RuntimeError || err instanceof RangeError))
          throw err;
        restart();
        throw new Error(`${name}: the WebAssembly kernel failed: ${(err as Error).message}`);
      }
      views(); // the kernel's own allocations (GEMM packing) may have grown the memory
      for (let i = 0; i < np; i++) {
        if (!plan[i].writes || args[i] === null || used[i] === 0) continue;
        const a = wargs[i] / 4;
        Float32Array.prototype.set.call(args[i] as Float32Array, f32.subarray(a, a + used[i]));
      }
      return result;
    };
  };

  const kernels = Object.fromEntries(
    KERNEL_NAMES.map((name) => [name, chk.checked(name, kernel(name) as (...args: never[]) => unknown)]),
  ) as unknown as KernelFunctions;

  return {
    name: 'wasm',
    ...kernels,
    // One thread: a standalone module has no threads; setNumThreads accepts what the addon
    // accepts and keeps 1 (info() reports 1).
    getNumThreads(): number {
      chk.count('getNumThreads', arguments.length, 0);
      return 1;
    },
    setNumThreads(n: number): void {
      chk.count('setNumThreads', arguments.length, 1);
      chk.integer('setNumThreads', 'threads', n, 1, 256);
    },
    simd(): SimdPath {
      chk.count('simd', arguments.length, 0);
      return simd;
    },
    supportedSimd(): SimdPath[] {
      chk.count('supportedSimd', arguments.length, 0);
      return supported();
    },
    setSimd(p: SimdPath): void {
      chk.count('setSimd', arguments.length, 1);
      if (typeof p !== 'string') chk.typeErr('setSimd', `path must be a string, got ${chk.describe(p)}`);
      const i = SIMD_PATHS.indexOf(p);
      if (i < 0) chk.rangeErr('setSimd', `path must be ${listOf("'")}, got '${p}'`);
      if (!ex.ngw_set_simd(i)) {
        chk.rangeErr(
          'setSimd',
          `path '${p}' cannot run in the WebAssembly module (supported: ${supported().join(', ')})`,
        );
      }
      simd = p;
    },
  };
}

/** Whether a later array shares array i's copy (then the kernel reads it as that input). */
function shared(owner: Int32Array, i: number): boolean {
  for (let j = i + 1; j < owner.length; j++) if (owner[j] === i) return true;
  return false;
}

function instantiate(module: WebAssembly.Module): Exports {
  const ex = new WebAssembly.Instance(module, imports).exports as unknown as Exports;
  ex._initialize?.(); // the C++ globals' constructors (the SIMD choice, the pool)
  return ex;
}

/** The first n elements of v, as a view built from its internal slots (never a subclass's methods). */
function prefix<T extends Float32Array | Int32Array>(
  v: T,
  n: number,
  C: new (b: ArrayBufferLike, offset: number, length: number) => T,
): T {
  return n === chk.lengthOf(v) ? v : new C(chk.bufferOf(v), chk.byteOffsetOf(v), n);
}

/** 'scalar, avx2, avx512, neon or simd128', quoted with q, as the addon's messages list them. */
function listOf(q: string): string {
  const all = SIMD_PATHS.map((s) => `${q}${s}${q}`);
  return `${all.slice(0, -1).join(', ')} or ${all[all.length - 1]}`;
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
