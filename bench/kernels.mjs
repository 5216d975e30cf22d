// Kernel benchmark: GEMM GFLOPS for the native addon (1 and 2 threads, each SIMD path) and the
// TS backend on the shapes of ../shared/anchors/gemm_bench.py, plus softmax cross-entropy
// throughput; numpy's BLAS (OpenBLAS when libopenblas is installed; the table says which) on
// the same shapes and threads alongside, when /usr/bin/python3 has numpy and threadpoolctl.
// Every result is checked against a float64 reference before it is timed. Prints a markdown
// table and writes bench/results/kernels.json.
//
// Usage: node bench/kernels.mjs [--min-time 0.3] [--no-numpy] [--no-native] [--no-ts]
// (`npm run bench:kernels` compiles the TS to dist/ first.)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, opt } from './util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { backends, info } = require('../dist/backend/index.js');

const MIN_TIME = opt('--min-time', 0.3); // seconds per measurement
const U32 = 2 ** -24;

// (name, M, N, K, transA, transB) as in gemm_bench.py: C[MxN] = op(A)[MxK] . op(B)[KxN].
const SHAPES = [
  ...[128, 256, 512, 1024, 2048].map((n) => [`sq${n}`, n, n, n, false, false]),
  ['fwd_X.W1_256x784x256', 256, 256, 784, false, false],
  ['bwd_dW1_XT.dH_784x256x256', 784, 256, 256, true, false],
  ['bwd_dX_dH.W1T_256x256x784', 256, 784, 256, false, true],
  ['fwd_H.W2_256x256x10', 256, 10, 256, false, false],
  ['bwd_dW2_HT.dO_256x256x10', 256, 10, 256, true, false],
  ['bwd_dH_dO.W2T_256x10x256', 256, 256, 10, false, true],
];
const TS_MAX_SQUARE = 1024; // the TS backend stops here (2048^3 would take seconds a call)

// ---------------------------------------------------------------------------------------------
// Inputs, references, timing

