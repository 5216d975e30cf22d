import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../lib/tensor/index.js';
import { manualSeed } from '../lib/random.js';
import { Linear, mlp } from '../lib/nn/index.js';
import { Adam } from '../lib/optim/index.js';
import { Dataset, DataLoader, Preprocessor, split, fitStandardizer, loadDigits } from '../lib/data/index.js';
import { fit, evaluate, predict, save, loadModel } from '../lib/train/index.js';
import { classificationMetrics, regressionMetrics, confusionMatrix } from '../lib/train/metrics.js';
import { l1, huber } from '../lib/train/losses.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-regress-'));

/** y = x W + b + noise for N samples of D features and K outputs, from a fixed generator. */
function linearData(n: number, d: number, k: number, noise = 0.01): { x: Float32Array; t: Float32Array; w: number[] } {
  let s = 12345;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  };
  const w = Array.from({ length: d * k }, () => 2 * rnd());
  const x = new Float32Array(n * d).map(() => 2 * rnd());
  const t = new Float32Array(n * k);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      let v = 0.5 * (j + 1);
      for (let q = 0; q < d; q++) v += x[i * d + q] * w[q * k + j];
      t[i * k + j] = v + noise * rnd();
    }
  return { x, t, w };
}

describe('Dataset with float targets', () => {
  it('takes targets of shape [N] (targetShape [] by default) and reports regression', () => {
    const ds = new Dataset({ x: new Float32Array(6), targets: Float32Array.of(1, 2, 3) });
    expect(ds.task).toBe('regression');
    expect(ds.length).toBe(3);
    expect(ds.features).toBe(2);
    expect(ds.targetShape).toEqual([]);
    expect(ds.targetSize).toBe(1);
    expect(ds.numClasses).toBe(0);
  });

  it('takes targets of shape [N, k] and keeps rows together in subset', () => {
    const ds = new Dataset({
      x: Float32Array.of(0, 1, 2),
      targets: Float32Array.of(0, 0, 1, 10, 2, 20),
      targetShape: [2],
    });
    expect(ds.length).toBe(3);
    const sub = ds.subset([2, 0]);
    expect(Array.from(sub.x)).toEqual([2, 0]);
    expect(Array.from(sub.targets!)).toEqual([2, 20, 0, 0]);
    expect(Array.from(ds.target(1) as Float32Array)).toEqual([1, 10]);
  });

  it('keeps class labels working as before (task classification)', () => {
    const ds = new Dataset({ x: new Float32Array(4), y: Int32Array.of(0, 1) });
    expect(ds.task).toBe('classification');
    expect(ds.targets).toBeUndefined();
    expect(ds.target(1)).toBe(1);
  });

  it('refuses y and targets together, non-finite targets, and a ragged target count', () => {
    expect(() => new Dataset({ x: new Float32Array(2), y: Int32Array.of(0), targets: Float32Array.of(1) })).toThrow(
      /either y .* or targets/,
    );
    expect(() => new Dataset({ x: new Float32Array(2), targets: Float32Array.of(Number.NaN) })).toThrow(
      /targets must be finite, got targets\[0\] = NaN/,
    );
    expect(() => new Dataset({ x: new Float32Array(3), targets: Float32Array.of(1, 2, 3), targetShape: [2] })).toThrow(
      /targets must hold N x 2 values/,
    );
    expect(() => new Dataset({ x: new Float32Array(2), targets: Float32Array.of(1), numClasses: 2 })).toThrow(
      /numClasses is for class labels/,
    );
  });

  it('standardizes and splits regression data, keeping the targets with their samples', () => {
    const { x, t } = linearData(50, 3, 2);
    const ds = new Dataset({ x, targets: t, targetShape: [2] });
    const { train, test } = split(ds, { test: 0.2, seed: 1, stratify: true });
    expect(train.length + test.length).toBe(50);
    const std = fitStandardizer(train).apply(train);
    expect(std.task).toBe('regression');
    expect(Array.from(std.targets!)).toEqual(Array.from(train.targets!));
  });
});

describe('DataLoader over float targets', () => {
  it('batches targets as size x K next to x, in the shuffled order', () => {
    const n = 10;
    const x = Float32Array.from({ length: n }, (_, i) => i);
    const targets = Float32Array.from({ length: 2 * n }, (_, i) => Math.floor(i / 2) * 100 + (i % 2));
    const ds = new Dataset({ x, targets, targetShape: [2] });
    const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 3 });
    let seen = 0;
    for (const b of loader) {
      expect(b.targetShape).toEqual([b.size, 2]);
      expect(b.y.length).toBe(0);
      for (let k = 0; k < b.size; k++) {
        expect(b.targets[2 * k]).toBe(b.x[k] * 100);
        expect(b.targets[2 * k + 1]).toBe(b.x[k] * 100 + 1);
      }
      seen += b.size;
    }
    expect(seen).toBe(n);
  });
});

