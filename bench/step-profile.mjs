// Where a training step's time goes: the MLP 784-256(ReLU)-10 step of bench/train.mjs (Adam
// lr 1e-3, batch 256, Fashion-MNIST), with every kernel call of the chosen backend timed
// (wrapping the backend's functions, so each call pays ~0.1 us more) and the step split into
// forward (zeroGrad + forward + loss), backward and optimizer.
//
// GEMM rows also show their GFLOPS; for the native backend the machine's FMA peak and STREAM
// bandwidth are measured first (bench/machine.mjs) and the step is set against its physical
// limit (mlpStepLimit), as in bench/train.mjs.
//
// On wasm it also counts the bytes each call copies into the module's memory and back (the
// table's arrays in, its `writes` out) and prices them at the copy rate measured here, with
// Float32Array.set into a WebAssembly memory: what the copies cost per step.
//
// Usage: node bench/step-profile.mjs [native|wasm|ts] [steps] [threads]   (after `npm run build:ts`)
// For a JS-level view: node --cpu-prof bench/step-profile.mjs native, then open the profile.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureMachine, mlpStepLimit } from './machine.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ng = require('../dist/index.js');
const be = process.argv[2] || 'native';
const steps = Number(process.argv[3] || (be === 'ts' ? 20 : 300));
ng.setBackend(be);
const K = ng.backends()[be];
if (process.argv[4]) K.setNumThreads(Number(process.argv[4]));
const limits = be === 'native' ? measureMachine() : null;
const flopsOf = new Map();
const acc = new Map();
const untimed = new Set(['name', 'getNumThreads', 'simd', 'setNumThreads', 'supportedSimd', 'setSimd']);
const { KERNELS, overwriteTest } = require('../dist/backend/kernel-table.js');
/**
 * Bytes a wasm call copies: every array in (count elements) but the outputs the call overwrites
 * unread (the table's `overwrites`), and the written ones back. An output that is its own input
 * (the same array passed twice) is counted as a separate copy: a slight overcount.
 */
function copiedBytes(name, a) {
  const spec = KERNELS[name];
  const at = (n) => spec.params.findIndex((q) => q.name === n);
  let n = 0;
  spec.params.forEach((p, i) => {
    if (!('count' in p) || a[i] === null) return;
    const c = p.count.split('*').reduce((m, f) => m * a[at(f)], 1);
    const rule = spec.overwrites?.[p.name];
    const copiedIn = rule === undefined || !overwriteTest(rule, at)(a);
    n += 4 * c * ((copiedIn ? 1 : 0) + (spec.writes.includes(p.name) ? 1 : 0));
  });
  return n;
}
let bytes = 0;
for (const name of Object.keys(K)) {
  const f = K[name];
  if (typeof f !== 'function' || untimed.has(name)) continue;
  K[name] = function (...a) {
    const t0 = performance.now();
    const r = f.apply(this, a);
    const dt = performance.now() - t0;
    if (be === 'wasm') bytes += copiedBytes(name, a);
    let key = name;
    if (name === 'gemm') {
      key = `gemm ${a[0] ? 'T' : 'N'}${a[1] ? 'T' : 'N'} ${a[2]}x${a[3]}x${a[4]} beta=${a[8]}`;
      flopsOf.set(key, 2 * a[2] * a[3] * a[4]);
    } else if (name === 'adamStep') key = `adamStep n=${a[5]}`;
    const e = acc.get(key) ?? [0, 0];
    e[0] += dt;
    e[1]++;
    acc.set(key, e);
    return r;
  };
}
const dir = process.env.FASHION_MNIST_DIR ?? path.join(here, '..', '..', 'shared', 'data', 'fashion-mnist');
const { train } = ng.loadFashionMnist(dir);
ng.manualSeed(0);
const B = 256,
  D = 784,
  H = 256,
  C = 10;
const model = new ng.nn.Sequential(new ng.nn.Linear(D, H), new ng.nn.ReLU(), new ng.nn.Linear(H, C));
const opt = new ng.optim.Adam(model.parameters(), { lr: 1e-3 });
const nb = Math.floor(train.length / B);
let tf = 0,
  tb = 0,
  to = 0;
