// The preprocessing travels in the model file: a model trained by the API predicts the same in
// `nodegrad predict`, a model trained by `nodegrad train` evaluates the same through the API,
// files of the old CLI keep working, and tampered or missing preprocessing is never silent.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { cli } from './helpers/cli.js';
import {
  Dataset,
  Preprocessor,
  fitStandardizer,
  loadDigits,
  trainValTestSplit,
  nn,
  fit,
  evaluate,
  predictClasses,
  save,
  loadModel,
  manualSeed,
  loadSafetensors,
  encodeSafetensors,
  optim,
} from '../lib/index.js';

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-pre-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The digits split exactly as the CLI makes it (its SPLIT_SEED), features scaled by the loader. */
function digitSplits() {
  return trainValTestSplit(loadDigits(), { validation: 0.1, test: 0.2, seed: 1234, stratify: true });
}

/** Rewrites a model file's metadata (tensors unchanged). */
function rewriteMeta(from: string, to: string, edit: (m: Record<string, string>) => void): void {
  const { tensors, metadata } = loadSafetensors(from);
  const m = { ...metadata };
  edit(m);
  fs.writeFileSync(to, encodeSafetensors(tensors, m));
}

/** The first `n` rows of the bundled digits CSV, in the data set's units (0..16), without labels. */
function digitRowsCsv(n: number): string {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(root, 'data', 'digits.csv.gz'))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n)
    .map((l) => l.split(',').slice(0, 64).join(','))
    .join('\n');
}

describe('Preprocessor', () => {
  const ds = new Dataset({
    x: Float32Array.from([1, 10, 5, 3, 20, 5, 5, 30, 5, 7, 40, 5]),
    y: Int32Array.from([0, 1, 0, 1]),
    classNames: ['a', 'b'],
  });

  it('standardises exactly as fitStandardizer does, and keeps the class names', () => {
    const pre = Preprocessor.fit(ds, { inputScale: 0.5 });
    expect(Array.from(pre.transform(ds).x)).toEqual(Array.from(fitStandardizer(ds).apply(ds).x));
    expect(pre.classNames).toEqual(['a', 'b']);
    expect(pre.features).toBe(3);
    expect(Array.from(pre.fromUnits([2, 20, 10]))).toEqual([1, 10, 5]);
  });

  it('round-trips through JSON', () => {
    const pre = Preprocessor.fit(ds, { inputScale: 1 / 255 });
    const again = Preprocessor.fromJSON(JSON.parse(JSON.stringify(pre.toJSON())));
    expect(again.toJSON()).toEqual(pre.toJSON());
    expect(Array.from(again.transform(ds.x))).toEqual(Array.from(pre.transform(ds.x)));
    const scaleOnly = Preprocessor.fromJSON(new Preprocessor({ features: 3, inputScale: 0.25 }).toJSON());
    expect(scaleOnly.standardizer).toBeUndefined();
    expect(scaleOnly.transform(ds.x)).toBe(ds.x);
  });

  it('refuses tampered fields, naming them', () => {
    const good = Preprocessor.fit(ds).toJSON();
    expect(() => Preprocessor.fromJSON({ ...good, inputScale: '0.0625' })).toThrow(
      /inputScale must be a finite number > 0, got '0.0625'/,
    );
    expect(() => Preprocessor.fromJSON({ ...good, std: [0, 0, 0] })).toThrow(/std\[0\] must be > 0, got 0/);
    expect(() => Preprocessor.fromJSON({ ...good, mean: [1, 2] })).toThrow(
      /mean must have one value a feature \(3\), got 2/,
    );
    expect(() => Preprocessor.fromJSON({ ...good, mean: [1, null, 2] })).toThrow(/mean must be an array of numbers/);
    expect(() => Preprocessor.fromJSON({ ...good, std: [1, 1e39, 1] })).toThrow(/std\[1\] must be finite/);
    expect(() => Preprocessor.fromJSON({ ...good, task: 'ranking' })).toThrow(
      /task must be 'classification' or 'regression', got 'ranking'/,
    );
    expect(() => Preprocessor.fromJSON({ ...good, std: undefined })).toThrow(/both mean and std/);
  });

  it('refuses data of another width', () => {
    const pre = Preprocessor.fit(ds);
    expect(() => pre.transform(new Dataset({ x: new Float32Array(4), y: new Int32Array(2) }))).toThrow(
      /the data has 2 features a sample, the model takes 3/,
    );
  });
});

