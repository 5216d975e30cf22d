// Training off the event loop: while fitInWorker trains, an HTTP server in this process keeps
// answering and the event-loop delay stays low (p99 < 20 ms, sampled every 1 ms); the same
// measurement around the synchronous fit shows the difference (the loop is blocked for the
// whole run). The numbers are recorded in docs/GUARANTEES.md.
//
// Node's histogram records the time between its timer's callbacks, so every sample includes
// the resolution itself: with a 1 ms resolution an idle loop reads ~1-2 ms. A blocked loop
// takes no samples while blocked (a 2 s block is ONE sample among hundreds), so its p99 hides
// the block; the comparison with fit therefore also uses the time-weighted p99 ("corrected":
// each delay D also counts the samples the block swallowed, D - r, D - 2r, ..., the usual
// coordinated-omission correction), from a plain 1 ms interval timer.
//
// The second test measures the whole fitInWorker call, its start included, on Fashion-MNIST's
// 60,000 training images (188 MB of float32): from a timer tick just before the call until the
// worker has trained an epoch and exited. See that test for why its limits hold.
import { describe, expect, it } from 'vitest';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Dataset, loadDigits, loadFashionMnist } from '../lib/data/index.js';
import { mlp, moduleFromSpec } from '../lib/nn/index.js';
import { fit } from '../lib/train/fit.js';
import { fitInWorker, AbortError } from '../lib/worker/index.js';
import { requireBuiltWorker } from './fixtures/dist.js';

const RESOLUTION_MS = 1;
/** `stated` on a quiet machine; twice the loop's own delay without fitInWorker when that is more. */
const limit = (stated: number, idle: number): number => Math.max(stated, 2 * idle);
const WINDOW_MS = 2000;
const train = loadDigits();
const spec = mlp(64, [128], 10).spec();

interface Measure {
  p99: number;
  /** Time-weighted p99 (coordinated-omission corrected), from our own 1 ms sampler. */
  correctedP99: number;
  max: number;
  /** The longest our own 1 ms timer waited past its due time. */
  maxLate: number;
  mean: number;
  samples: number;
  requests: number;
  failed: number;
  maxLatency: number;
}

/** Runs `during` while measuring the loop delay and hitting `url` every 10 ms. */
async function measure(url: string, during: () => Promise<void>): Promise<Measure> {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let requests = 0;
  let failed = 0;
  let maxLatency = 0;
  let stop = false;
  const pending = new Set<Promise<void>>();
  const client = setInterval(() => {
    if (stop) return;
    const t0 = performance.now();
    const p = new Promise<void>((resolve) => {
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) requests++;
            else failed++;
            maxLatency = Math.max(maxLatency, performance.now() - t0);
            resolve();
          });
        })
        .on('error', () => {
          failed++;
          resolve();
        });
    });
    pending.add(p);
    void p.then(() => pending.delete(p));
  }, 10);
  const lateness: number[] = [];
  let expected = performance.now() + RESOLUTION_MS;
  const sampler = setInterval(() => {
    const now = performance.now();
    lateness.push(Math.max(0, now - expected));
    expected = now + RESOLUTION_MS;
  }, RESOLUTION_MS);
  h.enable();
  try {
    await during();
  } finally {
    h.disable();
    clearInterval(sampler);
    stop = true;
    clearInterval(client);
    await Promise.all(pending);
    agent.destroy();
  }
  const ms = (ns: number) => ns / 1e6;
  return {
    p99: ms(h.percentile(99)),
    correctedP99: correctedPercentile(lateness, 99),
    max: ms(h.max),
    maxLate: Math.max(0, ...lateness),
    mean: ms(h.mean),
    samples: h.count,
    requests,
    failed,
    maxLatency,
  };
}

/** The p-th percentile once each delay D also stands for the samples it swallowed: D - r, D - 2r, ... > 0. */
function correctedPercentile(lateness: number[], p: number): number {
  const all: number[] = [];
  for (const d of lateness) {
    all.push(d);
    for (let v = d - RESOLUTION_MS; v > 0; v -= RESOLUTION_MS) all.push(v);
  }
  all.sort((a, b) => a - b);
  return all[Math.min(all.length - 1, Math.floor((p / 100) * all.length))] ?? 0;
}

