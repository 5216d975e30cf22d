import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { save } from '../lib/train/serialize.js';
import { Preprocessor } from '../lib/data/preprocess.js';
import { Linear, ReLU, Sequential, Dropout, Flatten, mlp, Module } from '../lib/nn/index.js';
import { type Tensor, reshape } from '../lib/tensor/index.js';
import { globalRng, manualSeed } from '../lib/random.js';

describe('Module.summary', () => {
  it('lists each layer with its output shape and parameter count, then the totals and their float32 size', () => {
    expect(mlp(64, [32], 10).summary()).toBe(
      [
        'Layer (type)             Output shape   Param #',
        '===============================================',
        'Sequential               [N, 10]             --',
        '├─ 0: Linear(64 -> 32)   [N, 32]          2,080',
        '├─ 1: ReLU               [N, 32]             --',
        '└─ 2: Linear(32 -> 10)   [N, 10]            330',
        '===============================================',
        'Total params: 2,410',
        'Trainable params: 2,410',
        'Non-trainable params: 0',
        'Params size: 9.41 KiB, 9,640 bytes (float32)',
        'Input shape: [N, 64]; N is the batch size',
      ].join('\n'),
    );
  });

  it('takes an input shape, follows nested modules, and counts frozen parameters apart', () => {
    const inner = new Sequential(new Linear(784, 32), new ReLU());
    const m = new Sequential(new Flatten(), inner, new Dropout(0.2), new Linear(32, 10, { bias: false }));
    (inner.children()[0] as Linear).weight.requiresGrad = false;
    const s = m.summary([1, 28, 28]);
    expect(s).toContain('├─ 0: Flatten                [N, 784]            --');
    expect(s).toContain('│  ├─ 0: Linear(784 -> 32)   [N, 32]         25,120');
    expect(s).toContain('│  └─ 1: ReLU                [N, 32]             --');
    expect(s).toContain('└─ 3: Linear(32 -> 10)       [N, 10]            320');
    expect(s).toContain('Total params: 25,440\nTrainable params: 352\nNon-trainable params: 25,088');
    expect(s).toContain('Input shape: [N, 1, 28, 28]');
  });

  it("measures a user's own module by running it", () => {
    class Half extends Module {
      forward(x: Tensor): Tensor {
        return reshape(x, [x.shape[0], x.shape[1] / 2, 2]);
      }
      spec(): never {
        throw new Error('not saved');
      }
    }
    expect(new Sequential(new Half()).summary([6])).toMatch(/└─ 0: Half +\[N, 3, 2\]/);
  });

  it('leaves training flags, forward and the random generator as they were', () => {
    const m = new Sequential(new Linear(4, 4), new ReLU(), new Dropout(0.5));
    manualSeed(7);
    const before = globalRng.uniform();
    manualSeed(7);
    m.summary();
    expect(globalRng.uniform()).toBe(before);
    expect(m.training).toBe(true);
    expect(m.children().every((c) => c.training)).toBe(true);
    expect(m.children().every((c) => !Object.hasOwn(c, 'forward'))).toBe(true);
  });

  it('an input shape the model cannot take names the layer', () => {
    expect(() => mlp(64, [32], 10).summary([63])).toThrow(
      /^0: Linear\(64 -> 32\) got an input with 63 features where 64 were expected/,
    );
  });

  it('refuses a bad input shape, and asks for one when there is no Linear', () => {
    expect(() => mlp(4, [], 2).summary(['4'] as never)).toThrow('got an array');
    expect(() => new Sequential(new ReLU()).summary()).toThrow(/pass the input shape/);
  });
});

describe('nodegrad info --model', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-summary-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [path.join(__dirname, '..', 'bin', 'nodegrad.js'), ...args], { encoding: 'utf8' });

  it("prints a saved model's summary, its input shape from the first Linear", () => {
    const file = path.join(tmp, 'mlp.safetensors');
    const model = mlp(64, [32], 10);
    save(model, file);
    const r = cli(['info', '--model', file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${model.summary([64])}\n`);
  });

  it('takes the input shape from the preprocessing metadata, and --json gives the count', () => {
    const file = path.join(tmp, 'pre.safetensors');
    save(new Sequential(new Flatten(), new Linear(4, 2)), file, { preprocess: new Preprocessor({ features: 4 }) });
    const r = cli(['info', '--model', file, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { parameters: number; summary: string };
    expect(j.parameters).toBe(10);
    expect(j.summary).toMatch(/├─ 0: Flatten +\[N, 4\]/);
  });

  it('a missing file is one line and exit 1', () => {
    const r = cli(['info', '--model', path.join(tmp, 'none.safetensors')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/file not found \(the --model file\)/);
  });
});