function randn(n, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/**
 * Checks C = op(A) op(B) (alpha 1, beta 0) on 256 sampled elements (every element when C is
 * small) against a float64 dot product: |C - ref| <= (K + 8) u sum_k |a b| (the float32
 * worst-case bound, see test/kernels.test.ts). Returns the worst error / tolerance.
 */
function checkGemm(C, A, B, M, N, K, ta, tb) {
  const total = M * N;
  const samples = Math.min(total, 256);
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    const idx = samples === total ? s : Math.floor((((s * 2654435761) % 4294967296) / 4294967296) * total);
    const i = Math.floor(idx / N),
      j = idx % N;
    let sum = 0,
      abs = 0;
    for (let k = 0; k < K; k++) {
      const p = (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
      sum += p;
      abs += Math.abs(p);
    }
    const err = Math.abs(C[idx] - sum);
    const r = err === 0 ? 0 : err / ((K + 8) * U32 * abs);
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** Median seconds per call of fn: batches of ~50 ms until MIN_TIME and at least 3 samples. */
function time(fn) {
  fn(); // warm-up (and JIT for the TS backend)
  let t0 = performance.now();
  fn();
  const one = (performance.now() - t0) / 1e3;
  const reps = Math.max(1, Math.floor(0.05 / Math.max(one, 1e-9)));
  const samples = [];
  let total = 0;
  while (total < MIN_TIME || samples.length < 3) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    const dt = (performance.now() - t0) / 1e3 / reps;
    samples.push(dt);
    total += dt * reps;
    if (one > 2) break; // very slow: one sample is enough
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

// ---------------------------------------------------------------------------------------------
// Configurations: every backend / SIMD path / thread count that runs here

const native = flag('--no-native') ? undefined : backends().native;
const configs = [];
if (!flag('--no-ts')) configs.push({ label: 'ts', kernels: backends().ts, simd: null, threads: 1 });
const nativeDefault = native ? native.simd() : null;
const nativeThreads0 = native ? native.getNumThreads() : 1;
if (native) {
  // The default (best) path first.
  const paths = native.supportedSimd().sort((a, b) => (a === nativeDefault ? -1 : b === nativeDefault ? 1 : 0));
  for (const simd of paths) {
    for (const threads of [1, 2]) configs.push({ label: `native-${simd}`, kernels: native, simd, threads });
  }
}
const colName = (c) => `${c.label} ${c.threads}T`;

function activate(c) {
  if (c.simd !== null) {
    c.kernels.setSimd(c.simd);
    c.kernels.setNumThreads(c.threads);
  }
}

const results = { gemm: [], softmax: [], numpyBlas: [], errors: [] };
const started = performance.now();

console.error(
  `nodegrad kernel bench: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs, node ${process.version}`,
);
console.error(
  `native: ${native ? `${info().nativePath} (default ${nativeDefault}, ${nativeThreads0} threads)` : `absent (${info().nativeError ?? 'disabled'})`}`,
);

// ---------------------------------------------------------------------------------------------
// GEMM

for (const [name, M, N, K, ta, tb] of SHAPES) {
  const A = randn(M * K, 1 + M),
    B = randn(K * N, 2 + N);
  const C = new Float32Array(M * N);
  const flops = 2 * M * N * K;
  for (const c of configs) {
    if (c.label === 'ts' && name.startsWith('sq') && M > TS_MAX_SQUARE) continue;
    activate(c);
    C.fill(NaN);
    c.kernels.gemm(ta, tb, M, N, K, 1, A, B, 0, C);
    const check = checkGemm(C, A, B, M, N, K, ta, tb);
    if (!(check <= 1)) {
      const msg = `${colName(c)} ${name}: WRONG RESULT (error ${check.toPrecision(3)} x tolerance), not timed`;
      console.error(msg);
      results.errors.push(msg);
      continue;
    }
    const sec = time(() => c.kernels.gemm(ta, tb, M, N, K, 1, A, B, 0, C));
    const gflops = flops / sec / 1e9;
    results.gemm.push({
      shape: name,
      M,
      N,
      K,
      transA: ta,
      transB: tb,
      backend: c.kernels.name,
      simd: c.simd,
      threads: c.threads,
      gflops: +gflops.toFixed(3),
      ms: +(sec * 1e3).toFixed(4),
      checkErrorOverTol: +check.toPrecision(3),
    });
    console.error(`  ${name.padEnd(28)} ${colName(c).padEnd(20)} ${gflops.toFixed(2).padStart(8)} GFLOPS`);
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy (forward and backward), rows per second

const SOFTMAX = [
  [256, 10],
  [4096, 10],
  [256, 1000],
];
for (const [N, C] of SOFTMAX) {
  const logits = randn(N * C, 3 + C);
  for (let i = 0; i < logits.length; i++) logits[i] *= 4;
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 7919) % C);
  // float64 reference
  let refLoss = 0;
  for (let n = 0; n < N; n++) {
    let mx = -Infinity,
      sum = 0;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[n * C + c]);
    for (let c = 0; c < C; c++) sum += Math.exp(logits[n * C + c] - mx);
    refLoss += Math.log(sum) + mx - logits[n * C + labels[n]];
  }
  refLoss /= N;
  const probs = new Float32Array(N * C),
    dlogits = new Float32Array(N * C);
  for (const c of configs) {
    if (c.threads !== 1) continue; // single-threaded kernels
    activate(c);
    const loss = c.kernels.softmaxCrossEntropy(logits, labels, N, C, probs);
    let rowErr = 0;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < C; k++) s += probs[n * C + k];
      rowErr = Math.max(rowErr, Math.abs(s - 1));
    }
    if (!(Math.abs(loss - refLoss) <= 1e-6 * (1 + Math.abs(refLoss)) && rowErr <= 1e-6)) {
      const msg = `${c.label} softmax N=${N} C=${C}: WRONG RESULT (loss ${loss} vs ${refLoss}, row sum off by ${rowErr}), not timed`;
      console.error(msg);
      results.errors.push(msg);
      continue;
    }
    const fwd = time(() => c.kernels.softmaxCrossEntropy(logits, labels, N, C, probs));
    const bwd = time(() => c.kernels.softmaxCrossEntropyBackward(probs, labels, N, C, dlogits));
    results.softmax.push({
      N,
      C,
      backend: c.kernels.name,
      simd: c.simd,
      fwdUs: +(fwd * 1e6).toFixed(3),
      bwdUs: +(bwd * 1e6).toFixed(3),
      fwdNsPerElem: +((fwd * 1e9) / (N * C)).toFixed(3),
      bwdNsPerElem: +((bwd * 1e9) / (N * C)).toFixed(3),
      fwdRowsPerS: Math.round(N / fwd),
      bwdRowsPerS: Math.round(N / bwd),
    });
    console.error(
      `  softmax N=${N} C=${C} ${c.label.padEnd(14)} fwd ${(fwd * 1e6).toFixed(1)} us, bwd ${(bwd * 1e6).toFixed(1)} us`,
    );
  }
}
if (native) {
  native.setSimd(nativeDefault);
  native.setNumThreads(nativeThreads0);
}

// ---------------------------------------------------------------------------------------------
// numpy's BLAS (OpenBLAS, normally), run after ours so the two never compete for the cores

const anchor = path.join(here, '..', '..', 'shared', 'anchors', 'gemm_bench.py');
let numpyNote = '';
if (flag('--no-numpy')) {
  numpyNote = 'skipped (--no-numpy)';
} else if (!fs.existsSync('/usr/bin/python3') || !fs.existsSync(anchor)) {
  numpyNote = `skipped (${fs.existsSync(anchor) ? '/usr/bin/python3 missing' : `${anchor} missing`})`;
} else if (spawnSync('/usr/bin/python3', ['-c', 'import numpy, threadpoolctl'], { stdio: 'ignore' }).status !== 0) {
  numpyNote = 'skipped (/usr/bin/python3 lacks numpy or threadpoolctl)';
} else {
  // OpenBLAS picks its own kernel for this CPU only without these overrides.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  console.error('  running numpy (OpenBLAS) anchor...');
  const r = spawnSync('/usr/bin/python3', [anchor, 'numpy', '--min-time', String(MIN_TIME)], {
    env,
    encoding: 'utf8',
    timeout: 180_000,
  });
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line);
      if (j.bench === 'gemm')
        results.numpyBlas.push({ shape: j.shape, threads: j.threads, gflops: j.value, ms: j.ms, blas: j.blas });
    } catch {
      /* not a result line */
    }
  }
  const lib = results.numpyBlas[0]?.blas ?? '';
  numpyNote =
    results.numpyBlas.length > 0
      ? `numpy ${numpyVersion()} on ${lib}${/openblas/i.test(lib) ? '' : ' -- NOT OpenBLAS (this looks like the reference BLAS: install libopenblas0-pthread for the intended comparison)'}`
      : `numpy anchor produced no results (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}): ${(r.stderr ?? '').trim().split('\n').pop()}`;
}

