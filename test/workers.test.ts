// The addon is context-aware: it loads in the main thread and in several worker threads at once,
// each with its own thread pool and SIMD choice, and computes correctly in all of them.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { backends, info } from '../lib/backend/index.js';
import type { Kernels } from '../lib/backend/types.js';

const native = backends().native;
const skipReason = native ? '' : ` (skipped: no native backend: ${info().nativeError ?? 'unknown reason'})`;
const k = native as Kernels;
const fixtures = path.join(__dirname, 'fixtures');
const { runChecks } = createRequire(__filename)(path.join(fixtures, 'kernel-check.cjs')) as {
  runChecks(addon: unknown, opts: { seed: number; iterations: number }): CheckResult;
};

interface CheckResult {
  gemmErr: number;
  probErr: number;
  lossErr: number;
  bigC: number[];
}
type Message =
  | { type: 'ready' }
  | { type: 'load-error'; message: string }
  | { type: 'loaded'; threads: number; simd: string }
  | ({ type: 'result'; threads: number; simd: string } & CheckResult);

interface Spawned {
  worker: Worker;
  /** Resolves with the next message of the given type (rejects on error, or exit before it). */
  next(type: Message['type']): Promise<Message>;
  exited: Promise<number>;
}

function spawn(data: Record<string, unknown>, env?: NodeJS.ProcessEnv): Spawned {
  const worker = new Worker(path.join(fixtures, 'kernel-worker.cjs'), {
    workerData: { addonPath: info().nativePath, seed: 7, iterations: 3, ...data },
    ...(env ? { env } : {}),
  });
  const queue: Message[] = [];
  const waiters: { type: string; resolve(m: Message): void; reject(e: Error): void }[] = [];
  let failure: Error | null = null;
  const flush = () => {
    for (let i = 0; i < waiters.length; ) {
      const w = waiters[i];
      const j = queue.findIndex((m) => m.type === w.type);
      if (j >= 0) {
        w.resolve(queue.splice(j, 1)[0]);
        waiters.splice(i, 1);
      } else if (failure) {
        w.reject(failure);
        waiters.splice(i, 1);
      } else {
        i++;
      }
    }
  };
  worker.on('message', (m: Message) => {
    queue.push(m);
    flush();
  });
  worker.on('error', (e) => {
    failure = e;
    flush();
  });
  const exited = new Promise<number>((resolve) =>
    worker.on('exit', (code) => {
      failure ??= new Error(`worker exited with code ${code}`);
      flush();
      resolve(code);
    }),
  );
  return {
    worker,
    exited,
    next: (type) =>
      new Promise((resolve, reject) => {
        waiters.push({ type, resolve, reject });
        flush();
      }),
  };
}

function expectAccurate(r: CheckResult, who: string): void {
  expect(r.gemmErr, `${who}: gemm error`).toBeLessThan(5e-5);
  expect(r.probErr, `${who}: softmax probs error`).toBeLessThan(1e-6);
  expect(r.lossErr, `${who}: cross-entropy loss relative error`).toBeLessThan(1e-5);
}

describe.skipIf(!native)(`native addon in worker threads${skipReason}`, () => {
  it('computes correctly in the main thread and 4 workers at once, each with its own thread count', async () => {
    const mainThreads = k.getNumThreads();
    const mainSimd = k.simd();
    const configs = [{ threads: 1, simd: 'scalar' }, { threads: 2 }, { threads: 3 }, { threads: 4 }];
    const workers = configs.map((c) => spawn(c));
    try {
      await Promise.all(workers.map((w) => w.next('ready')));
      const results = workers.map((w) => w.next('result'));
      for (const w of workers) w.worker.postMessage('go');
      // The main thread computes while the workers do.
      const mine = runChecks(k, { seed: 7, iterations: 3 });
      const theirs = (await Promise.all(results)) as (Message & { type: 'result' })[];

      expectAccurate(mine, 'main thread');
      theirs.forEach((r, i) => {
        expectAccurate(r, `worker ${i}`);
        expect(r.threads).toBe(configs[i].threads);
        expect(r.simd).toBe(configs[i].simd ?? mainSimd);
      });
      // Setting threads or the SIMD path in a worker does not touch the main thread's instance.
      expect(k.getNumThreads()).toBe(mainThreads);
      expect(k.simd()).toBe(mainSimd);
      // Work is never split over K: same path, same bits, whatever the thread count.
      for (const r of theirs.slice(1)) {
        if (r.simd === mainSimd) expect(r.bigC).toEqual(mine.bigC);
      }
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    } finally {
      await Promise.all(workers.map((w) => w.worker.terminate()));
    }
  });

  it("reads NODEGRAD_THREADS and NODEGRAD_SIMD from the worker's own env", async () => {
    const w = spawn({ mode: 'load' }, { ...process.env, NODEGRAD_THREADS: '2', NODEGRAD_SIMD: 'scalar' });
    const m = (await w.next('loaded')) as Message & { type: 'loaded' };
    expect(m).toMatchObject({ threads: 2, simd: 'scalar' });
    expect(await w.exited).toBe(0);
  });

  it('a worker whose env names a bad SIMD path fails to load, saying why, and the main thread is unaffected', async () => {
    const w = spawn({ mode: 'load' }, { ...process.env, NODEGRAD_SIMD: 'bogus' });
    const m = (await w.next('load-error')) as Message & { type: 'load-error' };
    expect(m.message).toBe("NODEGRAD_SIMD='bogus' is not a SIMD path (expected scalar, avx2, avx512, neon or simd128)");
    expect(await w.exited).toBe(0);
    const C = new Float32Array(1);
    k.gemm(false, false, 1, 1, 1, 1, Float32Array.of(3), Float32Array.of(4), 0, C);
    expect(C[0]).toBe(12);
  });

  it('survives workers terminated in the middle of a multi-threaded gemm', async () => {
    const workers = [spawn({ mode: 'spin', threads: 2 }), spawn({ mode: 'spin', threads: 3 })];
    await Promise.all(workers.map((w) => w.next('ready')));
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all(workers.map((w) => w.worker.terminate()));
    const r = runChecks(k, { seed: 3, iterations: 1 });
    expectAccurate(r, 'main thread after the terminations');
  });

  it('loads and unloads in many short-lived workers', async () => {
    for (let round = 0; round < 2; round++) {
      const ws = Array.from({ length: 4 }, (_, i) => spawn({ mode: 'load', threads: i + 1 }));
      const loaded = (await Promise.all(ws.map((w) => w.next('loaded')))) as (Message & { type: 'loaded' })[];
      expect(loaded.map((m) => m.threads)).toEqual([1, 2, 3, 4]);
      expect(await Promise.all(ws.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    }
  });
});
