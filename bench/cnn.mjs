// CNN benchmark: the anchor CNN of ../shared/anchors/train_cnn_torch.py -- Conv2d(1,32,5,p2)-ReLU-
// MaxPool2 -> Conv2d(32,64,5,p2)-ReLU-MaxPool2 -> Linear(3136,256)-ReLU -> Linear(256,10), softmax
// cross-entropy, Adam lr 1e-3, batch 64, Fashion-MNIST -- for nodegrad native and TS and, in the
// same run, PyTorch 1.13 (oneDNN convolutions) at 1 and 2 threads, by default and with glibc's
// malloc kept off mmap (bench/util.mjs's MALLOC_TUNED: on this VM the default costs PyTorch up to
// 3x; ratios are against its best row). The machine is shared, so the
// figures that count are the ratios of one run; wall time and the process's CPU time are both
// printed (samples per CPU-second stay comparable when other processes take cores away).
//
// Measures:
// - throughput: samples/s over --steps training steps after a warm-up, on batches of the
//   training set in order (train_cnn_torch.py's throughput mode), with each one's last loss;
// - achieved GFLOPS of a training step (its FLOPs computed from the layer shapes: forward,
//   input gradients but the first layer's, weight gradients) and, with a peak figure
//   (bench/machine.mjs's FMA probe when present, or --peak GFLOPS), the fraction of it;
// - the step profile: every kernel call of the native step timed, grouped by layer;
// - time to 91% test accuracy (--tta; train_cnn_torch.py --mode tta against nodegrad's same
//   loop: reshuffled epochs, batch 64, test accuracy after each epoch).
// Prints markdown tables and writes bench/results/cnn.json.
//
// Usage: node bench/cnn.mjs [--steps 60] [--ts-steps 2 (0: no TS row)] [--no-torch] [--tta] [--peak GFLOPS]
// (`npm run bench:cnn` compiles the TS to dist/ first.)
import { measureMachine } from './machine.mjs';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, opt, peerEnv } from './util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const require = createRequire(import.meta.url);
const ng = require('../dist/index.js');

const STEPS = opt('--steps', 60);
const WARMUP = 5;
const TS_STEPS = opt('--ts-steps', 2);
const B = 64;
const TARGET = 0.91;
const MAX_EPOCHS = 15;
const ANCHORS = process.env.NODEGRAD_ANCHORS ?? path.join(root, '..', 'shared', 'anchors');
const DATA_DIR = process.env.FASHION_MNIST_DIR ?? path.join(root, '..', 'shared', 'data', 'fashion-mnist');
const PYTHON = '/usr/bin/python3';
const log = (...a) => console.error('[bench:cnn]', ...a);

const { train, test } = ng.loadFashionMnist(DATA_DIR);
const { nn } = ng;

function makeModel(seed) {
  ng.manualSeed(seed);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 32, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64 * 7 * 7, 256),
    new nn.ReLU(),
    new nn.Linear(256, 10),
  );
  return { model, opt: new ng.optim.Adam(model.parameters(), { lr: 1e-3 }) };
}

/**
 * FLOPs of one training step a sample, from the layer shapes: 2 * MACs for the forward, the
 * weight gradient, and the input gradient of every layer but the first (its input needs none).
 */
function stepFlopsPerSample() {
  const conv = (cin, cout, k, hw) => 2 * cout * hw * cin * k * k;
  const layers = [conv(1, 32, 5, 28 * 28), conv(32, 64, 5, 14 * 14), 2 * 3136 * 256, 2 * 256 * 10];
  return layers.reduce((s, f, i) => s + f * (i === 0 ? 2 : 3), 0);
}
const FLOPS = stepFlopsPerSample();

function step(model, opt, x, y, j) {
  const xb = new ng.Tensor(x.subarray(j * B * 784, (j + 1) * B * 784), [B, 1, 28, 28]);
  opt.zeroGrad();
  const loss = ng.crossEntropy(model.forward(xb), y.subarray(j * B, (j + 1) * B));
  loss.backward();
  opt.step();
  return loss;
}

/** Samples/s (wall and per CPU-second) over `steps` steps after the warm-up, and the last loss. */
function throughput(backend, steps, warmup) {
  return ng.withBackend(backend, () => {
    const { model, opt } = makeModel(0);
    for (let i = 0; i < warmup; i++) step(model, opt, train.x, train.y, i);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let loss;
    for (let i = 0; i < steps; i++) loss = step(model, opt, train.x, train.y, warmup + i);
    const finalLoss = loss.item();
    const dt = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    return {
      samplesPerS: (steps * B) / dt,
      samplesPerCpuS: (steps * B) / cpu,
      msPerStep: (dt / steps) * 1000,
      finalLoss,
    };
  });
}

