/**
 * `nodegrad bench`: native against TypeScript on this machine. Each backend first shows it
 * computes the right numbers (a GEMM against a float64 reference, the first training loss
 * against the other backend's), then is timed: training steps/s of a 784-256-10 MLP at batch 256
 * with Adam on random data, and GEMM GFLOPS at 512 x 512 x 512.
 */
import {
  Tensor,
  Rng,
  backends,
  info,
  kernels,
  manualSeed,
  nn,
  optim,
  softmaxCrossEntropy,
  withBackend,
  type BackendName,
} from '../../index.js';
import type { CommandSpec, Parsed } from '../args.js';
import { CliError, type Out, int } from '../io.js';
import { applyBackend } from '../options.js';
import { BACKEND_NAMES, MAX_THREADS } from '../../backend/index.js';

export const spec: CommandSpec = {
  name: 'bench',
  summary:
    'Compares the backends on this machine: training steps/s of a 784-256-10 MLP at batch 256 with\n' +
    'Adam on random data, and GEMM GFLOPS (512 x 512 x 512), after checking that both compute the\n' +
    'same numbers.',
  usage: 'nodegrad bench [options]',
  options: [
    {
      name: 'backend',
      type: 'string',
      choices: [...BACKEND_NAMES],
      help: 'measure only this backend',
      defaultText: 'every available one',
    },
    { name: 'threads', type: 'int', min: 1, max: MAX_THREADS, arg: 'N', help: 'native thread pool size' },
    {
      name: 'seconds',
      type: 'number',
      min: 0,
      positive: true,
      arg: 'X',
      help: 'time spent on each measurement',
      defaultText: '1',
    },
    { name: 'json', type: 'boolean', help: 'one JSON object a backend' },
  ],
};

interface Row {
  backend: BackendName;
  simd: string | null;
  threads: number;
  firstLoss: number;
  stepsPerSecond: number;
  samplesPerSecond: number;
  gemmGflops: number;
  gemmMaxError: number;
}

/** Runs fn at least `min` times and until `budget` seconds have passed; returns seconds a call. */
function timeIt(fn: () => void, budget: number, min: number): number {
  fn(); // warm-up: JIT, pack buffers, thread pool
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (n < min || elapsed < budget) {
    fn();
    n++;
    elapsed = (performance.now() - t0) / 1000;
  }
  return elapsed / n;
}

function checkGemm(): number {
  const rng = new Rng(3);
  const M = 37,
    N = 29,
    K = 53;
  const a = rng.fillNormal(new Float32Array(M * K)) as Float32Array;
  const b = rng.fillNormal(new Float32Array(K * N)) as Float32Array;
  const c = new Float32Array(M * N);
  kernels().gemm(false, false, M, N, K, 1, a, b, 0, c);
  let worst = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      worst = Math.max(worst, Math.abs(s - c[i * N + j]));
    }
  }
  return worst;
}

function measure(name: BackendName, budget: number): Row {
  return withBackend(name, () => {
    const gemmMaxError = checkGemm();
    if (!(gemmMaxError < 1e-3))
      throw new CliError(`bench: the ${name} GEMM is wrong (max error ${gemmMaxError} against a float64 reference)`);

    manualSeed(0);
    const model = nn.mlp(784, [256], 10);
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const rng = new Rng(1);
    const B = 256;
    const x = new Tensor(rng.fillNormal(new Float32Array(B * 784)) as Float32Array, [B, 784]);
    const y = Int32Array.from({ length: B }, () => rng.int(10));
    let firstLoss = NaN;
    let lastLoss = NaN;
    const step = (): void => {
      opt.zeroGrad();
      const loss = softmaxCrossEntropy(model.forward(x), y);
      lastLoss = loss.item();
      if (Number.isNaN(firstLoss)) firstLoss = lastLoss;
      loss.backward();
      opt.step();
    };
    const stepSeconds = timeIt(step, budget, 3);
    if (!(lastLoss < firstLoss))
      throw new CliError(`bench: the ${name} training loss did not fall (${firstLoss} -> ${lastLoss})`);

    const S = 512;
    const a = rng.fillNormal(new Float32Array(S * S)) as Float32Array;
    const b = rng.fillNormal(new Float32Array(S * S)) as Float32Array;
    const c = new Float32Array(S * S);
    const gemmSeconds = timeIt(() => kernels().gemm(false, false, S, S, S, 1, a, b, 0, c), budget, 2);
    const i = info();
    return {
      backend: name,
      simd: i.simd,
      threads: i.threads,
      firstLoss,
      stepsPerSecond: 1 / stepSeconds,
      samplesPerSecond: B / stepSeconds,
      gemmGflops: (2 * S * S * S) / gemmSeconds / 1e9,
      gemmMaxError,
    };
  });
}

export function run(args: Parsed, out: Out): number {
  const o = args.options;
  applyBackend(o); // --backend, when given, is also the active one: the choice is explicit
  const budget = (o.seconds as number | undefined) ?? 1;
  const names = BACKEND_NAMES.filter(
    (n) => (o.backend === undefined || o.backend === n) && backends()[n] !== undefined,
  );
  const json = o.json === true;
  if (!json)
    out.line(
      `backend  simd    threads  train steps/s  samples/s  GEMM GFLOPS   (784-256-10 MLP, batch 256, Adam; GEMM 512^3)`,
    );
  const rows: Row[] = [];
  for (const n of names) {
    const r = measure(n, budget);
    rows.push(r);
    if (json) out.json({ event: 'bench', ...r });
    else {
      out.line(
        `${r.backend.padEnd(8)} ${(r.simd ?? '-').padEnd(7)} ${String(r.threads).padEnd(8)} ${r.stepsPerSecond.toFixed(1).padStart(13)}` +
          `  ${int(Math.round(r.samplesPerSecond)).padStart(9)}  ${r.gemmGflops.toFixed(2).padStart(11)}`,
      );
    }
  }
  // Each compiled backend against ts, the reference, measured in this run.
  const ts = rows.find((r) => r.backend === 'ts');
  for (const r of rows) {
    if (ts === undefined || r === ts) continue;
    const lossGap = Math.abs(r.firstLoss - ts.firstLoss);
    if (!(lossGap < 1e-3))
      throw new CliError(
        `bench: the ${r.backend} and ts backends disagree on the first loss (${r.firstLoss} vs ${ts.firstLoss})`,
      );
    const train = r.stepsPerSecond / ts.stepsPerSecond;
    const gemm = r.gemmGflops / ts.gemmGflops;
    if (json) out.json({ event: 'ratio', backend: r.backend, train, gemm, firstLossGap: lossGap });
    else
      out.line(
        `${r.backend} / ts: ${train.toFixed(1)}x training steps/s, ${gemm.toFixed(1)}x GEMM (first training loss ${lossGap === 0 ? 'identical' : `within ${lossGap.toExponential(1)}`})`,
      );
  }
  return 0;
}
