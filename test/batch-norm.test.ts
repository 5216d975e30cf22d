// BatchNorm1d / BatchNorm2d and the batchNorm op against PyTorch (fixtures/torch/batchnorm.json,
// written by gen_batchnorm.py) on every backend; gradients checked numerically; the native
// kernels against the TS ones bit for bit and across thread counts; module buffers in state
// dicts, files and training.
//
// Tolerances: outputs and gradients within 1e-5 absolute + 1e-4 relative of PyTorch's. Both
// compute the statistics of a few hundred values, PyTorch in float32 sums and nodegrad in double
// sums, so they differ by a few float32 roundings (~1e-7 relative) of values of order 1, then
// scaled by invstd (~1 here, ~4 in the large-mean case): 1e-5 has a margin of 10-100 while a
// wrong formula (biased vs unbiased variance, a missing term of the input gradient, momentum on
// the wrong side) is off by 1e-2 or more. The running statistics accumulate over a few steps
// with the same margin. Native against TS: identical bits (both sum in double in the same
// order and round once; see lib/backend/ts-norm.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, withBackend, type BackendName } from '../lib/backend/index.js';
import { BatchNorm1d, BatchNorm2d, Linear, Module, ReLU, Sequential, moduleFromSpec } from '../lib/nn/index.js';
import { batchNorm, gradcheck, mul, sum, Tensor } from '../lib/tensor/index.js';
import { SGD, Adam } from '../lib/optim/index.js';
import { save, load, loadModel, fit, evaluate } from '../lib/train/index.js';
import { loadSafetensors } from '../lib/io/index.js';
import { loadDigits, trainValTestSplit, fitStandardizer } from '../lib/data/index.js';
import { manualSeed } from '../lib/random.js';
import { normal, rng } from './helpers/reference.js';

const names = Object.keys(backends()) as BackendName[];
const FIX = path.join(__dirname, 'fixtures', 'torch');
const ATOL = 1e-5;
const RTOL = 1e-4;

interface Encoded {
  shape: number[];
  data: number[];
}
interface Step {
  mode: 'train' | 'eval';
  x: Encoded;
  upstream: Encoded;
  y: Encoded;
  dx: Encoded;
  dweight?: Encoded;
  dbias?: Encoded;
  running_mean?: Encoded;
  running_var?: Encoded;
  num_batches_tracked?: number;
}
interface Case {
  name: string;
  type: 'BatchNorm1d' | 'BatchNorm2d';
  numFeatures: number;
  options: { eps: number; momentum: number | null; affine: boolean; trackRunningStats: boolean };
  init: { weight?: Encoded; bias?: Encoded };
  steps: Step[];
  keys: string[];
  repr: string;
}
const fixture = JSON.parse(fs.readFileSync(path.join(FIX, 'batchnorm.json'), 'utf8')) as {
  cases: Case[];
  mlp: { keys: string[]; input: Encoded; output: Encoded };
};

function close(got: ArrayLike<number>, want: readonly number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (ATOL + RTOL * Math.abs(want[i]));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  expect(at, `${what}: element ${at}: ${got[at]} vs torch ${want[at]}`).toBe(-1);
}

const tensorOf = (e: Encoded, requiresGrad = false) => new Tensor(Float32Array.from(e.data), e.shape, requiresGrad);

function build(c: Case): BatchNorm1d | BatchNorm2d {
  const cls = c.type === 'BatchNorm1d' ? BatchNorm1d : BatchNorm2d;
  const layer = new cls(c.numFeatures, c.options);
  if (c.init.weight) layer.weight!.data.set(c.init.weight.data);
  if (c.init.bias) layer.bias!.data.set(c.init.bias.data);
  return layer;
}

