// Training benchmark: the MLP 784-256(ReLU)-10, softmax cross-entropy, Adam lr 1e-3, batch 256
// on Fashion-MNIST, for nodegrad (native, wasm and TS backends) and, in the same run on the same
// machine, its peers: PyTorch 1.13 (../shared/anchors/train_torch.py, its best setting here:
// torch 1 thread, OpenBLAS 2 threads; run both by default and with glibc's malloc kept off mmap,
// bench/util.mjs's MALLOC_TUNED, which on this VM makes it ~3.5x faster; ratios are against the
// faster) and TensorFlow.js 4.22 (cpu and wasm backends,
// ../shared/anchors/train_tfjs.js). The machine is shared and noisy, so the figures that count
// are the ratios, measured in one run, with native and PyTorch interleaved rep by rep and the
// median taken, and likewise the single-threaded group: wasm, TS and TensorFlow.js.
//
// Measures:
// - throughput: samples/s over `--steps` training steps after a warm-up (the same steps as
//   train_torch.py's throughput mode: batches of the training set in order, no data pipeline);
//   each implementation's loss after its timed steps is printed, so a fast wrong run shows;
// - time to 88% test accuracy: train_torch.py's tta mode (Adam 1e-3, batch 256, last partial
//   batch dropped, reshuffled every epoch, test accuracy after each epoch; wall time of
//   training + evaluation, data loading excluded);
// - per-op overhead: `ng.add(a, b)` on two 10-element tensors, and torch's `a + b`.
// Prints a markdown table and writes bench/results/train.json.
//
// - the native step against this machine's limits (bench/machine.mjs measures the FMA peak and
//   the STREAM bandwidth once, before the native reps): achieved GEMM GFLOPS, fraction of the
//   peak, and fraction of the step's physical limit (see mlpStepLimit).
// Usage: node bench/train.mjs [--reps 3] [--steps 234] [--wasm-steps 60] [--no-torch] [--no-tfjs]
//        [--no-tta] [--no-ts] [--no-wasm] [--no-machine]
// (`npm run bench` compiles the TS to dist/ first.) Data: ../shared/data/fashion-mnist or
// $FASHION_MNIST_DIR; peers' scripts: ../shared/anchors or $NODEGRAD_ANCHORS.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureMachine, mlpStepLimit } from './machine.mjs';
import { flag, median, opt, peerEnv } from './util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const require = createRequire(import.meta.url);
const ng = require('../dist/index.js');

const REPS = opt('--reps', 3);
const STEPS = opt('--steps', 234); // one epoch of full batches, as train_torch.py
const WARMUP = 30;
const TS_STEPS = opt('--ts-steps', 20);
const WASM_STEPS = opt('--wasm-steps', 60);
const B = 256,
  D = 784,
  H = 256,
  C = 10;
const TARGET = 0.88;
const MAX_EPOCHS = 30;
const ANCHORS = process.env.NODEGRAD_ANCHORS ?? path.join(root, '..', 'shared', 'anchors');
const DATA_DIR = process.env.FASHION_MNIST_DIR ?? path.join(root, '..', 'shared', 'data', 'fashion-mnist');
const PYTHON = '/usr/bin/python3';

const log = (...a) => console.error('[bench]', ...a);

// ---------------------------------------------------------------------------------------------
// nodegrad

const { train, test } = ng.loadFashionMnist(DATA_DIR);

function makeModel(seed) {
  ng.manualSeed(seed);
  const model = new ng.nn.Sequential(new ng.nn.Linear(D, H), new ng.nn.ReLU(), new ng.nn.Linear(H, C));
  const opt = new ng.optim.Adam(model.parameters(), { lr: 1e-3 });
  return { model, opt };
}

/** One training step on rows [j*B, (j+1)*B) of x/y; returns the loss. */
function trainStep(model, opt, x, y, j) {
  const xb = new ng.Tensor(x.subarray(j * B * D, (j + 1) * B * D), [B, D]);
  const yb = y.subarray(j * B, (j + 1) * B);
  opt.zeroGrad();
  const loss = ng.softmaxCrossEntropy(model.forward(xb), yb);
  loss.backward();
  opt.step();
  return loss;
}

