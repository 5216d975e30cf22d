// Saving a model for PyTorch: trains a small classifier on the digits, saves it as safetensors
// (parameter names as in PyTorch's state_dict: "0.weight", "0.bias", ...) and writes the
// probabilities it predicts for a few test rows, so that load_in_pytorch.py can check that the
// same network in PyTorch predicts the same.
//
//   node save-for-pytorch.mjs [OUT_DIR]      then: python3 load_in_pytorch.py [OUT_DIR]
// EXAMPLE_QUICK=1 trains for 2 epochs (what CI runs). OUT_DIR defaults to the current directory.
import fs from 'node:fs';
import path from 'node:path';
import * as ng from 'nodegrad';

const quick = process.env.EXAMPLE_QUICK === '1';
const outDir = process.argv[2] ?? '.';

ng.manualSeed(0);
const { train, test } = ng.trainValTestSplit(ng.loadDigits(), { test: 0.2, seed: 42 });
// In PyTorch: torch.nn.Sequential(Linear(64, 32), ReLU(), Linear(32, 10)), the same names.
const model = ng.nn.mlp(64, [32], 10);
ng.fit(model, { train, epochs: quick ? 2 : 20, batchSize: 32, progress: false });

// save() writes float32 tensors and nodegrad's own metadata (architecture, preprocessing),
// which PyTorch ignores. Inputs are the digits as loadDigits gives them (pixels / 16).
const modelFile = path.join(outDir, 'digits-mlp.safetensors');
ng.save(model, modelFile);
model.eval();
const rows = 5;
const x = new ng.Tensor(test.x.slice(0, rows * 64), [rows, 64]);
const probs = ng.noGrad(() => ng.softmax(model.forward(x), -1));
const check = { inputs: Array.from(x.data), shape: [rows, 64], probs: Array.from(probs.data) };
fs.writeFileSync(path.join(outDir, 'digits-mlp.check.json'), JSON.stringify(check));
console.log(`wrote ${modelFile} and digits-mlp.check.json; parameters: ${[...model.namedParameters()].map(([n]) => n).join(', ')}`);