describe('a model trained and saved by the API', () => {
  const file = path.join(tmp, 'api.safetensors');
  let apiClasses: Int32Array;
  let pre: Preprocessor;
  let model: nn.Sequential;

  beforeAll(() => {
    const { train, test } = digitSplits();
    pre = Preprocessor.fit(train, { inputScale: 1 / 16 });
    manualSeed(3);
    model = nn.mlp(64, [32], 10);
    fit(model, {
      train: pre.transform(train),
      epochs: 3,
      batchSize: 32,
      seed: 3,
      progress: false,
      optimizer: new optim.Adam(model.parameters(), { lr: 1e-2 }),
    });
    save(model, file, { preprocess: pre });
    apiClasses = predictClasses(model, pre.transform(test));
  });

  it('loads with its preprocessing, which predict applies to the features', () => {
    const loaded = loadModel(file);
    expect(loaded.preprocessor?.toJSON()).toEqual(pre.toJSON());
    const { test } = digitSplits();
    expect(Array.from(predictClasses(loaded, test))).toEqual(Array.from(apiClasses));
    // opting out feeds the data as it is
    expect(Array.from(predictClasses(loaded, pre.transform(test), { preprocess: false }))).toEqual(
      Array.from(apiClasses),
    );
  });

  it('predicts the same classes in `nodegrad predict` as in the API', () => {
    const rows = digitRowsCsv(40);
    const r = cli(['predict', '--model', file, '--input', '-', '--json'], rows);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const cliClasses = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { class: number }).class);
    const features = new Dataset({
      x: Float32Array.from(rows.split(/[\n,]/).map((v) => Number(v) / 16)),
      y: new Int32Array(40),
    });
    expect(cliClasses).toEqual(Array.from(predictClasses(model, pre.transform(features))));
    expect(new Set(cliClasses).size).toBeGreaterThan(5); // not every row class 0
  });

  it('keeps the metadata argument of save() working', () => {
    const f = path.join(tmp, 'meta.safetensors');
    save(model, f, { note: 'hello' });
    expect(loadSafetensors(f).metadata.note).toBe('hello');
    expect(loadModel(f).preprocessor).toBeUndefined();
    save(model, f, { preprocess: pre, metadata: { note: 'again' } });
    expect(loadSafetensors(f).metadata.note).toBe('again');
    // a loaded model carries its preprocessor into the next save
    const g = path.join(tmp, 'resaved.safetensors');
    save(loadModel(f), g);
    expect(loadModel(g).preprocessor?.toJSON()).toEqual(pre.toJSON());
  });

  it('without preprocessing: predict warns on stderr, eval refuses', () => {
    const bare = path.join(tmp, 'bare.safetensors');
    save(model, bare);
    const p = cli(['predict', '--model', bare, '--input', '-'], digitRowsCsv(3));
    expect(p.code).toBe(0);
    expect(p.stderr).toMatch(/warning: .*bare\.safetensors records no preprocessing/);
    const e = cli(['eval', '--model', bare, '--data', 'digits']);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/bare\.safetensors: no preprocessing in the metadata/);
  });
});

