// BatchNorm models across boundaries that need other processes or threads: a nodegrad-written
// safetensors file of Linear-BN-ReLU-Linear loads into torch.nn.Sequential with
// load_state_dict(strict=True) and gives the same eval outputs (when /usr/bin/python3 has
// torch), and fitInWorker brings a BN model back with its running statistics, the same bits
// as the same run on this thread.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, Linear, ReLU, Sequential, moduleFromSpec } from '../lib/nn/index.js';
import { Tensor, mul, sum } from '../lib/tensor/index.js';
import { SGD, Adam } from '../lib/optim/index.js';
import { save, fit, evaluate } from '../lib/train/index.js';
import { loadDigits, trainValTestSplit, fitStandardizer } from '../lib/data/index.js';
import { manualSeed } from '../lib/random.js';
import { fitInWorker } from '../lib/worker/index.js';
import { requireBuiltWorker } from './fixtures/dist.js';
import { normal, rng } from './helpers/reference.js';

const FIX = path.join(__dirname, 'fixtures', 'torch');
const fixture = JSON.parse(fs.readFileSync(path.join(FIX, 'batchnorm.json'), 'utf8')) as {
  mlp: { input: { shape: number[]; data: number[] } };
};
const torchHere = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('a nodegrad BatchNorm MLP in PyTorch', () => {
  it.runIf(torchHere)('loads with load_state_dict(strict=True) and gives the same eval outputs', () => {
    manualSeed(11);
    const model = new Sequential(new Linear(6, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 3));
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const r = rng(12);
    for (let i = 0; i < 4; i++) {
      opt.zeroGrad();
      sum(mul(model.forward(new Tensor(normal(r, 16 * 6), [16, 6])), new Tensor(normal(r, 48), [16, 3]))).backward();
      opt.step();
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-bn-torch-')), 'bn.safetensors');
    save(model, file);
    const out = spawnSync('/usr/bin/python3', [path.join(FIX, 'gen_batchnorm.py'), '--check', file], {
      encoding: 'utf8',
    });
    expect(out.status, out.stderr).toBe(0);
    const torch = JSON.parse(out.stdout) as {
      output: number[];
      dtypes: Record<string, string>;
      num_batches_tracked: number;
    };
    expect(torch.dtypes['1.num_batches_tracked']).toBe('torch.int64');
    expect(torch.num_batches_tracked).toBe(4);
    model.eval();
    const mine = model.forward(new Tensor(Float32Array.from(fixture.mlp.input.data), fixture.mlp.input.shape)).data;
    mine.forEach((v, i) => expect(Math.abs(v - torch.output[i])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(v)));
  });
});

describe('fitInWorker with a BatchNorm model', () => {
  it('returns the running statistics, the same bits as the run on this thread', async () => {
    requireBuiltWorker();
    const { train, validation, test } = trainValTestSplit(loadDigits(), { validation: 0.1, test: 0.2, seed: 42 });
    const std = fitStandardizer(train);
    const [tr, va, te] = [std.apply(train), std.apply(validation), std.apply(test)];
    manualSeed(21);
    const model = new Sequential(new Linear(64, 32), new BatchNorm1d(32), new ReLU(), new Linear(32, 10));
    const initial = model.stateDict();
    const opts = { epochs: 4, batchSize: 32, seed: 3 };
    const job = fitInWorker(model, { ...opts, train: tr, validation: va, optimizer: { type: 'adam', lr: 3e-3 } });
    const here = moduleFromSpec(model.spec());
    here.loadStateDict(initial);
    fit(here, {
      ...opts,
      train: tr,
      validation: va,
      optimizer: new Adam(here.parameters(), { lr: 3e-3 }),
      progress: 'silent',
    });
    const result = await job.result;
    expect(Object.keys(result.stateDict)).toEqual(Object.keys(here.stateDict()));
    expect(result.stateDict['1.num_batches_tracked'].data[0]).toBe(4 * Math.ceil(tr.length / 32));
    for (const [name, t] of Object.entries(here.stateDict())) {
      expect(result.stateDict[name].data, name).toEqual(t.data);
    }
    const back = moduleFromSpec(result.spec);
    back.loadStateDict(result.stateDict);
    expect(evaluate(back, te).accuracy).toBeGreaterThanOrEqual(0.9);
  });
});