describe.each(names)('BatchNorm against PyTorch on the %s backend', (backend) => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))(
    '%s: outputs, gradients and running statistics over training steps, then eval',
    (_name, c) => {
      withBackend(backend, () => {
        const layer = build(c);
        c.steps.forEach((s, i) => {
          const at = `step ${i} (${s.mode})`;
          layer.train(s.mode === 'train');
          layer.zeroGrad();
          const x = tensorOf(s.x, true);
          const y = layer.forward(x);
          expect(y.shape).toEqual(s.x.shape);
          close(y.data, s.y.data, `${at} y`);
          sum(mul(y, tensorOf(s.upstream))).backward();
          close(x.grad!.data, s.dx.data, `${at} dx`);
          if (s.dweight) close(layer.weight!.grad!.data, s.dweight.data, `${at} dweight`);
          if (s.dbias) close(layer.bias!.grad!.data, s.dbias.data, `${at} dbias`);
          if (s.running_mean) close(layer.runningMean!.data, s.running_mean.data, `${at} running_mean`);
          if (s.running_var) close(layer.runningVar!.data, s.running_var.data, `${at} running_var`);
          if (s.num_batches_tracked !== undefined) expect(layer.numBatchesTracked!.data[0]).toBe(s.num_batches_tracked);
        });
      });
    },
  );
});

describe('BatchNorm modules', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: state-dict keys and repr as torch', (_n, c) => {
    const layer = build(c);
    expect(Object.keys(layer.stateDict())).toEqual(c.keys);
    expect(layer.toString()).toBe(c.repr);
  });

  it('orders a model state dict as torch: each module its parameters, then its buffers', () => {
    const model = new Sequential(new Linear(6, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 3));
    expect(Object.keys(model.stateDict())).toEqual(fixture.mlp.keys);
  });

  it('keeps buffers out of parameters() and the optimizer, in namedBuffers() and buffers()', () => {
    const bn = new BatchNorm2d(3);
    const model = new Sequential(bn);
    expect(model.parameters()).toEqual([bn.weight, bn.bias]);
    expect(model.namedBuffers().map(([n]) => n)).toEqual(['0.running_mean', '0.running_var', '0.num_batches_tracked']);
    expect(model.buffers()).toEqual([bn.runningMean, bn.runningVar, bn.numBatchesTracked]);
    expect(model.numParameters()).toBe(6);
    // an optimizer step leaves the buffers alone
    const before = model.buffers().map((b) => b.data.slice());
    model.eval();
    const y = model.forward(new Tensor(Float32Array.from(normal(rng(1), 2 * 3 * 4)), [2, 3, 2, 2]));
    sum(y).backward();
    new SGD(model.parameters(), { lr: 1 }).step();
    model.buffers().forEach((b, i) => expect(b.data).toEqual(before[i]));
  });

  it('leaves a non-persistent buffer out of the state dict, and null buffers everywhere', () => {
    class WithBuffers extends Module {
      constructor() {
        super();
        this.registerBuffer('kept', new Tensor(new Float32Array([1, 2]), [2]));
        this.registerBuffer('scratch', new Tensor(new Float32Array(3), [3]), { persistent: false });
        this.registerBuffer('none', null);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
      spec(): never {
        throw new Error('no spec');
      }
    }
    const m = new WithBuffers();
    expect(Object.keys(m.stateDict())).toEqual(['kept']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['kept', 'scratch']);
    expect(
      () =>
        new (class extends WithBuffers {
          constructor() {
            super();
            this.registerBuffer('x', null, { persistant: true } as never);
          }
        })(),
    ).toThrow(/persistant/);
  });

  it('loadStateDict checks buffers strictly and copies them', () => {
    const a = new Sequential(new BatchNorm1d(4));
    a.forward(new Tensor(Float32Array.from(normal(rng(2), 12)), [3, 4]));
    const b = new Sequential(new BatchNorm1d(4));
    b.loadStateDict(a.stateDict());
    expect(b.buffers().map((t) => [...t.data])).toEqual(a.buffers().map((t) => [...t.data]));
    const { '0.running_var': _gone, ...partial } = a.stateDict();
    expect(() => b.loadStateDict(partial)).toThrow(/missing: 0\.running_var/);
    b.loadStateDict(partial, { strict: false });
    const wrong = { ...a.stateDict(), '0.running_mean': new Tensor(new Float32Array(5), [5]) };
    expect(() => b.loadStateDict(wrong)).toThrow(/0\.running_mean: shape \[5\] does not match the buffer's \[4\]/);
  });

  it('checks its input and options', () => {
    const bn = new BatchNorm1d(3);
    expect(() => bn.forward(new Tensor(new Float32Array(8), [2, 4]))).toThrow(
      /BatchNorm1d\(3\) got an input with 4 channels where 3 were expected/,
    );
    expect(() => new BatchNorm2d(3).forward(new Tensor(new Float32Array(6), [2, 3]))).toThrow(/expected 4-D input/);
    expect(() => bn.forward(new Tensor(new Float32Array(3), [1, 3]))).toThrow(
      /expected more than 1 value per channel when training/,
    );
    bn.eval();
    expect(bn.forward(new Tensor(new Float32Array(3), [1, 3])).shape).toEqual([1, 3]);
    expect(() => new BatchNorm1d(0)).toThrow(RangeError);
    expect(() => new BatchNorm1d(3, { momentum: 2 })).toThrow(/momentum must be a number in \[0, 1\] or null/);
    expect(() => new BatchNorm1d(3, { epsilon: 1 } as never)).toThrow(/epsilon/);
  });

  it('rebuilds from its spec with the same options', () => {
    const bn = new BatchNorm2d(5, { eps: 1e-3, momentum: null, affine: false, trackRunningStats: true });
    const again = moduleFromSpec(JSON.parse(JSON.stringify(bn.spec()))) as BatchNorm2d;
    expect(again).toBeInstanceOf(BatchNorm2d);
    expect(again.spec()).toEqual(bn.spec());
    expect(again.toString()).toBe('BatchNorm2d(5, eps=0.001, momentum=None, affine=False, track_running_stats=True)');
  });
});

