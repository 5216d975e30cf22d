// The backend registry (lib/backend/index.ts): lazy choice by priority, overrides, the one-time
// fallback warning, info()'s list, and configuration errors that must not become fallbacks.
// Each test imports a fresh copy of the registry with the native and wasm loaders replaced, so
// every outcome of loading them (loads, no binary, refuses the configuration) is exercised here
// whatever this machine has built.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import type { NativeLoad } from '../lib/backend/native.js';
import { tsKernels } from '../lib/backend/ts.js';
import type { Kernels } from '../lib/backend/types.js';

type Registry = typeof import('../lib/backend/index.js');

const fakeNative: Kernels = { ...tsKernels, name: 'native' };
const fakeWasm: Kernels = { ...tsKernels, name: 'wasm' };

const LOADS: NativeLoad = {
  kernels: fakeNative,
  path: '/pkg/build/Release/nodegrad.node',
  error: null,
  refused: false,
};
const MISSING: NativeLoad = {
  kernels: null,
  path: null,
  error: 'no native binary was found (none here)',
  refused: false,
};
const REFUSES: NativeLoad = {
  kernels: null,
  path: '/pkg/build/Release/nodegrad.node',
  error: "NODEGRAD_THREADS='abc' must be an integer from 1 to 256",
  refused: true,
};

/** The wasm loader's outcomes: its kernels, or what it throws. */
const WASM_MISSING = () => {
  throw new Error('no WebAssembly module at /pkg/wasm/nodegrad.wasm');
};
const WASM_LOADS = () => fakeWasm;

let loadNative: ReturnType<typeof vi.fn<() => NativeLoad>>;
let loadWasm: ReturnType<typeof vi.fn<() => Kernels>>;
let emitWarning: ReturnType<typeof vi.spyOn>;
const savedBackendEnv = process.env.NODEGRAD_BACKEND;

/** A fresh registry whose native loader returns `native` and whose wasm loader runs `wasm`. */
async function fresh(native: NativeLoad, wasm: () => Kernels = WASM_MISSING): Promise<Registry> {
  loadNative = vi.fn(() => native);
  loadWasm = vi.fn(wasm);
  vi.resetModules();
  vi.doMock('../lib/backend/native.js', async (importOriginal) => ({
    ...(await importOriginal<typeof import('../lib/backend/native.js')>()),
    loadNative,
  }));
  vi.doMock('../lib/backend/wasm.js', async (importOriginal) => ({
    ...(await importOriginal<typeof import('../lib/backend/wasm.js')>()),
    loadWasm,
  }));
  return import('../lib/backend/index.js');
}

beforeEach(() => {
  delete process.env.NODEGRAD_BACKEND;
  emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
});
afterEach(() => {
  vi.doUnmock('../lib/backend/native.js');
  vi.doUnmock('../lib/backend/wasm.js');
  vi.restoreAllMocks();
  if (savedBackendEnv === undefined) delete process.env.NODEGRAD_BACKEND;
  else process.env.NODEGRAD_BACKEND = savedBackendEnv;
});