function step(j) {
  const x = new ng.Tensor(train.x.subarray(j * B * D, (j + 1) * B * D), [B, D]);
  const y = train.y.subarray(j * B, (j + 1) * B);
  const t0 = performance.now();
  opt.zeroGrad();
  const loss = ng.softmaxCrossEntropy(model.forward(x), y);
  const l = loss.item();
  const t1 = performance.now();
  loss.backward();
  const t2 = performance.now();
  opt.step();
  const t3 = performance.now();
  tf += t1 - t0;
  tb += t2 - t1;
  to += t3 - t2;
  return l;
}
for (let i = 0; i < (be === 'ts' ? 5 : 50); i++) step(i % nb);
acc.clear();
tf = tb = to = bytes = 0;
const t0 = performance.now();
let loss = 0;
for (let i = 0; i < steps; i++) loss = step(i % nb);
const T = (performance.now() - t0) / steps;
console.log(
  `${be} (${ng.info().simd ?? 'js'}, ${K.getNumThreads()} threads): ${T.toFixed(3)} ms/step = ${((B / T) * 1000).toFixed(0)} samples/s; ` +
    `forward ${(tf / steps).toFixed(3)}, backward ${(tb / steps).toFixed(3)}, optimizer ${(to / steps).toFixed(3)} ms; loss ${loss.toFixed(4)}`,
);
let ks = 0;
console.log('| kernel call | us/step | share | calls/step | GFLOPS |\n| --- | ---: | ---: | ---: | ---: |');
for (const [k, [t, c]] of [...acc].sort((a, b) => b[1][0] - a[1][0])) {
  ks += t;
  const gf = flopsOf.has(k) ? ((flopsOf.get(k) * c) / t / 1e6).toFixed(0) : '';
  console.log(
    `| ${k} | ${((t / steps) * 1000).toFixed(0)} | ${((t / steps / T) * 100).toFixed(1)}% | ${c / steps} | ${gf} |`,
  );
}
console.log(
  `| (outside kernels: autograd, JS, allocation) | ${((T - ks / steps) * 1000).toFixed(0)} | ${(((T - ks / steps) / T) * 100).toFixed(1)}% | | |`,
);
if (limits) {
  const t = K.getNumThreads();
  const peak = limits.peakGflops[t] ?? limits.peakGflops[limits.threads];
  const bw = limits.bandwidthGBs[t] ?? limits.bandwidthGBs[limits.threads];
  const lim = mlpStepLimit({ B, D, H, C }, peak, bw);
  console.log(
    `\nmachine (${limits.isa} probe, ${t} threads, load ${limits.loadavg.join(' ')}): peak ${peak.toFixed(0)} GFLOPS, ` +
      `triad ${bw.toFixed(1)} GB/s; limit ${lim.gemmMs.toFixed(3)} + ${lim.memMs.toFixed(3)} = ${lim.ms.toFixed(3)} ms; ` +
      `step ${((lim.flops / T) * 1e-6).toFixed(0)} GFLOPS = ${((lim.flops / T / 1e6 / peak) * 100).toFixed(0)}% of peak, ` +
      `${(lim.ms / T).toFixed(2)} of the limit`,
  );
}
if (be === 'wasm') {
  // The copy rate: Float32Array.set of 1 MB blocks into a WebAssembly memory and back out.
  const mem = new Float32Array(new WebAssembly.Memory({ initial: 64 }).buffer);
  const src = new Float32Array(1 << 18).fill(1);
  const reps = 2000;
  const c0 = performance.now();
  for (let i = 0; i < reps; i++) {
    mem.set(src, (i & 3) << 18);
    src.set(mem.subarray(((i + 1) & 3) << 18, (((i + 1) & 3) + 1) << 18));
  }
  const gbps = (2 * reps * src.byteLength) / ((performance.now() - c0) / 1000) / 1e9;
  const perStep = bytes / steps;
  const ms = (perStep / (gbps * 1e9)) * 1000;
  console.log(
    `copies into and out of wasm memory: ${(perStep / 2 ** 20).toFixed(2)} MB/step at ${gbps.toFixed(1)} GB/s = ${ms.toFixed(3)} ms/step (${((ms / T) * 100).toFixed(1)}% of the step)`,
  );
}