describe('a model written by `nodegrad train`', () => {
  const out = path.join(tmp, 'cli');
  const file = path.join(out, 'model.safetensors');
  let evalJson: { testAccuracy: number; testLoss: number };

  beforeAll(() => {
    const r = cli(['train', '--epochs', '2', '--quiet', '--out', out, '--no-plot']);
    expect(r.code, r.stderr).toBe(0);
    const e = cli(['eval', '--model', file, '--json']);
    expect(e.code, e.stderr).toBe(0);
    evalJson = JSON.parse(e.stdout);
  });

  it('evaluates to the same accuracy and loss through ng.evaluate(ng.loadModel(file), rawData)', () => {
    const r = evaluate(loadModel(file), digitSplits().test);
    expect(r.accuracy).toBe(evalJson.testAccuracy);
    expect(r.loss).toBe(evalJson.testLoss);
  });

  it('an old file (preprocessing under nodegrad.cli.preprocess) still evaluates and predicts the same', () => {
    const old = path.join(tmp, 'old.safetensors');
    rewriteMeta(file, old, (m) => {
      const p = JSON.parse(m['nodegrad.preprocess']);
      delete m['nodegrad.preprocess'];
      m['nodegrad.cli.preprocess'] = JSON.stringify({ inputScale: p.inputScale, mean: p.mean, std: p.std });
      m['nodegrad.cli.classes'] = JSON.stringify(p.classNames);
    });
    expect(loadModel(old).preprocessor?.toJSON()).toEqual(loadModel(file).preprocessor?.toJSON());
    const e = cli(['eval', '--model', old, '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ testAccuracy: evalJson.testAccuracy, testLoss: evalJson.testLoss });
    const rows = digitRowsCsv(10);
    expect(cli(['predict', '--model', old, '--input', '-'], rows).stdout).toBe(
      cli(['predict', '--model', file, '--input', '-'], rows).stdout,
    );
  });

  it.each([
    ['a string input scale', { inputScale: 'abc' }, /inputScale must be a finite number > 0, got 'abc'/],
    ['an all-zero std', { std: new Array(64).fill(0) }, /std\[0\] must be > 0, got 0/],
  ])('tampered old-style metadata (%s) is refused on load, exit 1, not NaN predictions', (_what, change, message) => {
    const bad = path.join(tmp, 'tampered.safetensors');
    rewriteMeta(file, bad, (m) => {
      const p = JSON.parse(m['nodegrad.preprocess']);
      delete m['nodegrad.preprocess'];
      m['nodegrad.cli.preprocess'] = JSON.stringify({ inputScale: p.inputScale, mean: p.mean, std: p.std, ...change });
    });
    const r = cli(['predict', '--model', bad, '--input', '-'], digitRowsCsv(2));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/tampered\.safetensors: invalid preprocessing metadata/);
    expect(r.stderr).toMatch(message);
    expect(() => loadModel(bad)).toThrow(message);
  });

  it('preprocessing for another number of features than the model takes is refused', () => {
    const bad = path.join(tmp, 'width.safetensors');
    rewriteMeta(file, bad, (m) => {
      const p = JSON.parse(m['nodegrad.preprocess']);
      m['nodegrad.preprocess'] = JSON.stringify({ ...p, features: 63, mean: p.mean.slice(1), std: p.std.slice(1) });
    });
    expect(() => loadModel(bad)).toThrow(
      /width\.safetensors: invalid preprocessing metadata: it is for 63 features, the model's first layer \(0\.weight\) takes 64/,
    );
  });
});

describe('loading checks the file against the architecture', () => {
  it('a spec claiming Linear(30000, 30000) with small weights is refused before anything is allocated', () => {
    const file = path.join(tmp, 'huge.safetensors');
    const spec = {
      type: 'Sequential',
      layers: [{ type: 'Linear', inFeatures: 30000, outFeatures: 30000, bias: true }],
    };
    const tensors = {
      '0.weight': { shape: [2, 2], data: new Float32Array(4) },
      '0.bias': { shape: [2], data: new Float32Array(2) },
    };
    fs.writeFileSync(file, encodeSafetensors(tensors, { 'nodegrad.architecture': JSON.stringify(spec) }));
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    expect(() => loadModel(file)).toThrow(
      /huge\.safetensors: the weights do not match the architecture: 0\.weight: the file's shape \[2,2\] does not match the architecture's \[30000,30000\]; 0\.bias: the file's shape \[2\] does not match the architecture's \[30000\]/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
  });

  it('names missing and unexpected weights', () => {
    const file = path.join(tmp, 'names.safetensors');
    const spec = { type: 'Sequential', layers: [{ type: 'Linear', inFeatures: 2, outFeatures: 2, bias: true }] };
    fs.writeFileSync(
      file,
      encodeSafetensors(
        { '0.weight': { shape: [2, 2], data: new Float32Array(4) }, extra: { shape: [1], data: new Float32Array(1) } },
        { 'nodegrad.architecture': JSON.stringify(spec) },
      ),
    );
    expect(() => loadModel(file)).toThrow(/missing: 0\.bias; unexpected: extra/);
  });
});

describe('resuming with another architecture', () => {
  const x = new Float32Array(40 * 8).map((_, i) => Math.sin(i));
  const train = new Dataset({ x, y: Int32Array.from({ length: 40 }, (_, i) => i % 3) });

  it("names the checkpoint's shape and the parameter's", () => {
    const ck = path.join(tmp, 'arch.ckpt');
    manualSeed(1);
    fit(nn.mlp(8, [16], 3), { train, epochs: 1, seed: 1, progress: false, checkpoint: ck });
    expect(() => fit(nn.mlp(8, [12], 3), { train, epochs: 2, seed: 1, progress: false, resume: ck })).toThrow(
      /0\.weight: shape \[16,8\] does not match the parameter's \[12,8\]/,
    );
  });

  it('a flat entry of the wrong size (a checkpoint without shapes) says how many values it has', () => {
    const m = nn.mlp(4, [], 5);
    expect(() =>
      m.loadStateDict({
        '0.weight': { shape: [5, 4], data: new Float32Array(3) },
        '0.bias': { shape: [5], data: new Float32Array(5) },
      }),
    ).toThrow(/0\.weight: 3 values do not fill shape \[5,4\] \(20 values\)/);
  });
});