describe('the choice is lazy', () => {
  it('importing the registry loads no backend and emits nothing', async () => {
    await fresh(MISSING);
    expect(loadNative).not.toHaveBeenCalled();
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('the first use picks the highest priority that loads, and loads it once', async () => {
    const r = await fresh(LOADS);
    expect(r.backend()).toBe('native');
    expect(r.kernels()).toBe(fakeNative);
    expect(loadNative).toHaveBeenCalledTimes(1);
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('NODEGRAD_BACKEND is read at the first use, not at import', async () => {
    const r = await fresh(LOADS);
    process.env.NODEGRAD_BACKEND = 'ts';
    expect(r.backend()).toBe('ts');
    expect(loadNative).not.toHaveBeenCalled();
  });

  it('setBackend overrides the choice without loading the others', async () => {
    const r = await fresh(LOADS);
    r.setBackend('ts');
    expect(r.backend()).toBe('ts');
    expect(loadNative).not.toHaveBeenCalled();
  });

  it('withBackend restores the state before it, even when no choice was made yet', async () => {
    const r = await fresh(LOADS);
    expect(r.withBackend('ts', () => r.backend())).toBe('ts');
    expect(loadNative).not.toHaveBeenCalled();
    expect(r.backend()).toBe('native');
  });

  it('setNumThreads is a first use, and reaches a backend loaded after it', async () => {
    const r = await fresh(LOADS);
    const set = vi.spyOn(fakeNative, 'setNumThreads');
    process.env.NODEGRAD_BACKEND = 'ts';
    r.setNumThreads(3);
    expect(loadNative).not.toHaveBeenCalled();
    r.setBackend('native');
    expect(set).toHaveBeenCalledWith(3);
  });

  it('setNumThreads refuses a bad count before it reaches any backend', async () => {
    const r = await fresh(LOADS);
    const set = vi.spyOn(fakeNative, 'setNumThreads');
    process.env.NODEGRAD_BACKEND = 'ts';
    expect(() => r.setNumThreads(1000)).toThrow(/threads must be an integer from 1 to 256, got 1000/);
    r.setBackend('native');
    expect(set).not.toHaveBeenCalled();
  });
});

describe('falling back', () => {
  it('warns once, with the reason, at the first use that falls back', async () => {
    const r = await fresh(MISSING);
    expect(emitWarning).not.toHaveBeenCalled();
    expect(r.backend()).toBe('ts');
    r.kernels();
    r.info();
    expect(emitWarning).toHaveBeenCalledTimes(1);
    expect(emitWarning).toHaveBeenCalledWith(
      'no native binary was found (none here); using the pure-TypeScript backend (same results, slower)',
      { code: 'NODEGRAD_NO_NATIVE' },
    );
  });

  it('chooseBackend({ warn: false }) returns the fallback and leaves saying it to the caller', async () => {
    const r = await fresh(MISSING);
    expect(r.chooseBackend({ warn: false })).toEqual({
      from: 'native',
      to: 'ts',
      reason: 'no native binary was found (none here)',
    });
    r.kernels();
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('a backend named by NODEGRAD_BACKEND or setBackend is no fallback and is not warned about', async () => {
    const r = await fresh(MISSING);
    process.env.NODEGRAD_BACKEND = 'ts';
    expect(r.chooseBackend()).toBeNull();
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('the wasm backend serves before ts where native does not load, and says so once', async () => {
    const r = await fresh(MISSING, WASM_LOADS);
    expect(r.backend()).toBe('wasm');
    r.kernels();
    expect(emitWarning).toHaveBeenCalledTimes(1);
    expect(emitWarning).toHaveBeenCalledWith(
      'no native binary was found (none here); using the WebAssembly backend (one thread, slower than native)',
      { code: 'NODEGRAD_NO_NATIVE' },
    );
  });

  it('naming an unavailable backend throws why it is unavailable', async () => {
    const r = await fresh(MISSING);
    expect(() => r.setBackend('native')).toThrow(
      'nodegrad: the native backend is unavailable: no native binary was found (none here)',
    );
    process.env.NODEGRAD_BACKEND = 'native';
    expect(() => r.kernels()).toThrow(r.BackendConfigError);
    expect(() => r.kernels()).toThrow(
      /NODEGRAD_BACKEND=native, but the native backend is unavailable: no native binary/,
    );
  });
});

describe('configuration errors are errors, not fallbacks', () => {
  it('a native binary that refuses NODEGRAD_THREADS fails the first use naming the variable', async () => {
    const r = await fresh(REFUSES);
    expect(() => r.kernels()).toThrow(
      new r.BackendConfigError("nodegrad: NODEGRAD_THREADS='abc' must be an integer from 1 to 256"),
    );
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('an unknown NODEGRAD_BACKEND fails the first use, and setBackend as well', async () => {
    const r = await fresh(LOADS);
    process.env.NODEGRAD_BACKEND = 'bogus';
    expect(() => r.setBackend('ts')).toThrow(
      new r.BackendConfigError("nodegrad: NODEGRAD_BACKEND must be one of 'native', 'wasm', 'ts', got 'bogus'"),
    );
    expect(() => r.backend()).toThrow(r.BackendConfigError);
  });

  it('a wasm module that refuses NODEGRAD_SIMD fails the first use where native does not load', async () => {
    const message = "NODEGRAD_SIMD='avx2' cannot run in the WebAssembly module (supported: scalar, simd128)";
    // The registry's copy of the class: the one the fresh module graph imports.
    let Refusal: typeof import('../lib/backend/wasm.js').WasmConfigError = Error;
    const r = await fresh(MISSING, () => {
      throw new Refusal(message);
    });
    Refusal = (await import('../lib/backend/wasm.js')).WasmConfigError;
    expect(() => r.kernels()).toThrow(new r.BackendConfigError(`nodegrad: ${message}`));
    expect(() => r.kernels()).toThrow(r.BackendConfigError);
    expect(emitWarning).not.toHaveBeenCalled();
  });

  it('another backend named explicitly still runs, and info() shows why native is unavailable', async () => {
    const r = await fresh(REFUSES);
    r.setBackend('ts');
    const i = r.info();
    expect(i.backend).toBe('ts');
    expect(i.nativeError).toBe("NODEGRAD_THREADS='abc' must be an integer from 1 to 256");
    expect(Object.keys(r.backends())).toEqual(['ts']);
  });
});

describe('info() and backends()', () => {
  it('info() lists every registered backend, highest priority first, with its state', async () => {
    const r = await fresh(MISSING, () => {
      throw new Error('no WebAssembly here');
    });
    const i = r.info();
    expect(i.backends).toEqual([
      { name: 'native', priority: 100, state: 'unavailable', error: 'no native binary was found (none here)' },
      { name: 'wasm', priority: 50, state: 'unavailable', error: 'no WebAssembly here' },
      { name: 'ts', priority: 0, state: 'chosen' },
    ]);
    expect(i).toMatchObject({
      backend: 'ts',
      simd: null,
      threads: 1,
      nativePath: null,
      nativeError: 'no native binary was found (none here)',
    });
    expect(i.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('info() marks a loaded backend that is not the active one as available', async () => {
    const r = await fresh(LOADS);
    r.setBackend('ts');
    expect(r.info().backends.map((b) => `${b.name}:${b.state}`)).toEqual([
      'native:available',
      'wasm:unavailable',
      'ts:chosen',
    ]);
    expect(r.info().nativePath).toBe(LOADS.path);
  });

  it('backends() gives every backend that loads, by name, without choosing one', async () => {
    const r = await fresh(LOADS);
    const all = r.backends();
    expect(Object.keys(all)).toEqual(['native', 'ts']);
    const both = (await fresh(LOADS, WASM_LOADS)).backends();
    expect(Object.keys(both)).toEqual(['native', 'wasm', 'ts']);
    expect(all.native).toBe(fakeNative);
    expect(emitWarning).not.toHaveBeenCalled();
    r.setBackend('ts');
    expect(r.backend()).toBe('ts');
  });

  it('registerBackend refuses a name registered twice and a priority that is not a number', async () => {
    const r = await fresh(LOADS);
    expect(() => r.registerBackend('ts', () => tsKernels, 1)).toThrow(
      "registerBackend: a backend named 'ts' is already registered",
    );
    expect(() => r.registerBackend('wasm', () => fakeWasm, NaN)).toThrow(RangeError);
  });
});