function numpyVersion() {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}

// ---------------------------------------------------------------------------------------------
// Report

const gf = (shape, c) =>
  results.gemm.find(
    (r) => r.shape === shape && r.backend === c.kernels.name && r.simd === c.simd && r.threads === c.threads,
  )?.gflops;
const blas = (shape, t) => results.numpyBlas.find((r) => r.shape === shape && r.threads === t)?.gflops;
const fmt = (v) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const ratio = (a, b) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`);
const best = native ? configs.filter((c) => c.simd === nativeDefault) : [];
const blasLabel =
  results.numpyBlas.length > 0 && !/openblas/i.test(results.numpyBlas[0].blas) ? 'numpy-BLAS' : 'OpenBLAS';

const lines = [];
lines.push(
  `### GEMM, GFLOPS (median; ${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} CPUs, node ${process.version})`,
);
lines.push('');
const head = ['shape (M x N x K)', ...configs.map(colName)];
if (results.numpyBlas.length > 0) {
  head.push(`${blasLabel} 1T`, `${blasLabel} 2T`);
  for (const c of best) head.push(`${colName(c)} / ${blasLabel} ${c.threads}T`);
}
lines.push(`| ${head.join(' | ')} |`);
lines.push(`|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
for (const [name, M, N, K, ta, tb] of SHAPES) {
  const row = [`${name} (${M}x${N}x${K} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'})`, ...configs.map((c) => fmt(gf(name, c)))];
  if (results.numpyBlas.length > 0) {
    row.push(fmt(blas(name, 1)), fmt(blas(name, 2)));
    for (const c of best) row.push(ratio(gf(name, c), blas(name, c.threads)));
  }
  lines.push(`| ${row.join(' | ')} |`);
}
lines.push('');
lines.push(`${blasLabel}: ${numpyNote}`);
lines.push('');
lines.push('### Softmax cross-entropy (1 thread): microseconds per call (ns per element)');
lines.push('');
const scfg = configs.filter((c) => c.threads === 1);
lines.push(`| N x C | ${scfg.map((c) => `${c.label} fwd | ${c.label} bwd`).join(' | ')} |`);
lines.push(`| --- |${scfg.map(() => ' ---: | ---: ').join('|')}|`);
for (const [N, C] of SOFTMAX) {
  const cells = scfg.map((c) => {
    const r = results.softmax.find((x) => x.N === N && x.C === C && x.backend === c.kernels.name && x.simd === c.simd);
    return r
      ? `${r.fwdUs.toFixed(1)} (${r.fwdNsPerElem.toFixed(2)}) | ${r.bwdUs.toFixed(1)} (${r.bwdNsPerElem.toFixed(2)})`
      : '- | -';
  });
  lines.push(`| ${N} x ${C} | ${cells.join(' | ')} |`);
}
if (results.errors.length > 0) {
  lines.push('');
  lines.push(`**${results.errors.length} result(s) failed their check and were not timed:**`);
  for (const e of results.errors) lines.push(`- ${e}`);
}
const elapsed = (performance.now() - started) / 1e3;
lines.push('');
lines.push(`(${elapsed.toFixed(0)} s; min ${MIN_TIME} s per measurement)`);
console.log(lines.join('\n'));

const outDir = path.join(here, 'results');
fs.mkdirSync(outDir, { recursive: true });
const out = {
  date: new Date().toISOString(),
  machine: {
    cpu: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  },
  native: native ? { path: info().nativePath, defaultSimd: nativeDefault, defaultThreads: nativeThreads0 } : null,
  minTimeS: MIN_TIME,
  blasNote: numpyNote,
  ...results,
  elapsedS: +elapsed.toFixed(1),
};
fs.writeFileSync(path.join(outDir, 'kernels.json'), `${JSON.stringify(out, null, 2)}\n`);
console.error(`wrote ${path.relative(process.cwd(), path.join(outDir, 'kernels.json'))}`);
process.exitCode = results.errors.length > 0 ? 1 : 0;
