// All-reduce on Gloo over loopback against the training step it would be part of: the MLP
// 784-256(ReLU)-10 (203,530 parameters, bench/train.mjs's), batch 256, Adam. Run with no
// environment and it starts itself as `nodegrad launch --nproc N` (default 2); rank 0 prints.
//
// Measures, medians of --reps timed repetitions after a warm-up:
// - the step alone (forward, backward, optimizer step) at batch 256 in one process;
// - allReduceSync of the gradients' 203,530 floats, raw and through DistributedDataParallel
//   (bucket copy in and out included), and the promise allReduce (thread-pool hop included);
// - a data-parallel step: batch 256 / N a rank, gradients averaged, so the same global batch;
// - allReduce at sizes from 1 k to 4 M floats, for the latency + bandwidth fit BENCHMARKS.md uses.
// It first checks that the all-reduce is right (sum of every rank's values), then times.
//
// Usage: node bench/allreduce.mjs [--nproc 2] [--reps 50]   (npm run bench:allreduce builds dist/ first)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { opt, median } from './util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ng = require('../dist/index.js');
const d = ng.distributed;

if (process.env.RANK === undefined) {
  const nproc = String(opt('--nproc', 2));
  const r = spawnSync(
    process.execPath,
    [
      path.join(here, '..', 'bin', 'nodegrad.js'),
      'launch',
      '--nproc',
      nproc,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

const REPS = opt('--reps', 50);
const WARMUP = 10;
const B = 256;
const D = 784;
const H = 256;
const C = 10;

/**
 * Medians of the named functions' times, interleaved rep by rep (the machine is shared: a burst
 * of load hits every measurement alike), each rep started on every rank together by a barrier.
 */
async function timeAll(fns, reps = REPS) {
  const names = Object.keys(fns);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (let rep = -WARMUP; rep < reps; rep++) {
    for (const k of names) {
      d.barrierSync();
      const t0 = process.hrtime.bigint();
      await fns[k]();
      if (rep >= 0) times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(times[k])]));
}

function trainer(batch) {
  ng.manualSeed(1);
  const model = new ng.nn.Sequential(new ng.nn.Linear(D, H), new ng.nn.ReLU(), new ng.nn.Linear(H, C));
  const optimizer = new ng.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = ng.randn([batch, D]);
  const y = Int32Array.from({ length: batch }, (_, i) => i % C);
  const backward = () => {
    optimizer.zeroGrad();
    ng.softmaxCrossEntropy(model.forward(x), y).backward();
  };
  return { model, optimizer, backward };
}

async function main() {
  await d.init();
  const rank = d.getRank();
  const world = d.getWorldSize();

  // right first: every rank's values summed
  const check = new Float32Array(203_530).fill(rank + 1);
  d.allReduceSync(check, 'sum');
  const want = (world * (world + 1)) / 2;
  if (!check.every((v) => v === want)) throw new Error(`allReduce is wrong: ${check[0]} != ${want}`);

  const single = trainer(B);
  const nParams = single.model.numParameters();
  const grads = new Float32Array(nParams);
  const ddp = new d.DistributedDataParallel(single.model);
  const local = trainer(B / world);
  const localDdp = new d.DistributedDataParallel(local.model);
  single.backward();
  const t = await timeAll({
    step: () => {
      single.backward();
      single.optimizer.step();
    },
    raw: () => d.allReduceSync(grads, 'mean'),
    ddp: () => ddp.allReduceGradients(),
    promise: () => d.allReduce(grads, 'mean'),
    localStep: () => {
      local.backward();
      local.optimizer.step();
    },
    dpStep: () => {
      local.backward();
      localDdp.allReduceGradients();
      local.optimizer.step();
    },
  });
  const stepMs = t.step;
  const [rawMs, ddpMs, asyncMs, localStepMs, dpStepMs] = [t.raw, t.ddp, t.promise, t.localStep, t.dpStep];

  const sizes = [1_000, 10_000, 100_000, 203_530, 1_000_000, 4_000_000];
  const buffers = sizes.map((n) => new Float32Array(n));
  const bySizeMs = await timeAll(
    Object.fromEntries(sizes.map((n, i) => [n, () => d.allReduceSync(buffers[i], 'sum')])),
  );
  const bySize = sizes.map((n) => ({ n, ms: bySizeMs[n] }));

  if (rank === 0) {
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(
      `\nGloo all-reduce over loopback, ${world} processes, ${cpu} x${os.cpus().length}, Node ${process.version}, ` +
        `load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}; MLP 784-256-10 (${nParams.toLocaleString('en')} floats), ` +
        `backend ${ng.backend()}; medians of ${REPS}\n`,
    );
    const f = (ms) => ms.toFixed(3);
    console.log('| what | ms | x step (batch 256, one process) |');
    console.log('| --- | ---: | ---: |');
    const row = (what, ms) => console.log(`| ${what} | ${f(ms)} | ${(ms / stepMs).toFixed(2)} |`);
    row('training step, batch 256, one process (forward, backward, Adam)', stepMs);
    row(`allReduceSync of the ${nParams.toLocaleString('en')} gradient floats (mean)`, rawMs);
    row('the same through DistributedDataParallel (bucket copies included)', ddpMs);
    row('the same as a promise (allReduce: thread-pool hop included)', asyncMs);
    row(`training step, batch ${B / world} a rank, no all-reduce`, localStepMs);
    row(`data-parallel step, batch ${B / world} a rank x ${world} (global 256), with the all-reduce`, dpStepMs);
    console.log(
      `\nData-parallel samples/s: ${Math.round((B / dpStepMs) * 1000).toLocaleString('en')} (${world} processes) vs ` +
        `${Math.round((B / stepMs) * 1000).toLocaleString('en')} (one process): x${(stepMs / dpStepMs).toFixed(2)}`,
    );
    console.log('\n| floats | MB | allReduceSync ms | algorithm bandwidth GB/s |');
    console.log('| ---: | ---: | ---: | ---: |');
    for (const { n, ms } of bySize)
      console.log(
        `| ${n.toLocaleString('en')} | ${((n * 4) / 1e6).toFixed(2)} | ${f(ms)} | ${((n * 4) / 1e6 / ms).toFixed(2)} |`,
      );
    // latency + size / bandwidth, least squares over the sizes
    const xs = bySize.map((s) => s.n * 4);
    const ys = bySize.map((s) => s.ms);
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    console.log(
      `\nFit: t = ${(my - slope * mx).toFixed(3)} ms + bytes / ${(1 / slope / 1e6).toFixed(2)} GB/s (loopback, ${world} ranks)`,
    );
  }
  await d.destroy();
}

main().catch((err) => {
  console.error(`rank ${process.env.RANK}: ${err.message}`);
  process.exit(1);
});