/** Where a native step's time goes: each kernel call timed, grouped by what it computes. */
function profile(steps) {
  const K = ng.backends().native;
  const names = Object.keys(K).filter((n) => typeof K[n] === 'function' && !/Threads|simd|Simd|name/.test(n));
  const saved = new Map(names.map((n) => [n, K[n]]));
  const acc = new Map();
  const group = (name, a) => {
    // the first layer has one input channel (Cg, argument 5 of conv2d, 4 of its gradients)
    if (name.startsWith('conv2d')) return `${name} (${a[name === 'conv2d' ? 5 : 4] === 1 ? 'conv1' : 'conv2'})`;
    if (name === 'gemm') return 'gemm (linear layers)';
    return name;
  };
  for (const n of names) {
    const f = saved.get(n);
    K[n] = (...a) => {
      const t0 = performance.now();
      const r = f(...a);
      const key = group(n, a);
      acc.set(key, (acc.get(key) ?? 0) + performance.now() - t0);
      return r;
    };
  }
  try {
    const r = ng.withBackend('native', () => {
      const { model, opt } = makeModel(0);
      for (let i = 0; i < WARMUP; i++) step(model, opt, train.x, train.y, i);
      acc.clear();
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) step(model, opt, train.x, train.y, WARMUP + i);
      return (performance.now() - t0) / steps;
    });
    const rows = [...acc]
      .map(([k, ms]) => ({ what: k, msPerStep: ms / steps }))
      .sort((a, b) => b.msPerStep - a.msPerStep);
    const kernels = rows.reduce((s, r) => s + r.msPerStep, 0);
    rows.push({ what: 'outside kernels (JS, autograd, allocation)', msPerStep: r - kernels });
    return { msPerStep: r, rows };
  } finally {
    for (const [n, f] of saved) K[n] = f;
  }
}

/** Seconds (training + test evaluation after each epoch) to TARGET test accuracy, as train_cnn_torch.py --mode tta. */
function timeToAccuracy(seed) {
  return ng.withBackend('native', () => {
    const { model, opt } = makeModel(seed);
    const loader = new ng.DataLoader(train, { batchSize: B, shuffle: true, dropLast: true, seed });
    const t0 = performance.now();
    const accs = [];
    let acc = 0;
    while (acc < TARGET && accs.length < MAX_EPOCHS) {
      for (const batch of loader) {
        opt.zeroGrad();
        const loss = ng.crossEntropy(model.forward(new ng.Tensor(batch.x, [B, 1, 28, 28])), batch.y);
        loss.backward();
        opt.step();
      }
      acc = ng.evaluate(model, test, { batchSize: 1000 }).accuracy;
      accs.push(Math.round(acc * 1e4) / 1e4);
      log(`tta epoch ${accs.length}: test accuracy ${acc}`);
    }
    return {
      seconds: (performance.now() - t0) / 1000,
      epochs: accs.length,
      reached: acc >= TARGET,
      testAccByEpoch: accs,
    };
  });
}

/** train_cnn_torch.py's JSON lines; `tuned`: with MALLOC_TUNED (bench/util.mjs says why), rows tagged so. */
function torch(args, timeout, tuned = false) {
  if (flag('--no-torch') || !fs.existsSync(path.join(ANCHORS, 'train_cnn_torch.py'))) return [];
  const env = peerEnv(tuned);
  const r = spawnSync(PYTHON, ['train_cnn_torch.py', ...args], { encoding: 'utf8', timeout, cwd: ANCHORS, env });
  if (r.status !== 0) {
    log(`train_cnn_torch.py ${args.join(' ')} failed: ${(r.stderr || '').split('\n').slice(-3).join(' | ')}`);
    return [];
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => ({ ...JSON.parse(l), tuned }));
}
const torchLabel = (r) => `PyTorch 1.13, ${r.name.endsWith('T1') ? 1 : 2} thread(s)${r.tuned ? ', malloc tuned' : ''}`;

/** The machine's FP32 FMA peak in GFLOPS on the threads native uses: --peak, or bench/machine.mjs's probe. */
async function peakGflops() {
  const given = opt('--peak', null);
  if (given !== null) return { gflops: given, source: '--peak' };
  const m = measureMachine();
  if (m === null) return null;
  const t = ng.backends().native.getNumThreads();
  return { gflops: m.peakGflops[t] ?? m.peakGflops[m.threads], source: `bench/machine.mjs (${m.isa}, ${t} threads)` };
}

// ---------------------------------------------------------------------------------------------