describe.each(names)('batchNorm gradients on the %s backend', (backend) => {
  const cases: [string, number[], boolean, boolean][] = [
    ['training, [N, C]', [6, 3], true, true],
    ['training, [N, C, H, W], odd spatial size', [3, 2, 3, 5], true, true],
    ['training without weight and bias', [4, 3, 5], true, false],
    ['eval with running statistics', [3, 4, 2], false, true],
  ];
  it.each(cases)('%s pass gradcheck', (_n, shape, training, affine) => {
    withBackend(backend, () => {
      const r = rng(shape.reduce((a, b) => a * b, 7));
      const C = shape[1];
      const x = new Tensor(
        normal(
          r,
          shape.reduce((a, b) => a * b, 1),
        ),
        shape,
        true,
      );
      const w = new Tensor(
        Float32Array.from({ length: C }, () => 0.5 + r()),
        [C],
        true,
      );
      const b = new Tensor(normal(r, C), [C], true);
      const rm = new Tensor(normal(r, C, 0.3), [C]);
      const rv = new Tensor(
        Float32Array.from({ length: C }, () => 0.5 + r()),
        [C],
      );
      const inputs = affine ? [x, w, b] : [x];
      const up = new Tensor(normal(r, x.numel), shape);
      const fn = () =>
        sum(
          mul(
            batchNorm(x, training ? null : rm, training ? null : rv, affine ? w : null, affine ? b : null, training),
            up,
          ),
        );
      const res = gradcheck(fn, inputs, { eps: 1e-2, atol: 2e-3, rtol: 2e-2 });
      expect(res.ok, JSON.stringify(res.worst)).toBe(true);
    });
  });
});