const fmt = (m: Measure) =>
  `p99 ${m.p99.toFixed(1)} ms (time-weighted ${m.correctedP99.toFixed(1)} ms), max ${m.max.toFixed(1)} ms (timer late by ${m.maxLate.toFixed(1)} ms at most), mean ${m.mean.toFixed(1)} ms (${m.samples} samples); ` +
  `${m.requests} HTTP responses (${m.failed} failed), slowest ${m.maxLatency.toFixed(1)} ms`;

describe('training off the event loop', () => {
  it('an HTTP server keeps answering and the loop delay p99 stays < 20 ms while a worker trains; not so with fit', async () => {
    requireBuiltWorker();
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const idle = await measure(url, () => new Promise((resolve) => setTimeout(resolve, 1000)));
      // In the worker: train for WINDOW_MS (many epochs, then abort), one kernel thread so that
      // this 2-core machine keeps a core for the main thread.
      const inWorker = async (): Promise<Measure> =>
        measure(url, async () => {
          const controller = new AbortController();
          const job = fitInWorker(
            { spec },
            { train, epochs: 100_000, batchSize: 32, threads: 1, seed: 1, signal: controller.signal },
          );
          let epochs = 0;
          job.on('epoch', () => epochs++);
          const timer = setTimeout(() => controller.abort(), WINDOW_MS);
          const err = await job.result.then(
            () => null,
            (e: Error) => e,
          );
          clearTimeout(timer);
          expect(err).toBeInstanceOf(AbortError);
          expect(epochs).toBeGreaterThan(0); // it did train
        });
      // A loaded machine can stall any thread now and then: the better of two runs.
      const tries = [await inWorker()];
      if (tries[0].p99 >= limit(20, idle.p99)) tries.push(await inWorker());
      const worker = tries.reduce((a, b) => (b.p99 < a.p99 ? b : a));

      // On this thread: fit for about as long, started from a timer so the loop is running.
      const sync = await measure(
        url,
        () =>
          new Promise<void>((resolve, reject) => {
            setTimeout(() => {
              try {
                const model = moduleFromSpec(spec);
                const t0 = performance.now();
                fit(model, {
                  train,
                  epochs: 100_000,
                  batchSize: 32,
                  seed: 1,
                  progress: false,
                  callbacks: { onEpochEnd: () => performance.now() - t0 < WINDOW_MS },
                });
                setTimeout(resolve, 100); // let the monitor take its late sample
              } catch (err) {
                reject(err);
              }
            }, 50);
          }),
      );

      console.log(`event loop idle (HTTP client only):    ${fmt(idle)}`);
      console.log(
        `event loop while training in a worker: ${fmt(worker)}${tries.length > 1 ? ` (second try; first: p99 ${tries[0].p99.toFixed(1)} ms)` : ''}`,
      );
      console.log(`event loop while training with fit:    ${fmt(sync)}`);
      expect(worker.failed).toBe(0);
      expect(worker.requests).toBeGreaterThan(WINDOW_MS / 10 / 4); // answered all along
      expect(worker.p99).toBeLessThan(limit(20, idle.p99)); // 20 ms unless the machine alone is slower (see limit)
      // fit holds the loop for the whole run: one enormous delay, which dominates the time-weighted p99
      expect(sync.max).toBeGreaterThan(Math.max(500, 10 * worker.p99));
      expect(sync.correctedP99).toBeGreaterThan(Math.max(100, 5 * worker.correctedP99));
    } finally {
      server.close();
    }
  });
});

const FASHION_DIR = path.join(__dirname, '..', '..', 'shared', 'data', 'fashion-mnist');