const t0 = performance.now();
const check = throughput('native', 3, 0);
if (!Number.isFinite(check.finalLoss)) throw new Error('the native CNN step gives a non-finite loss');
log(`native (${ng.kernels().simd?.() ?? ''}, ${ng.backends().native.getNumThreads()} threads): ${STEPS} steps`);
const native = throughput('native', STEPS, WARMUP);
log(`native ${native.samplesPerS.toFixed(0)} samples/s; PyTorch ...`);
const torchArgs = ['--threads', '1,2', '--steps', String(STEPS), '--warmup', String(WARMUP)];
const torchRows = [...torch(torchArgs, 900_000), ...torch(torchArgs, 900_000, true)];
log(`TS: ${TS_STEPS} steps`);
// --ts-steps 0 leaves the TS backend out (its step takes seconds: A/B runs of native builds skip it)
const ts = TS_STEPS > 0 ? throughput('ts', TS_STEPS, 1) : null;
const prof = profile(Math.max(5, Math.floor(STEPS / 4)));
const peak = await peakGflops();
const best = torchRows.reduce((b, r) => (b === null || r.value > b.value ? r : b), null);
// Time to accuracy: nodegrad, and PyTorch on 1 thread by default (the setting the issue quotes)
// and on its best throughput setting with malloc tuned; the ratio is against the faster.
let tta = null;
if (flag('--tta')) {
  const tunedBest = torchRows.filter((r) => r.tuned).reduce((b, r) => (b === null || r.value > b.value ? r : b), null);
  const tunedThreads = tunedBest?.name.endsWith('T2') ? '2' : '1';
  tta = {
    native: timeToAccuracy(0),
    torch: [
      ...torch(['--threads', '1', '--mode', 'tta'], 7_200_000),
      ...torch(['--threads', tunedThreads, '--mode', 'tta'], 7_200_000, true),
    ],
  };
}
const gflops = (sps) => (sps * FLOPS) / 1e9;
const fmt = (v, d = 0) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));
const rows = [
  ['nodegrad native', native.samplesPerS, native.samplesPerCpuS, native.finalLoss],
  ...(ts ? [['nodegrad ts', ts.samplesPerS, ts.samplesPerCpuS, ts.finalLoss]] : []),
  ...torchRows.map((r) => [torchLabel(r), r.value, null, null]),
];
console.log(`\nAnchor CNN training, batch ${B}, ${(FLOPS / 1e6).toFixed(1)} MFLOP a sample (forward + backward)\n`);
console.log('| implementation | samples/s | samples/CPU-s | GFLOPS | of FMA peak | vs PyTorch best | last loss |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [name, sps, cps, loss] of rows) {
  const frac = peak ? `${((100 * gflops(sps)) / peak.gflops).toFixed(1)}%` : 'n/a';
  const ratio = best ? `${(sps / best.value).toFixed(2)}x` : 'n/a';
  console.log(
    `| ${name} | ${fmt(sps)} | ${fmt(cps)} | ${fmt(gflops(sps), 1)} | ${frac} | ${ratio} | ${fmt(loss, 4)} |`,
  );
}
if (peak) console.log(`\nFMA peak ${peak.gflops.toFixed(0)} GFLOPS (${peak.source})`);
console.log(`\nNative step profile (${prof.msPerStep.toFixed(1)} ms a step)\n`);
console.log('| where | ms a step | share |');
console.log('| --- | --- | --- |');
for (const r of prof.rows)
  console.log(`| ${r.what} | ${r.msPerStep.toFixed(2)} | ${((100 * r.msPerStep) / prof.msPerStep).toFixed(1)}% |`);
if (tta) {
  console.log(`\nTime to ${TARGET * 100}% test accuracy\n`);
  console.log('| implementation | seconds | epochs | vs PyTorch fastest |');
  console.log('| --- | --- | --- | --- |');
  const tn = tta.native;
  const fastest = tta.torch.reduce((b, r) => (r.value !== null && (b === null || r.value < b) ? r.value : b), null);
  const ratio = (secs) => (secs !== null && fastest ? (secs / fastest).toFixed(2) : 'n/a');
  console.log(`| nodegrad native | ${fmt(tn.seconds, 1)} | ${tn.epochs} | ${ratio(tn.reached ? tn.seconds : null)} |`);
  for (const r of tta.torch) console.log(`| ${torchLabel(r)} | ${fmt(r.value, 1)} | ${r.epochs} | ${ratio(r.value)} |`);
}
const outDir = path.join(here, 'results');
fs.mkdirSync(outDir, { recursive: true });
const out = {
  date: new Date().toISOString(),
  flopsPerSample: FLOPS,
  steps: STEPS,
  native,
  ts,
  torch: torchRows,
  peak,
  profile: prof,
  tta,
  seconds: Math.round((performance.now() - t0) / 100) / 10,
};
fs.writeFileSync(path.join(outDir, 'cnn.json'), `${JSON.stringify(out, null, 2)}\n`);
log(`wrote bench/results/cnn.json (${out.seconds} s)`);
