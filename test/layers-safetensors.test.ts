// A model with Embedding and LayerNorm, saved by nodegrad, loads into the equivalent
// torch.nn.Sequential with load_state_dict(strict=True) and gives the same outputs
// (fixtures/torch/check_layers_safetensors.py, run by /usr/bin/python3 when it has torch).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { Embedding, Flatten, LayerNorm, Linear, Sequential } from '../lib/nn/index.js';
import { manualSeed } from '../lib/random.js';
import { tensor } from '../lib/tensor/index.js';
import { save } from '../lib/train/serialize.js';

const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!torch) console.warn('layers-safetensors: /usr/bin/python3 has no torch, so the PyTorch load is not run');

it.skipIf(!torch)(
  'loads into torch.nn.Sequential(Embedding, LayerNorm, Flatten, Linear) strictly, same outputs',
  () => {
    manualSeed(21);
    const m = new Sequential(
      new Embedding(10, 4, { paddingIdx: 0 }),
      new LayerNorm(4),
      new Flatten(),
      new Linear(12, 3),
    );
    // A trained-looking LayerNorm: weight and bias away from their initial 1 and 0.
    const [, ln] = m.layers as [Embedding, LayerNorm];
    ln.weight!.data.set([0.5, -1.25, 2, 1]);
    ln.bias!.data.set([0.1, 0, -0.3, 0.7]);
    m.eval();
    const idx = [
      [1, 0, 9],
      [4, 4, 2],
    ];
    const y = m.forward(tensor(idx));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-layers-torch-'));
    try {
      const file = path.join(dir, 'model.safetensors');
      save(m, file);
      const caseFile = path.join(dir, 'case.json');
      fs.writeFileSync(
        caseFile,
        JSON.stringify({
          input: { shape: [2, 3], values: idx.flat() },
          output: { shape: y.shape, values: Array.from(y.data) },
        }),
      );
      const script = path.join(__dirname, 'fixtures', 'torch', 'check_layers_safetensors.py');
      const r = spawnSync('/usr/bin/python3', [script, file, caseFile], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/max \|torch - nodegrad\| = /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