describe("fitInWorker's start on the full Fashion-MNIST training set", () => {
  // Why the limits hold (p99 < 20 ms, max < 50 ms over the whole call):
  // - loadFashionMnist allocates x and y in SharedArrayBuffers, so the call copies nothing: its
  //   synchronous part checks the options, copies the model's weights (0.4 MB here) and
  //   constructs the Worker, a few ms together; everything else (importing nodegrad, building the
  //   model, training) happens in the worker.
  // - A Dataset in ordinary memory is copied into shared memory in slices of ~4 ms
  //   (lib/worker/datasets.ts), between which the loop runs timers and I/O; before, that copy held
  //   the loop 0.6-1.7 s at once.
  // - The worker trains with one kernel thread, so this 2-core machine keeps a core for this
  //   thread. Other processes on the machine can still stall any thread: the loop's delay in the
  //   same run without fitInWorker is measured for 1 s just before and just after each try (the
  //   slower of the two is printed beside it). When that loop alone is already slower than half a
  //   limit (a machine loaded by other processes: a load average of 7 on 2 cores gave an idle max
  //   of 35 ms), the limit becomes twice what it shows, so the test measures what fitInWorker
  //   adds, not the neighbours. A try over the limits is run again (at most four), since a block
  //   of fitInWorker's own would fail them all; the 0.6-1.7 s copy this replaced fails any of
  //   these limits many times over.
  // The monitor is enabled and ticking before the call, which runs in a timer callback: a block
  // that starts before the histogram's first tick is never recorded by it.
  it('keeps the event-loop delay p99 < 20 ms and max < 50 ms from the call until the worker has trained an epoch', async (ctx) => {
    if (!fs.existsSync(path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz'))) {
      ctx.skip(`Fashion-MNIST is not at ${FASHION_DIR} (see /work/shared/data/README.md)`);
    }
    requireBuiltWorker();
    const shared = loadFashionMnist(FASHION_DIR).train;
    expect(shared.length).toBe(60_000);
    expect(shared.x.buffer).toBeInstanceOf(SharedArrayBuffer); // the loader's doing: nothing to copy
    const plain = new Dataset({ x: shared.x.slice(), y: shared.y.slice(), shape: shared.shape, numClasses: 10 });
    expect(plain.x.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const fashionSpec = mlp(784, [128], 10).spec();

    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const run = async (train: Dataset) => {
        const times = { firstStep: 0, done: 0 };
        const m = await measure(url, async () => {
          await sleep(100);
          const t0 = performance.now();
          const job = fitInWorker({ spec: fashionSpec }, { train, epochs: 1, batchSize: 256, threads: 1, seed: 1 });
          job.on('step', () => {
            times.firstStep ||= performance.now() - t0;
          });
          const { history } = await job.result;
          times.done = performance.now() - t0;
          expect(history.epochs).toHaveLength(1);
          await sleep(50); // let the monitor take a late sample
        });
        return { m, times };
      };
      for (const [name, train] of [
        ['loaded (shared) dataset', shared],
        ['dataset in ordinary memory', plain],
      ] as const) {
        const tries: { idle: Measure; m: Measure; times: { firstStep: number; done: number } }[] = [];
        const within = (t: (typeof tries)[number]) =>
          t.m.p99 < limit(20, t.idle.p99) && t.m.max < limit(50, t.idle.max) && t.m.failed === 0;
        do {
          const before = await measure(url, () => sleep(1000));
          const r = await run(train);
          const after = await measure(url, () => sleep(1000));
          tries.push({ idle: before.max >= after.max ? before : after, ...r });
        } while (!within(tries[tries.length - 1]) && tries.length < 4);
        for (const t of tries) {
          console.log(`event loop without fitInWorker:  ${fmt(t.idle)}`);
          console.log(
            `fitInWorker, ${name}: ${fmt(t.m)}; first step after ${t.times.firstStep.toFixed(0)} ms, ` +
              `epoch trained and worker gone after ${t.times.done.toFixed(0)} ms`,
          );
        }
        const best = tries[tries.length - 1];
        expect(best.m.failed).toBe(0);
        expect(best.m.p99).toBeLessThan(limit(20, best.idle.p99));
        expect(best.m.max).toBeLessThan(limit(50, best.idle.max));
      }
    } finally {
      server.close();
    }
  }, 120_000);
});