/** Samples/s over `steps` steps after `warmup` (train_torch.py's throughput mode), and the last loss. */
function throughput(backend, steps, warmup) {
  return ng.withBackend(backend, () => {
    const { model, opt } = makeModel(0);
    const nb = Math.floor(train.length / B);
    for (let i = 0; i < warmup; i++) trainStep(model, opt, train.x, train.y, i % nb);
    const t0 = performance.now();
    let loss;
    for (let i = 0; i < steps; i++) loss = trainStep(model, opt, train.x, train.y, (warmup + i) % nb);
    const finalLoss = loss.item(); // read inside the timed region, as torch's float(loss)
    const dt = (performance.now() - t0) / 1000;
    return { samplesPerS: (steps * B) / dt, msPerStep: (dt / steps) * 1000, finalLoss };
  });
}

/** Seconds (train + test evaluation after each epoch) to reach TARGET test accuracy. */
function timeToAccuracy(backend, seed) {
  return ng.withBackend(backend, () => {
    const { model, opt } = makeModel(seed);
    const loader = new ng.DataLoader(train, { batchSize: B, shuffle: true, dropLast: true, seed });
    const t0 = performance.now();
    const accs = [];
    let acc = 0;
    while (acc < TARGET && accs.length < MAX_EPOCHS) {
      for (const batch of loader) {
        opt.zeroGrad();
        const loss = ng.softmaxCrossEntropy(model.forward(new ng.Tensor(batch.x, [B, D])), batch.y);
        loss.backward();
        opt.step();
      }
      acc = ng.evaluate(model, test, { batchSize: test.length }).accuracy;
      accs.push(Math.round(acc * 1e4) / 1e4);
    }
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, epochs: accs.length, reached: acc >= TARGET, testAccByEpoch: accs };
  });
}

/** Microseconds per `ng.add(a, b)` on two 10-element tensors (no grad), median of reps. */
function perOpOverhead() {
  const a = ng.randn([10], { seed: 1 }),
    b = ng.randn([10], { seed: 2 });
  let sink = 0;
  const reps = [];
  for (let r = 0; r < 7; r++) {
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += ng.add(a, b).data[0];
    reps.push(((performance.now() - t0) * 1000) / n);
  }
  if (!Number.isFinite(sink)) throw new Error('per-op check failed');
  const c = ng.add(a, b);
  for (let i = 0; i < 10; i++) if (c.data[i] !== Math.fround(a.data[i] + b.data[i])) throw new Error('ng.add is wrong');
  return median(reps.slice(2)); // the first reps include optimisation
}

// ---------------------------------------------------------------------------------------------
// peers (child processes; each prints JSON lines)

function jsonLines(stdout) {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

function run(cmd, args, env = {}, timeout = 180_000) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, ...env },
    cwd: ANCHORS,
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    log(
      `${cmd} ${args.join(' ')} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}): ${(r.stderr || '').split('\n').slice(-3).join(' | ')}`,
    );
    return [];
  }
  return jsonLines(r.stdout);
}