describe('metrics', () => {
  it('match scikit-learn on a small classification example', () => {
    // sklearn.metrics on y_true = [0,0,1,1,2,2], y_pred = [0,1,1,1,0,2]:
    // precision [0.5, 0.6667, 1], recall [0.5, 1, 0.5], f1 [0.5, 0.8, 0.6667], macro-F1 0.6556
    const m = classificationMetrics(Int32Array.of(0, 1, 1, 1, 0, 2), Int32Array.of(0, 0, 1, 1, 2, 2), 3);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision.map((v) => +v.toFixed(4))).toEqual([0.5, 0.6667, 1]);
    expect(m.recall).toEqual([0.5, 1, 0.5]);
    expect(m.f1.map((v) => +v.toFixed(4))).toEqual([0.5, 0.8, 0.6667]);
    expect(m.macroF1).toBeCloseTo(0.65556, 4);
    expect(m.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });

  it('give a class never predicted precision 0, as zero_division=0', () => {
    const m = classificationMetrics(Int32Array.of(0, 0), Int32Array.of(0, 1), 2);
    expect(m.precision).toEqual([0.5, 0]);
    expect(m.f1[1]).toBe(0);
  });

  it('match scikit-learn on a small regression example (r2_score uniform average)', () => {
    // y_true = [[0.5, 1], [-1, 1], [7, -6]], y_pred = [[0, 2], [-1, 2], [8, -5]]:
    // r2_score = 0.9368..., mean_absolute_error = 0.75, mean_squared_error = 0.7083...
    const m = regressionMetrics(Float32Array.of(0, 2, -1, 2, 8, -5), Float32Array.of(0.5, 1, -1, 1, 7, -6), 2);
    expect(m.r2).toBeCloseTo(0.93685, 4);
    expect(m.mae).toBeCloseTo(0.75, 6);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.708333), 5);
  });

  it('refuse a label outside the classes', () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 2)).toThrow(/sample 1/);
  });
});

describe('regression losses', () => {
  it('l1 and huber match their definitions, with PyTorch gradients', () => {
    const p = new Tensor(Float32Array.of(0, 2, -3, 0.5), [2, 2], { requiresGrad: true });
    const t = new Tensor(Float32Array.of(0, 0, 0, 0), [2, 2]);
    const a = l1(p, t);
    expect(a.item()).toBeCloseTo((0 + 2 + 3 + 0.5) / 4, 6);
    a.backward();
    // sign(d) / n, with sign(0) = 0
    expect(Array.from(p.grad!.data)).toEqual([0, 0.25, -0.25, 0.25]);
    const q = new Tensor(Float32Array.of(0, 2, -3, 0.5), [2, 2], { requiresGrad: true });
    const h = huber(q, t);
    // torch.nn.functional.huber_loss([0, 2, -3, 0.5], 0) = (0 + 1.5 + 2.5 + 0.125) / 4
    expect(h.item()).toBeCloseTo(4.125 / 4, 6);
    h.backward();
    // d / n inside |d| < 1, sign(d) / n beyond
    expect(Array.from(q.grad!.data)).toEqual([0, 0.25, -0.25, 0.125]);
  });
});