describe('batchNorm kernels', () => {
  const native = backends().native;
  const ts = backends().ts;
  const shapes: [number, number, number][] = [
    [7, 5, 1],
    [3, 4, 13],
    [2, 37, 36],
    [5, 3, 3],
    [1, 2, 64],
  ];
  function args(N: number, C: number, L: number, seed: number) {
    const r = rng(seed);
    return {
      x: Float32Array.from(normal(r, N * C * L), (v) => v * 2 + 0.5),
      dy: normal(r, N * C * L),
      w: Float32Array.from({ length: C }, () => 0.5 + r()),
      b: normal(r, C),
      rm: normal(r, C),
      rv: Float32Array.from({ length: C }, () => 0.5 + r()),
    };
  }
  function runAll(k: NonNullable<typeof native>, N: number, C: number, L: number, seed: number) {
    const a = args(N, C, L, seed);
    const out: Record<string, Float32Array> = {};
    const rm = a.rm.slice();
    const rv = a.rv.slice();
    const y = new Float32Array(N * C * L);
    const mean = new Float32Array(C);
    const invstd = new Float32Array(C);
    k.batchNormTrain(a.x, a.w, a.b, rm, rv, N, C, L, 0.1, 1e-5, true, true, y, mean, invstd);
    const dx = new Float32Array(N * C * L);
    const dw = new Float32Array(C);
    const db = new Float32Array(C);
    k.batchNormBackward(a.dy, a.x, a.w, mean, invstd, N, C, L, true, true, dx, dw, db);
    Object.assign(out, { y, mean, invstd, rm, rv, dx, dw, db });
    const ye = new Float32Array(N * C * L);
    const ie = new Float32Array(C);
    k.batchNormEval(a.x, a.rm, a.rv, null, null, N, C, L, 1e-3, false, ye, ie);
    const dxe = a.dy.slice();
    k.batchNormBackward(dxe, a.x, null, a.rm, ie, N, C, L, false, false, dxe, null, null);
    Object.assign(out, { ye, ie, dxe });
    return out;
  }

  it.runIf(native)('native gives the TS backend bits, every output, for shapes with and without a SIMD tail', () => {
    shapes.forEach(([N, C, L], i) => {
      const want = runAll(ts, N, C, L, i + 1);
      const got = runAll(native!, N, C, L, i + 1);
      for (const key of Object.keys(want)) expect(got[key], `${N}x${C}x${L} ${key}`).toEqual(want[key]);
    });
  });

  it.runIf(native)('native results are bit-identical for 1, 2 and 3 threads', () => {
    const prev = native!.getNumThreads();
    try {
      const results = [1, 2, 3].map((t) => {
        native!.setNumThreads(t);
        return runAll(native!, 4, 53, 9, 99);
      });
      for (const r of results.slice(1)) expect(r).toEqual(results[0]);
    } finally {
      native!.setNumThreads(prev);
    }
  });

  it.each(names)('%s: y may be x and dx may be dy (in place)', (backend) => {
    const k = backends()[backend]!;
    const a = args(3, 4, 5, 5);
    const y = new Float32Array(60);
    const m = new Float32Array(4);
    const s = new Float32Array(4);
    k.batchNormTrain(a.x, a.w, a.b, null, null, 3, 4, 5, 0.1, 1e-5, true, false, y, m, s);
    const inPlace = a.x.slice();
    k.batchNormTrain(inPlace, a.w, a.b, null, null, 3, 4, 5, 0.1, 1e-5, true, false, inPlace, m, s);
    expect(inPlace).toEqual(y);
    const dx = new Float32Array(60);
    k.batchNormBackward(a.dy, a.x, a.w, m, s, 3, 4, 5, true, true, dx, new Float32Array(4), new Float32Array(4));
    const g = a.dy.slice();
    k.batchNormBackward(g, a.x, a.w, m, s, 3, 4, 5, true, true, g, new Float32Array(4), new Float32Array(4));
    expect(g).toEqual(dx);
  });
});

describe('BatchNorm models in files', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-bn-'));
  const mlpModel = () => new Sequential(new Linear(6, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 3));

  it('loads a PyTorch-written Linear-BN-ReLU-Linear (int64 num_batches_tracked) and gives its eval outputs', () => {
    const model = mlpModel();
    const state = load(path.join(FIX, 'bn_mlp.safetensors'));
    model.loadStateDict(state);
    expect((model.layers[1] as BatchNorm1d).numBatchesTracked!.data[0]).toBe(5);
    model.eval();
    close(model.forward(tensorOf(fixture.mlp.input)).data, fixture.mlp.output.data, 'eval output');
  });

  it('save() writes the buffers, num_batches_tracked as I64, and loadModel() restores them', () => {
    manualSeed(3);
    const model = mlpModel();
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const r = rng(4);
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      sum(mul(model.forward(new Tensor(normal(r, 16 * 6), [16, 6])), new Tensor(normal(r, 48), [16, 3]))).backward();
      opt.step();
    }
    const file = path.join(tmp, 'bn.safetensors');
    save(model, file);
    const { tensors } = loadSafetensors(file);
    expect(Object.keys(tensors)).toEqual(fixture.mlp.keys);
    expect(tensors['1.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [], data: Float32Array.of(3) });
    expect(tensors['1.running_var'].dtype).toBe('F32');
    const back = loadModel(file);
    expect(back.buffers().map((b) => [...b.data])).toEqual(model.buffers().map((b) => [...b.data]));
    model.eval();
    back.eval();
    const x = tensorOf(fixture.mlp.input);
    expect(back.forward(x).data).toEqual(model.forward(x).data);
  });

  it('loadModel() refuses a file whose buffers do not match the architecture', () => {
    const model = mlpModel();
    const file = path.join(tmp, 'bn-bad.safetensors');
    save(model, file);
    const bytes = fs.readFileSync(file);
    // the architecture claims 9 features where the weights have 8
    const text = bytes.toString('latin1').replace('"numFeatures\\":8', '"numFeatures\\":9');
    fs.writeFileSync(file, Buffer.from(text, 'latin1'));
    expect(() => loadModel(file)).toThrow(
      /1\.running_mean: the file's shape \[8\] does not match the architecture's \[9\]/,
    );
  });
});