function torchAvailable() {
  if (flag('--no-torch') || !fs.existsSync(PYTHON) || !fs.existsSync(path.join(ANCHORS, 'train_torch.py')))
    return false;
  return spawnSync(PYTHON, ['-c', 'import torch, threadpoolctl'], { encoding: 'utf8' }).status === 0;
}
/** train_torch.py in one mode; `tuned`: with MALLOC_TUNED (bench/util.mjs says why). */
function torchRun(mode, tuned = false) {
  const r = spawnSync(PYTHON, ['train_torch.py', '--threads', '1', '--blas-threads', '2', '--mode', mode], {
    encoding: 'utf8',
    timeout: 300_000,
    cwd: ANCHORS,
    env: peerEnv(tuned),
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    log(`train_torch.py --mode ${mode} failed: ${(r.stderr || '').split('\n').slice(-3).join(' | ')}`);
    return null;
  }
  return jsonLines(r.stdout)[0] ?? null;
}
/** train_torch.py in `mode`, by default then with MALLOC_TUNED: each result's row(t) goes to into[0] or into[1]. */
function torchBothWays(mode, rep, into, row, describe) {
  for (const tuned of [false, true]) {
    const t = torchRun(mode, tuned);
    if (!t) continue;
    into[tuned ? 1 : 0].push(row(t));
    log(`torch${tuned ? ' (malloc tuned)' : ''} ${mode} rep ${rep + 1}: ${describe(t)}`);
  }
}
function torchPerOp() {
  const code = [
    'import time, torch',
    'torch.set_num_threads(1)',
    'a = torch.randn(10); b = torch.randn(10)',
    'reps = []',
    'for r in range(7):',
    '    n = 100000; t = time.perf_counter()',
    '    for i in range(n): c = a + b',
    '    reps.append((time.perf_counter() - t) / n * 1e6)',
    'reps = sorted(reps[2:])',
    'print(reps[len(reps) // 2])',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: 120_000, env: peerEnv() });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

function tfjs(backend) {
  const nm = path.join(root, 'node_modules');
  if (!fs.existsSync(path.join(nm, '@tensorflow', 'tfjs')) || !fs.existsSync(path.join(ANCHORS, 'train_tfjs.js')))
    return null;
  const steps = backend === 'cpu' ? 20 : 60;
  const out = run(
    process.execPath,
    [path.join(ANCHORS, 'train_tfjs.js'), '--backend', backend, '--mode', 'minimize', '--steps', String(steps)],
    { ANCHORS_NODE_MODULES: nm, FASHION_MNIST_DIR: DATA_DIR },
    300_000,
  );
  return out[0] ?? null;
}

// ---------------------------------------------------------------------------------------------

const started = performance.now();
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  nodegrad: ng.info(),
};
log(
  `nodegrad ${machine.nodegrad.version}, backend ${machine.nodegrad.backend} (${machine.nodegrad.simd}, ${machine.nodegrad.threads} threads), ${machine.cpu} x${machine.cores}, load ${machine.loadavg.join(' ')}`,
);
const haveNative = ng.backends().native !== undefined;
const haveWasm = ng.backends().wasm !== undefined && !flag('--no-wasm');
const haveTorch = torchAvailable();
if (!haveNative) log('the native backend did not load: native rows are skipped');
if (!haveTorch) log('PyTorch (/usr/bin/python3 with torch, threadpoolctl) not found: torch rows are skipped');

const res = { native: [], torch: [], torchTuned: [], wasm: [], ts: [], nativeTta: [], torchTta: [], torchTtaTuned: [] };

// The machine's limits, measured right before the native reps that they are compared with.
const limits = haveNative && !flag('--no-machine') ? measureMachine() : null;
if (limits)
  log(
    `machine (${limits.isa} probe, load ${limits.loadavg.join(' ')}): FMA peak ${Object.entries(limits.peakGflops)
      .map(([t, g]) => `${g.toFixed(0)} GFLOPS on ${t}`)
      .join(', ')}; STREAM triad ${Object.entries(limits.bandwidthGBs)
      .map(([t, g]) => `${g.toFixed(1)} GB/s on ${t}`)
      .join(', ')}`,
  );

// Native and PyTorch throughput, interleaved rep by rep so that both see the same machine.
for (let r = 0; r < REPS; r++) {
  if (haveNative) {
    const x = throughput('native', STEPS, WARMUP);
    res.native.push(x);
    log(
      `native rep ${r + 1}: ${x.samplesPerS.toFixed(0)} samples/s (${x.msPerStep.toFixed(3)} ms/step), loss ${x.finalLoss.toFixed(4)}`,
    );
  }
  if (haveTorch)
    torchBothWays(
      'throughput',
      r,
      [res.torch, res.torchTuned],
      (t) => ({ samplesPerS: t.value, msPerStep: t.ms_per_step, finalLoss: t.final_loss }),
      (t) => `${t.value} samples/s (${t.ms_per_step} ms/step), loss ${t.final_loss}`,
    );
}

