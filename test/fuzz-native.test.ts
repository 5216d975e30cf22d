// Hostile input at the native boundary, property-based: a child process (so that a crash cannot
// take the test runner down) throws tens of thousands of random calls at every binding of the
// addon: wrong types, wrong counts, negative / NaN / fractional / enormous sizes, detached and
// SharedArrayBuffer-backed arrays, views overlapping each other, out-of-range labels. The child
// must never die by a signal, and every call must return or throw a TypeError or RangeError
// naming the function (test/fixtures/fuzz-child.js; scripts/sanitize.sh runs it under ASan).
// The wasm backend gets the same: its JS checks, its copies into the module, its kernels.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backends, info } from '../lib/backend/index.js';
import { wasmPath } from '../lib/backend/wasm.js';
import { childEnv, root } from './fixtures/child.js';
import { KERNEL_NAMES } from '../lib/backend/kernel-table.js';

/** The addon's functions that are not kernels (fuzz-child.js lists them too). */
const CONTROLS = ['getNumThreads', 'setNumThreads', 'simd', 'supportedSimd', 'setSimd'];

const native = backends().native;
const skipReason = native ? '' : ` (skipped: no native backend: ${info().nativeError ?? 'unknown reason'})`;
const fuzzChild = path.join(__dirname, 'fixtures', 'fuzz-child.js');

interface FuzzReport {
  calls: number;
  ok: number;
  typeErrors: number;
  rangeErrors: number;
  perFunction: Record<string, { calls: number; ok: number; errors: number }>;
  seed: number;
  ms: number;
}

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runFuzz(addonPath: string, runs: number, seed: number): Outcome {
  const r = spawnSync(process.execPath, [fuzzChild, addonPath, String(runs), String(seed)], {
    cwd: root,
    env: childEnv(),
    encoding: 'utf8',
    // Some seeds reach the convolution kernels with valid sizes of a few hundred: ~25 s alone on
    // wasm here, more on a loaded machine; the bound is for a hang, not for speed.
    timeout: 150_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The child lived (no signal), exited 0, and reported its calls. */
function survived(r: Outcome): FuzzReport {
  const context = `seed/stdout/stderr:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`;
  expect(r.signal, `the fuzz child died by a signal; ${context}`).toBeNull();
  expect(r.status, `the fuzz child failed; ${context}`).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as FuzzReport;
}

/** The property every fuzzed backend must keep (the addon, or the wasm backend's loader and module). */
function fuzzes(target: string, label: string): void {
  const seed = Date.now() % 2 ** 31;
  const runs = 4000;
  const report = survived(runFuzz(target, runs, seed));
  console.log(
    `fuzz ${label}: ${report.calls} calls in ${report.ms} ms (seed ${report.seed}): ` +
      `${report.ok} returned, ${report.typeErrors} TypeError, ${report.rangeErrors} RangeError`,
  );
  expect(report.calls).toBe((KERNEL_NAMES.length + CONTROLS.length) * runs);
  expect(report.ok + report.typeErrors + report.rangeErrors).toBe(report.calls);
  // Enough valid calls get through for the kernels themselves to run on odd shapes.
  for (const [name, f] of Object.entries(report.perFunction)) {
    expect(f.ok, `${name}: calls that reached the kernel`).toBeGreaterThan(runs / 100);
    expect(f.errors, `${name}: calls that were refused`).toBeGreaterThan(runs / 100);
  }
}

describe.skipIf(!native)(`the native addon under random hostile calls, in a child process${skipReason}`, () => {
  it('never crashes: every call returns or throws a TypeError / RangeError naming the function', () => {
    fuzzes(info().nativePath as string, 'native');
  }, 180_000);
});

describe.skipIf(!backends().wasm)('the wasm backend under random hostile calls, in a child process', () => {
  it('never crashes or traps: every call returns or throws a TypeError / RangeError naming the function', () => {
    fuzzes(wasmPath, 'wasm');
  }, 180_000);
});

describe('the fuzz harness itself', () => {
  const fakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-fuzz-fake-'));
  const names = [...KERNEL_NAMES, ...CONTROLS];
  /** A stand-in addon where `name` misbehaves as `body` says, and gemm computes. */
  function fake(file: string, name: string, body: string): string {
    const p = path.join(fakeDir, file);
    const fns = names.map((n) => `exports.${n} = function () { ${n === name ? body : ''} };`);
    fs.writeFileSync(
      p,
      [
        ...fns,
        "exports.supportedSimd = () => ['scalar'];",
        'exports.gemm = function (ta, tb, M, N, K, al, A, B, be, C) { if (C && C.length === 4 && A.length === 4) { C[0] = 19; C[1] = 22; C[2] = 43; C[3] = 50; } };',
        '',
      ].join('\n'),
    );
    return p;
  }

  it('fails when a binding throws anything but a TypeError or RangeError', () => {
    const r = runFuzz(
      fake(
        'plain-error.js',
        'relu',
        "if (typeof arguments[1] === 'number' && arguments[1] > 2) throw new Error('relu: boom');",
      ),
      50,
      1,
    );
    expect(r.signal).toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('relu threw Error: relu: boom');
  });

  it('reports a child killed by a signal', () => {
    const r = runFuzz(fake('segv.js', 'biasAdd', "process.kill(process.pid, 'SIGSEGV');"), 50, 1);
    expect(r.signal).toBe('SIGSEGV');
    expect(() => survived(r)).toThrow(/died by a signal/);
  });
});