describe.each(names)('a BatchNorm MLP trains on the digits on the %s backend', (backend) => {
  it('fit() reaches >= 93% test accuracy and leaves running statistics that evaluate() uses', () => {
    withBackend(backend, () => {
      manualSeed(5);
      const { train, validation, test } = trainValTestSplit(loadDigits(), { validation: 0.1, test: 0.2, seed: 42 });
      const std = fitStandardizer(train);
      const model = new Sequential(new Linear(64, 32), new BatchNorm1d(32), new ReLU(), new Linear(32, 10));
      fit(model, {
        train: std.apply(train),
        validation: std.apply(validation),
        epochs: 8,
        batchSize: 32,
        optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
        progress: 'silent',
        seed: 1,
      });
      const bn = model.layers[1] as BatchNorm1d;
      expect(bn.numBatchesTracked!.data[0]).toBe(8 * Math.ceil(std.apply(train).length / 32));
      expect(bn.runningMean!.data.some((v) => v !== 0)).toBe(true);
      expect(evaluate(model, std.apply(test)).accuracy).toBeGreaterThanOrEqual(0.93);
    });
  });
});

describe('BatchNorm state through fit()', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-bn-fit-'));
  function digits() {
    const { train, validation } = trainValTestSplit(loadDigits(), { validation: 0.1, test: 0.2, seed: 42 });
    const std = fitStandardizer(train);
    return { train: std.apply(train), validation: std.apply(validation) };
  }
  function run(seed: number, epochs: number, extra: Record<string, unknown> = {}, lr = 3e-3) {
    manualSeed(seed);
    const model = new Sequential(new Linear(64, 24), new BatchNorm1d(24), new ReLU(), new Linear(24, 10));
    const history = fit(model, {
      ...digits(),
      epochs,
      batchSize: 64,
      optimizer: new Adam(model.parameters(), { lr }),
      progress: 'silent',
      seed: 2,
      ...extra,
    });
    return { model, history };
  }

  it('a resumed run ends with the running statistics of an uninterrupted one', () => {
    const ck = path.join(tmp, 'bn.ckpt');
    const full = run(5, 4);
    run(5, 2, { checkpoint: ck });
    const resumed = run(999, 4, { resume: ck });
    expect(resumed.history.epochs.map((e) => e.valLoss)).toEqual(full.history.epochs.map((e) => e.valLoss));
    const want = full.model.stateDict();
    for (const [name, t] of Object.entries(resumed.model.stateDict())) expect(t.data, name).toEqual(want[name].data);
  });

  it('early stopping puts back the running statistics of the best epoch with its weights', () => {
    // a large step size, so the validation loss soon goes up once
    const { model, history } = run(
      6,
      40,
      { earlyStopping: { monitor: 'valLoss', patience: 0, restoreBest: true } },
      0.05,
    );
    expect(history.stoppedEarly).toBe(true);
    const best = history.epochs[history.bestEpoch! - 1].valLoss!;
    expect(evaluate(model, digits().validation).loss).toBeCloseTo(best, 6);
  });
});