// The single-threaded ones, wasm, TS and TensorFlow.js, interleaved likewise.
let tfCpu = null,
  tfWasm = null;
const haveTs = !flag('--no-ts');
for (let r = 0; r < (haveTs || haveWasm ? Math.max(1, Math.min(REPS, 3)) : 0); r++) {
  if (haveWasm) {
    const x = throughput('wasm', WASM_STEPS, WARMUP); // as native: V8 tiers the module's hot functions up during it
    res.wasm.push(x);
    log(
      `wasm rep ${r + 1}: ${x.samplesPerS.toFixed(0)} samples/s (${x.msPerStep.toFixed(3)} ms/step), loss ${x.finalLoss.toFixed(4)}`,
    );
  }
  if (haveTs) {
    const x = throughput('ts', TS_STEPS, 5);
    res.ts.push(x);
    log(`ts rep ${r + 1}: ${x.samplesPerS.toFixed(0)} samples/s, loss ${x.finalLoss.toFixed(4)}`);
  }
  if (!flag('--no-tfjs') && r === 0) {
    tfWasm = tfjs('wasm');
    if (tfWasm) log(`tfjs wasm: ${tfWasm.value} samples/s, loss ${tfWasm.final_loss}`);
    tfCpu = tfjs('cpu');
    if (tfCpu) log(`tfjs cpu: ${tfCpu.value} samples/s, loss ${tfCpu.final_loss}`);
  }
}

// Time to 88% test accuracy, interleaved.
if (!flag('--no-tta')) {
  for (let r = 0; r < Math.min(REPS, 2); r++) {
    if (haveNative) {
      const x = timeToAccuracy('native', 0);
      res.nativeTta.push(x);
      log(`native tta rep ${r + 1}: ${x.seconds.toFixed(2)} s, ${x.epochs} epochs, acc ${x.testAccByEpoch.join(' ')}`);
    }
    if (haveTorch)
      torchBothWays(
        'tta',
        r,
        [res.torchTta, res.torchTtaTuned],
        (t) => ({ seconds: t.value, epochs: t.epochs, reached: t.reached, testAccByEpoch: t.test_acc_by_epoch }),
        (t) => `${t.value} s, ${t.epochs} epochs`,
      );
  }
}

const perOp = perOpOverhead();
const torchOp = haveTorch ? torchPerOp() : null;
log(`per-op: ng.add ${perOp.toFixed(3)} us, torch ${torchOp?.toFixed(3) ?? 'n/a'} us`);

// ---------------------------------------------------------------------------------------------
// report

const medOf = (rows, key) => (rows.length ? median(rows.map((r) => r[key])) : null);
const bestOf = (xs, better) =>
  xs.filter((x) => x !== null).reduce((a, b) => (a === null || better(b, a) ? b : a), null);
const torchDefaultSps = medOf(res.torch, 'samplesPerS');
const torchTunedSps = medOf(res.torchTuned, 'samplesPerS');
// Ratios are against PyTorch's best setting in this run.
const torchSps = bestOf([torchDefaultSps, torchTunedSps], (a, b) => a > b);
const torchTtaDefault = medOf(res.torchTta, 'seconds');
const torchTtaTuned = medOf(res.torchTtaTuned, 'seconds');
const torchTta = bestOf([torchTtaDefault, torchTtaTuned], (a, b) => a < b);
const rows = [];
const add = (impl, setting, sps, loss, note = '') =>
  rows.push({ impl, setting, samplesPerS: sps, finalLoss: loss, note });
if (haveNative)
  add(
    'nodegrad native',
    `${machine.nodegrad.simd}, ${ng.backends().native.getNumThreads()} threads`,
    medOf(res.native, 'samplesPerS'),
    medOf(res.native, 'finalLoss'),
  );
