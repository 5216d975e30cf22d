// Runs every script in examples/ as a user would (`node examples/x.mjs`, importing 'nodegrad'
// through the package's self-reference to dist/), with EXAMPLE_QUICK=1 short settings, and checks
// what each prints; the PyTorch side runs when /usr/bin/python3 has torch.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './fixtures/child.js';
import { requireBuiltWorker } from './fixtures/dist.js';

const examples = path.join(root, 'examples');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {
    cwd: examples,
    env: { ...process.env, EXAMPLE_QUICK: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const percent = (out: string): number => Number(/test accuracy ([\d.]+)%/.exec(out)?.[1]);

describe('examples/', () => {
  requireBuiltWorker();

  it('every example script is run by this file', () => {
    const covered = [
      'csv-classifier.mjs',
      'regression.mjs',
      'custom-loop.mjs',
      'http-server.mjs',
      'save-for-pytorch.mjs',
      'load_in_pytorch.py',
    ];
    expect(
      fs
        .readdirSync(examples)
        .filter((f) => /\.(mjs|js|py)$/.test(f))
        .sort(),
    ).toEqual(covered.sort());
  });

  it('csv-classifier trains on the digits CSV, saves, loads and predicts', () => {
    const out = run('node', ['csv-classifier.mjs']);
    expect(percent(out)).toBeGreaterThan(80);
    expect(out).toMatch(/first predictions: (\d ){9}\d/);
  });

  it('regression: the MLP beats predicting the mean by far', () => {
    const out = run('node', ['regression.mjs']);
    const [, mse, baseline] = /test MSE ([\d.]+) .*predicting the mean gives ([\d.]+)/.exec(out) ?? [];
    expect(Number(mse)).toBeLessThan(Number(baseline) / 10);
  });

  it('custom-loop trains a classifier with a schedule', () => {
    const out = run('node', ['custom-loop.mjs']);
    expect(out).toMatch(/epoch 2 .*lr 0\.0000/); // cosine annealing reaches 0 at tMax
    expect(percent(out)).toBeGreaterThan(80);
  });

  it('http-server: trains in a worker, reports progress, aborts, predicts over HTTP', () => {
    const out = run('node', ['http-server.mjs']);
    expect(out).toMatch(/after abort \{\s*status: 'aborted'/);
    expect(out).toMatch(/after a full run \{\s*status: 'done'/);
    expect(out).toMatch(/POST \/predict \(true label \d\) \{ digit: \d \}/);
  });

  const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (!torch) console.warn('examples: /usr/bin/python3 has no torch, so load_in_pytorch.py is not run');
  it.skipIf(!torch)('save-for-pytorch + load_in_pytorch.py: PyTorch predicts what nodegrad did', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-examples-'));
    try {
      run('node', ['save-for-pytorch.mjs', dir]);
      const out = run('/usr/bin/python3', ['load_in_pytorch.py', dir]);
      expect(out).toMatch(/loaded 4 tensors/);
      // the fallback reader is what runs without the safetensors package; check it reads the same
      const same = run('/usr/bin/python3', [
        '-c',
        `import load_in_pytorch as l; a = l.read_safetensors("${dir}/digits-mlp.safetensors"); print(sorted((k, tuple(v.shape)) for k, v in a.items()))`,
      ]);
      expect(same.trim()).toBe(
        "[('0.bias', (32,)), ('0.weight', (32, 64)), ('2.bias', (10,)), ('2.weight', (10, 32))]",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