describe('fit and evaluate on float targets', () => {
  const { x, t } = linearData(400, 4, 2);
  const all = new Dataset({ x, targets: t, targetShape: [2] });
  const { train, test } = split(all, { test: 0.25, seed: 5 });

  for (const loss of ['mse', 'l1', 'huber'] as const) {
    it(`fits a linear map with loss '${loss}' to R^2 > 0.99`, () => {
      manualSeed(1);
      const model = new Linear(4, 2);
      fit(model, {
        train,
        epochs: 60,
        batchSize: 32,
        loss,
        optimizer: new Adam(model.parameters(), { lr: 0.05 }),
        progress: 'silent',
        seed: 2,
      });
      const m = evaluate(model, test, { loss });
      expect(m.task).toBe('regression');
      if (m.task !== 'regression') return;
      expect(m.r2).toBeGreaterThan(0.99);
      expect(m.rmse).toBeLessThan(0.1);
    });
  }

  it('defaults to mse for float targets and reports no accuracy', () => {
    manualSeed(1);
    const model = new Linear(4, 2);
    const h = fit(model, { train, validation: test, epochs: 2, progress: 'silent', seed: 1 });
    expect(h.epochs[0].accuracy).toBeNaN();
    expect(h.epochs[0].valAccuracy).toBeUndefined();
    expect(h.epochs[1].valLoss).toBeGreaterThan(0);
  });

  it('trains [N] targets with a one-output model', () => {
    const { x: x1, t: t1 } = linearData(200, 3, 1);
    const ds = new Dataset({ x: x1, targets: t1 });
    manualSeed(1);
    const model = new Linear(3, 1);
    fit(model, {
      train: ds,
      epochs: 40,
      batchSize: 16,
      optimizer: new Adam(model.parameters(), { lr: 0.05 }),
      progress: 'silent',
      seed: 1,
    });
    const m = evaluate(model, ds);
    expect(m.task === 'regression' && m.r2).toBeGreaterThan(0.99);
  });

  it('passes the targets as a Tensor [N, K] to a loss function', () => {
    manualSeed(1);
    const model = new Linear(4, 2);
    const shapes: number[][] = [];
    fit(model, {
      train,
      epochs: 1,
      batchSize: 100,
      loss: (out: Tensor, target: Tensor) => {
        shapes.push([...target.shape]);
        return l1(out, target);
      },
      progress: 'silent',
      seed: 1,
    });
    expect(shapes[0]).toEqual([100, 2]);
  });

  it('refuses a classification loss on float targets and a regression loss on labels', () => {
    const model = new Linear(4, 2);
    expect(() => fit(model, { train, epochs: 1, loss: 'crossEntropy', progress: 'silent' })).toThrow(
      /loss 'crossEntropy' is for class labels, but the data set has float targets/,
    );
    const cls = new Dataset({ x: new Float32Array(8), y: Int32Array.of(0, 1) });
    expect(() => fit(model, { train: cls, epochs: 1, loss: 'mse', progress: 'silent' })).toThrow(
      /loss 'mse' is for float targets, but the data set has class labels/,
    );
    expect(() => fit(model, { train, epochs: 1, loss: 'mae' as never, progress: 'silent' })).toThrow(
      /loss must be 'crossEntropy', 'svm', 'mse', 'l1', 'huber' or a function, got mae/,
    );
  });

  it('refuses to monitor accuracy for early stopping on float targets', () => {
    expect(() =>
      fit(new Linear(4, 2), {
        train,
        validation: test,
        epochs: 1,
        earlyStopping: { monitor: 'valAccuracy' },
        progress: 'silent',
      }),
    ).toThrow(/monitor 'valAccuracy' needs class labels/);
  });

  it('refuses a model whose outputs do not match the targets', () => {
    expect(() => fit(new Linear(4, 3), { train, epochs: 1, progress: 'silent' })).toThrow(
      /2 target values a sample but the model has 3 outputs/,
    );
  });

  it('carries the task through save, loadModel and predict', () => {
    manualSeed(1);
    const pre = Preprocessor.fit(train);
    expect(pre.task).toBe('regression');
    const model = mlp(4, [8], 2);
    fit(model, {
      train: pre.transform(train),
      epochs: 30,
      batchSize: 32,
      optimizer: new Adam(model.parameters(), { lr: 0.02 }),
      progress: 'silent',
      seed: 3,
    });
    const file = path.join(tmp, 'reg.safetensors');
    save(model, file, { preprocess: pre });
    const loaded = loadModel(file);
    expect(loaded.preprocessor?.task).toBe('regression');
    const before = evaluate(model, pre.transform(test));
    const after = evaluate(loaded, test);
    expect(after).toEqual(before);
    const out = predict(loaded, test);
    expect(out.shape).toEqual([test.length, 2]);
    const cls = new Dataset({ x: new Float32Array(8), y: Int32Array.of(0, 1) });
    expect(() => evaluate(loaded, cls)).toThrow(/trained for regression, the data set is classification data/);
  });
});

describe('evaluate on class labels', () => {
  it('reports accuracy, per-class figures, macro-F1 and a confusion matrix that sums to N', () => {
    const digits = loadDigits();
    const { train, test } = split(digits, { test: 0.2, seed: 42, stratify: true });
    const std = fitStandardizer(train);
    manualSeed(3);
    const model = mlp(64, [32], 10);
    fit(model, { train: std.apply(train), epochs: 5, batchSize: 32, progress: 'silent', seed: 1 });
    const m = evaluate(model, std.apply(test));
    expect(m.task).toBe('classification');
    if (m.task !== 'classification') return;
    expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(test.length);
    const diag = m.confusion.reduce((s, row, c) => s + row[c], 0);
    expect(m.accuracy).toBeCloseTo(diag / test.length, 12);
    expect(m.f1).toHaveLength(10);
    expect(m.macroF1).toBeCloseTo(m.f1.reduce((a, b) => a + b, 0) / 10, 12);
    expect(m.accuracy).toBeGreaterThan(0.9);
  });
});