if (res.wasm.length)
  add(
    'nodegrad wasm',
    `${ng.backends().wasm.simd()}, 1 thread`,
    medOf(res.wasm, 'samplesPerS'),
    medOf(res.wasm, 'finalLoss'),
  );
if (res.ts.length) add('nodegrad TS', '1 thread', medOf(res.ts, 'samplesPerS'), medOf(res.ts, 'finalLoss'));
if (torchDefaultSps !== null)
  add('PyTorch 1.13', 'torch 1 thread, OpenBLAS 2', torchDefaultSps, medOf(res.torch, 'finalLoss'));
if (torchTunedSps !== null)
  add(
    'PyTorch 1.13',
    'the same, glibc malloc without mmap (MALLOC_TUNED)',
    torchTunedSps,
    medOf(res.torchTuned, 'finalLoss'),
  );
if (tfWasm)
  add(
    'TensorFlow.js 4.22 wasm',
    `SIMD ${tfWasm.simd_supported}, threads ${tfWasm.threads_count}`,
    tfWasm.value,
    tfWasm.final_loss,
  );
if (tfCpu) add('TensorFlow.js 4.22 cpu', 'JS', tfCpu.value, tfCpu.final_loss);

const fmt = (x, d = 0) =>
  x === null || x === undefined
    ? 'n/a'
    : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const lines = [];
lines.push(
  `MLP 784-256(ReLU)-10, softmax cross-entropy, Adam lr 1e-3, batch 256, Fashion-MNIST; ${machine.cpu} x${machine.cores}, Node ${machine.node}, load ${machine.loadavg.join(' ')} at start; median of ${REPS} interleaved reps`,
);
lines.push('');
lines.push('| implementation | setting | samples/s | ms/step | vs PyTorch best | loss after timed steps |');
lines.push('| --- | --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  lines.push(
    `| ${r.impl} | ${r.setting} | ${fmt(r.samplesPerS)} | ${fmt((B / r.samplesPerS) * 1000, 2)} | ${torchSps ? `${fmt(r.samplesPerS / torchSps, 2)}x` : 'n/a'} | ${fmt(r.finalLoss, 4)} |`,
  );
}
const nativeTta = medOf(res.nativeTta, 'seconds');
lines.push('');
lines.push('| time to 88% test accuracy | seconds | epochs | vs PyTorch best |');
lines.push('| --- | ---: | ---: | ---: |');
if (nativeTta !== null)
  lines.push(
    `| nodegrad native | ${fmt(nativeTta, 2)} | ${res.nativeTta.map((x) => x.epochs).join(', ')} | ${torchTta ? `${fmt(nativeTta / torchTta, 2)}x` : 'n/a'} |`,
  );
for (const [label, secs, reps] of [
  ['PyTorch 1.13', torchTtaDefault, res.torchTta],
  ['PyTorch 1.13, malloc tuned', torchTtaTuned, res.torchTtaTuned],
])
  if (secs !== null)
    lines.push(
      `| ${label} | ${fmt(secs, 2)} | ${reps.map((x) => x.epochs).join(', ')} | ${fmt(secs / torchTta, 2)}x |`,
    );
lines.push('');
lines.push(`| per-op overhead, a + b on 10 elements | us |`);
lines.push('| --- | ---: |');
lines.push(`| nodegrad ng.add | ${fmt(perOp, 3)} |`);
if (torchOp !== null) lines.push(`| PyTorch a + b | ${fmt(torchOp, 3)} |`);

