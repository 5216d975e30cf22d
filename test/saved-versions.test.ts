// Buffers saved for backward carry version counters (PyTorch's "modified by an inplace
// operation" check): a DataLoader refill or an optimizer step between forward and backward is
// an error, not a silently wrong gradient. Issue 16, "a wrong answer with exit 0".
import { describe, it, expect } from 'vitest';
import { Tensor, tensor, softmaxCrossEntropy, markModified, versionOf, add, mul } from '../lib/tensor/index.js';
import { Dataset, DataLoader } from '../lib/data/index.js';
import { Linear } from '../lib/nn/index.js';
import { SGD } from '../lib/optim/index.js';
import { manualSeed } from '../lib/random.js';

const MODIFIED =
  /^backward: one of the variables needed for gradient computation has been modified by an inplace operation: /;

function data(n: number, d: number): Dataset {
  return new Dataset({
    x: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.7)),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    features: d,
  });
}

function lossOf(layer: Linear, x: Float32Array, y: Int32Array, n: number, d: number): Tensor {
  return softmaxCrossEntropy(layer.forward(new Tensor(x, [n, d])), y);
}

describe('saved buffers are versioned', () => {
  it('summing the losses of two DataLoader batches throws in backward, naming the buffer and the versions', () => {
    manualSeed(1);
    const layer = new Linear(4, 3);
    const it = new DataLoader(data(8, 4), { batchSize: 4 })[Symbol.iterator]();
    const b1 = it.next().value;
    const l1 = lossOf(layer, b1.x, b1.y, 4, 4);
    const v = versionOf(b1.x);
    const b2 = it.next().value; // the same buffers, refilled
    expect(b2.x).toBe(b1.x);
    const l2 = lossOf(layer, b2.x, b2.y, 4, 4);
    expect(() => add(l1, l2).backward()).toThrow(MODIFIED);
    expect(() => add(l1, l2).backward()).toThrow(
      `[Float32Array(16)], saved by linear, is at version ${v + 1}; expected version ${v} instead`,
    );
    // refused before the walk: no gradient was written
    expect(layer.weight.grad).toBeNull();
  });

  it('copies of the batches give the sum of the two batches gradients', () => {
    manualSeed(1);
    const layer = new Linear(4, 3);
    const loader = new DataLoader(data(8, 4), { batchSize: 4 });
    const copies = [...loader].map((b) => ({ x: b.x.slice(), y: b.y.slice() }));
    add(lossOf(layer, copies[0].x, copies[0].y, 4, 4), lossOf(layer, copies[1].x, copies[1].y, 4, 4)).backward();
    const summed = layer.weight.grad!.data.slice();
    const separate = new Float32Array(summed.length);
    for (const c of copies) {
      layer.weight.grad = null;
      lossOf(layer, c.x, c.y, 4, 4).backward();
      for (let i = 0; i < separate.length; i++) separate[i] += layer.weight.grad!.data[i];
    }
    for (let i = 0; i < summed.length; i++) expect(summed[i]).toBeCloseTo(separate[i], 6);
  });

  it('labels refilled by the loader between forward and backward throw', () => {
    const logits = tensor(
      [
        [1, 2, 3],
        [3, 2, 1],
        [0, 0, 1],
        [1, 1, 0],
      ],
      { requiresGrad: true },
    );
    const it = new DataLoader(data(8, 4), { batchSize: 4 })[Symbol.iterator]();
    const loss = softmaxCrossEntropy(logits, it.next().value.y);
    it.next();
    expect(() => loss.backward()).toThrow(
      /\[Int32Array\(4\)\], saved by softmaxCrossEntropy, is at version \d+; expected version \d+ instead/,
    );
  });

  it('an optimizer step between forward and backward throws, as in PyTorch', () => {
    manualSeed(2);
    const l1 = new Linear(4, 5);
    const l2 = new Linear(5, 3);
    const opt = new SGD([...l1.parameters(), ...l2.parameters()], { lr: 0.1 });
    const x = new Tensor(data(4, 4).x, [4, 4]);
    const y = Int32Array.of(0, 1, 2, 0);
    softmaxCrossEntropy(l2.forward(l1.forward(x)), y).backward();
    const loss = softmaxCrossEntropy(l2.forward(l1.forward(x)), y);
    opt.step(); // changes l2.weight, which the second layer saved to backpropagate into its input
    expect(() => loss.backward()).toThrow(/saved by linear, is at version \d+; expected version \d+ instead/);
  });

  it('markModified stands for an in-place write the library cannot see', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = new Float32Array([4, 5, 6]);
    const y = mul(a, new Tensor(b, [3])).sum();
    b[0] = 40;
    markModified(b);
    expect(() => y.backward()).toThrow(MODIFIED);
  });

  it('nothing changes for the usual loop, nor for a second backward with retainGraph', () => {
    manualSeed(3);
    const layer = new Linear(4, 3);
    const opt = new SGD(layer.parameters(), { lr: 0.1 });
    for (const b of new DataLoader(data(12, 4), { batchSize: 4 })) {
      opt.zeroGrad();
      lossOf(layer, b.x, b.y, 4, 4).backward();
      opt.step();
    }
    const a = tensor([1, 2], { requiresGrad: true });
    const y = mul(a, a).sum();
    y.backward(null, { retainGraph: true });
    y.backward();
    expect(Array.from(a.grad!.data)).toEqual([4, 8]);
  });
});
