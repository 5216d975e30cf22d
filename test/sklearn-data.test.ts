// End to end on scikit-learn's diabetes (regression) and wine (3 classes, string labels) data,
// through the API: loadCsv, split, Preprocessor, fit, evaluate, save, loadModel.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { manualSeed } from '../lib/random.js';
import { mlp } from '../lib/nn/index.js';
import { Adam } from '../lib/optim/index.js';
import { loadCsv, loadCsvTable, Preprocessor, trainValTestSplit, Dataset } from '../lib/data/index.js';
import { fit, evaluate, save, loadModel } from '../lib/train/index.js';

const root = path.join(__dirname, '..');
const ols = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'regression', 'diabetes-ols.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-sklearn-'));

describe('diabetes (regression, 442 x 10)', () => {
  const file = path.join(root, 'data', 'diabetes.csv');

  it('reads as 442 samples of 10 features with float targets, inferred as regression with a warning', () => {
    const t = loadCsvTable(file, { task: 'auto' });
    expect(t.dataset.length).toBe(442);
    expect(t.dataset.features).toBe(10);
    expect(t.dataset.task).toBe('regression');
    expect(t.columns?.[t.targetColumn]).toBe('target');
    expect(t.inference.reason).toBe('214 distinct integers');
    expect(t.inference.warning).toMatch(/214 distinct integers/);
  });

  it('the fixture split is the one trainValTestSplit(seed 1234) makes, as the CLI does', () => {
    const rows = new Dataset({ x: Float32Array.from({ length: 442 }, (_, i) => i), targets: new Float32Array(442) });
    const parts = trainValTestSplit(rows, { validation: 0.1, test: 0.2, seed: 1234 });
    expect(Array.from(parts.test.x)).toEqual(ols.test);
    expect(Array.from(parts.train.x)).toEqual(ols.train);
  });

  it(`a linear model reaches test R^2 >= OLS - 0.02 on the held-out split (OLS: ${ols.olsTestR2})`, () => {
    const ds = loadCsv(file, { task: 'regression' });
    const train = ds.subset(ols.train);
    const test = ds.subset(ols.test);
    const pre = Preprocessor.fit(train);
    manualSeed(1);
    const model = mlp(10, [], 1);
    // Start the bias at the mean target (about 150) so the steps go to the slopes.
    const params = model.parameters();
    params[params.length - 1].data.fill(train.targets!.reduce((a, b) => a + b, 0) / train.length);
    fit(model, {
      train: pre.transform(train),
      epochs: 100,
      batchSize: 32,
      optimizer: new Adam(model.parameters(), { lr: 0.1 }),
      progress: 'silent',
      seed: 1,
    });
    const file2 = path.join(tmp, 'diabetes.safetensors');
    save(model, file2, { preprocess: pre });
    const m = evaluate(loadModel(file2), test);
    expect(m.task).toBe('regression');
    if (m.task !== 'regression') return;
    expect(m.r2).toBeGreaterThanOrEqual(ols.olsTestR2 - 0.02);
    expect(m.rmse).toBeLessThan(ols.olsTestRmse * 1.02);
  });
});

describe('wine (178 x 13, 3 classes with string labels)', () => {
  const file = path.join(root, 'data', 'wine.csv');

  it('maps the string labels to class names, sorted', () => {
    const t = loadCsvTable(file, { task: 'auto' });
    expect(t.inference).toEqual({ task: 'classification', reason: 'class names' });
    expect(t.dataset.classNames).toEqual(['class_0', 'class_1', 'class_2']);
    expect(Array.from(t.dataset.classCounts())).toEqual([59, 71, 48]);
  });

  it('an MLP reaches >= 95% test accuracy, with the class names in the model file', () => {
    const ds = loadCsv(file);
    const { train, validation, test } = trainValTestSplit(ds, {
      validation: 0.1,
      test: 0.2,
      seed: 1234,
      stratify: true,
    });
    const pre = Preprocessor.fit(train);
    manualSeed(1);
    const model = mlp(13, [32], 3);
    fit(model, {
      train: pre.transform(train),
      validation: pre.transform(validation),
      epochs: 60,
      batchSize: 16,
      progress: 'silent',
      seed: 1,
    });
    const f = path.join(tmp, 'wine.safetensors');
    save(model, f, { preprocess: pre });
    const loaded = loadModel(f);
    expect(loaded.preprocessor?.classNames).toEqual(['class_0', 'class_1', 'class_2']);
    const m = evaluate(loaded, test);
    expect(m.task).toBe('classification');
    if (m.task !== 'classification') return;
    expect(m.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(test.length);
  });
});