// The native step against the machine's limits, on the thread count the native rows used.
let stepLimit = null;
if (limits && haveNative) {
  const t = ng.backends().native.getNumThreads();
  const peak = limits.peakGflops[t] ?? limits.peakGflops[limits.threads];
  const bw = limits.bandwidthGBs[t] ?? limits.bandwidthGBs[limits.threads];
  const lim = mlpStepLimit({ B, D, H, C }, peak, bw);
  const ms = (B / medOf(res.native, 'samplesPerS')) * 1000;
  const gflops = lim.flops / (ms * 1e6);
  stepLimit = { threads: t, peakGflops: peak, bandwidthGBs: bw, ...lim, stepMs: ms, gflops };
  lines.push('');
  lines.push(
    `| native MLP step vs this machine (${limits.isa} probe, ${t} threads, load ${limits.loadavg.join(' ')}) | value |`,
  );
  lines.push('| --- | ---: |');
  lines.push(`| measured FP32 FMA peak / STREAM triad | ${fmt(peak, 0)} GFLOPS / ${fmt(bw, 1)} GB/s |`);
  lines.push(`| step work: GEMM / memory traffic | ${fmt(lim.flops / 1e6, 1)} Mflop / ${fmt(lim.bytes / 1e6, 2)} MB |`);
  lines.push(
    `| limit: GEMM at peak + traffic at bandwidth | ${fmt(lim.gemmMs, 3)} + ${fmt(lim.memMs, 3)} = ${fmt(lim.ms, 3)} ms (${fmt((B / lim.ms) * 1000)} samples/s) |`,
  );
  lines.push(`| achieved step | ${fmt(ms, 3)} ms, ${fmt(gflops, 0)} GFLOPS |`);
  lines.push(`| fraction of FMA peak | ${fmt(gflops / peak, 2)} |`);
  lines.push(`| fraction of the limit (target >= 0.75) | ${fmt(lim.ms / ms, 2)} |`);
}

const ratios = {
  stepVsLimit: stepLimit ? stepLimit.ms / stepLimit.stepMs : null,
  nativeVsTorch: haveNative && torchSps ? medOf(res.native, 'samplesPerS') / torchSps : null,
  ttaNativeVsTorch: nativeTta !== null && torchTta ? nativeTta / torchTta : null,
  tsVsTfjsWasm: res.ts.length && tfWasm ? medOf(res.ts, 'samplesPerS') / tfWasm.value : null,
  wasmVsTs: res.wasm.length && res.ts.length ? medOf(res.wasm, 'samplesPerS') / medOf(res.ts, 'samplesPerS') : null,
  wasmVsTfjsWasm: res.wasm.length && tfWasm ? medOf(res.wasm, 'samplesPerS') / tfWasm.value : null,
  perOpVsTorch: torchOp ? perOp / torchOp : null,
};
lines.push('');
lines.push(
  `Targets (against PyTorch's best setting): native >= 2.0x PyTorch: ${fmt(ratios.nativeVsTorch, 2)}x; time to 88% <= 0.5x PyTorch's: ${fmt(ratios.ttaNativeVsTorch, 2)}x; ` +
    `TS >= 1.0x tfjs-wasm: ${fmt(ratios.tsVsTfjsWasm, 2)}x; per-op <= PyTorch's: ${fmt(perOp, 3)} us vs ${fmt(torchOp, 3)} us; ` +
    `wasm >= 3x TS: ${fmt(ratios.wasmVsTs, 2)}x; wasm >= 2x tfjs-wasm: ${fmt(ratios.wasmVsTfjsWasm, 2)}x (both single-threaded).`,
);
console.log(lines.join('\n'));

const outDir = path.join(here, 'results');
fs.mkdirSync(outDir, { recursive: true });
const out = {
  when: new Date().toISOString(),
  seconds: Math.round((performance.now() - started) / 100) / 10,
  machine,
  setup: {
    arch: '784-256-10',
    batch: B,
    optimizer: 'Adam lr 1e-3',
    steps: STEPS,
    warmup: WARMUP,
    tsSteps: TS_STEPS,
    wasmSteps: WASM_STEPS,
    reps: REPS,
    target: TARGET,
  },
  rows,
  ratios,
  raw: res,
  tta: { nativeSeconds: nativeTta, torchSeconds: torchTta },
  perOp: { nodegradUs: perOp, torchUs: torchOp },
  peers: { tfjsWasm: tfWasm, tfjsCpu: tfCpu },
  limits,
  stepLimit,
};
fs.writeFileSync(path.join(outDir, 'train.json'), `${JSON.stringify(out, null, 2)}\n`);
log(`wrote bench/results/train.json (${out.seconds} s)`);
