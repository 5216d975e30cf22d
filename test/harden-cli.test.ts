// Issue 16's CLI instances: predict's header rule, colliding output paths, --resume with other
// flags, model-spec errors, too little data. Each failed on the code before the fix.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { cli } from './helpers/cli.js';
import { parseCsv } from '../lib/data/csv.js';
import { Dataset } from '../lib/data/index.js';
import { fit, save, loadModel } from '../lib/train/index.js';
import { mlp } from '../lib/nn/index.js';
import { loadSafetensors, saveSafetensors } from '../lib/io/index.js';

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-harden-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dir(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** The first `n` rows of the bundled digits CSV, features only (64 values 0..16). */
function digitFeatures(n: number): string[] {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(root, 'data', 'digits.csv.gz'))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n)
    .map((r) => r.split(',').slice(0, 64).join(','));
}

describe('predict: header or data is decided explicitly', () => {
  const model = path.join(dir('predict'), 'model.safetensors');
  beforeAll(() => {
    const r = cli(['train', '--epochs', '1', '--quiet', '--no-plot', '--out', path.dirname(model)]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a first row with a typo is an error naming its line and column, not a dropped header', () => {
    const rows = digitFeatures(3);
    const typo = rows[0].split(',');
    typo[5] = '1O'; // the letter O for a zero
    const r = cli(['predict', '--model', model, '--input', '-'], [typo.join(','), ...rows.slice(1)].join('\n'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "nodegrad: stdin: line 1, column 6: '1O' is not a number (a header line has no numbers; if this one is a header, say so with --header)\n",
    );
  });

  it('a header of names only is still skipped, and --header skips any first line', () => {
    const rows = digitFeatures(2);
    const names = Array.from({ length: 64 }, (_, i) => `p${i}`).join(',');
    const r = cli(['predict', '--model', model, '--input', '-'], [names, ...rows].join('\n'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    const mixed = `${Array.from({ length: 63 }, (_, i) => `p${i}`).join(',')},2020`;
    const h = cli(['predict', '--model', model, '--input', '-', '--header'], [mixed, ...rows].join('\n'));
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout.trim().split('\n')).toHaveLength(2);
    // --no-header: the first line is data, so a names line is an error.
    const n = cli(['predict', '--model', model, '--input', '-', '--no-header'], [names, ...rows].join('\n'));
    expect(n.code).toBe(1);
    expect(n.stderr).toBe("nodegrad: stdin: line 1, column 1: 'p0' is not a number\n");
  });

  it('a cell that overflows float32 is refused naming line and column', () => {
    const rows = digitFeatures(2);
    const big = rows[1].split(',');
    big[9] = '1e39';
    const r = cli(['predict', '--model', model, '--input', '-'], [rows[0], big.join(',')].join('\n'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "nodegrad: stdin: line 2, column 10: '1e39' is beyond the float32 range (largest magnitude 3.4028235e38)\n",
    );
  });

  it('loadCsv follows the same rule: a first line mixing numbers and text is refused', () => {
    expect(() => parseCsv('1,x2,0\n3,4,1\n', {}, 'm.csv')).toThrow(
      "m.csv: line 1, column 2: 'x2' is not a number (a header line has no numbers; if this one is a header, say so with header: true)",
    );
    expect(parseCsv('a,b,label\n1,2,0\n', {}, 'h.csv').length).toBe(1);
    expect(parseCsv('a,2,label\n1,2,0\n', { header: true }, 'h.csv').length).toBe(1);
  });
});

describe('colliding output paths are usage errors (exit 2), before anything is written', () => {
  const usage = (args: string[], message: string): void => {
    const r = cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`nodegrad: ${message}`);
  };

  it('--checkpoint or --plot equal to the model file', () => {
    const out = dir('collide');
    const model = path.join(out, 'model.safetensors');
    fs.writeFileSync(model, 'the previous model');
    usage(
      ['train', '--epochs', '1', '--out', out, '--checkpoint', model],
      `the model file (--out) and --checkpoint are the same file (${model}): writing one would overwrite the other`,
    );
    // the same file through ./ and a directory named twice
    const spelled = path.join(out, '.', 'sub', '..', 'model.safetensors');
    usage(
      ['train', '--epochs', '1', '--out', out, '--plot', spelled],
      `the model file (--out) and --plot are the same file (${spelled}): writing one would overwrite the other`,
    );
    expect(fs.readFileSync(model, 'utf8')).toBe('the previous model');
  });

  it('--plot over the checkpoint, over the checkpoint resumed from, or over the CSV data', () => {
    const out = dir('collide2');
    const ck = path.join(out, 'ck.safetensors');
    usage(
      ['train', '--out', out, '--checkpoint', ck, '--plot', ck],
      `--plot and --checkpoint are the same file (${ck}): writing one would overwrite the other`,
    );
    fs.writeFileSync(ck, 'a checkpoint');
    const link = path.join(out, 'link.safetensors');
    fs.symlinkSync(ck, link);
    usage(
      ['train', '--out', out, '--resume', ck, '--plot', link],
      `--plot and --resume are the same file (${ck}): writing one would overwrite the other`,
    );
    const csv = path.join(out, 'data.csv');
    fs.writeFileSync(csv, '1,2,0\n');
    usage(
      ['lr-sweep', '--data', `csv:${csv}`, '--plot', csv],
      `--plot and --data are the same file (${csv}): writing one would overwrite the other`,
    );
    expect(fs.readFileSync(ck, 'utf8')).toBe('a checkpoint');
  });

  it('resuming into the checkpoint it reads is allowed', () => {
    const out = dir('collide3');
    const ck = path.join(out, 'ck.safetensors');
    const first = cli([
      'train',
      '--epochs',
      '1',
      '--limit',
      '300',
      '--quiet',
      '--no-plot',
      '--out',
      out,
      '--checkpoint',
      ck,
    ]);
    expect(first.code, first.stderr).toBe(0);
    const again = cli([
      'train',
      '--epochs',
      '2',
      '--limit',
      '300',
      '--quiet',
      '--no-plot',
      '--out',
      out,
      '--checkpoint',
      ck,
      '--resume',
      ck,
    ]);
    expect(again.code, again.stderr).toBe(0);
  });
});

describe('too little data is refused before the first epoch', () => {
  it('--limit 1 names the empty sets, exit 1, and nothing trains', () => {
    const out = dir('little');
    const r = cli(['train', '--limit', '1', '--epochs', '1', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'nodegrad: digits with --limit 1: too little data: the split leaves the validation and test sets empty ' +
        '(1 train / 0 validation / 0 test); at least 5 training samples are needed\n',
    );
    expect(r.stdout).not.toMatch(/epoch/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(false);
  });

  it('a 1-row CSV, and --limit 5 which is enough', () => {
    const out = dir('little-csv');
    const csv = path.join(out, 'one.csv');
    fs.writeFileSync(csv, '1,2,0\n');
    const r = cli(['train', '--data', `csv:${csv}`, '--epochs', '1', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^nodegrad: csv:one\.csv: too little data: the split leaves the validation and test sets empty \(1 train/,
    );
    const ok = cli(['train', '--limit', '5', '--epochs', '1', '--quiet', '--no-plot', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  const tiny = (n: number): Dataset =>
    new Dataset({
      x: Float32Array.from({ length: n * 2 }, (_, i) => i % 3),
      y: Int32Array.from({ length: n }, (_, i) => i % 2),
      features: 2,
    });

  it('fit: an empty validation set, and earlyStopping on a validation figure without validation data', () => {
    let epochs = 0;
    const callbacks = { onEpochEnd: () => void epochs++ };
    const base = { train: tiny(8), epochs: 2, progress: false as const, callbacks };
    expect(() => fit(mlp(2, [], 2), { ...base, validation: tiny(8).subset([]) })).toThrow(
      new RangeError('fit: the validation set is empty (leave validation out to train without one)'),
    );
    expect(() => fit(mlp(2, [], 2), { ...base, earlyStopping: { patience: 1, monitor: 'valAccuracy' } })).toThrow(
      new RangeError(
        "fit: earlyStopping.monitor 'valAccuracy' needs validation data, and none was given (pass validation, or monitor 'loss')",
      ),
    );
    expect(epochs).toBe(0);
    // Without validation, early stopping on the training loss is fine.
    fit(mlp(2, [], 2), { ...base, earlyStopping: { patience: 1 } });
    expect(epochs).toBe(2);
  });
});

describe('a model file with a bad architecture names the file', () => {
  const good = path.join(dir('spec'), 'good.safetensors');
  const bad = path.join(dir('spec'), 'bad.safetensors');
  beforeAll(() => save(mlp(4, [3], 2), good));

  it.each([
    ['null', 'unknown module type in spec: undefined'],
    ['{"type":"Bogus"}', 'unknown module type in spec: "Bogus"'],
    ['{"type":"Sequential"}', 'Sequential spec needs a layers array'],
    [
      '{"type":"Sequential","layers":[{"type":"Linear","inFeatures":-1,"outFeatures":3}]}',
      'inFeatures must be an integer >= 1, got -1',
    ],
    ['{"type":"Sequential",', 'the architecture in the metadata is not valid JSON'],
  ])('%s', (spec, message) => {
    const { tensors, metadata } = loadSafetensors(good);
    saveSafetensors(bad, tensors, { ...metadata, 'nodegrad.architecture': spec });
    expect(() => loadModel(bad)).toThrow(`${bad}: ${message}`);
    const r = cli(['eval', '--model', bad, '--data', 'digits']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^nodegrad: ${bad.replace(/[.]/g, '\\.')}: `));
  });
});

describe('--resume compares the flags with the checkpoint', () => {
  const out = dir('resume');
  const ck = path.join(out, 'onecycle.ckpt');
  const plain = path.join(out, 'plain.ckpt');
  const base = ['train', '--limit', '300', '--quiet', '--no-plot', '--out', out];
  beforeAll(() => {
    expect(cli([...base, '--epochs', '2', '--schedule', 'onecycle', '--checkpoint', ck]).code).toBe(0);
    expect(cli([...base, '--epochs', '2', '--checkpoint', plain]).code).toBe(0);
  });

  it.each([
    [
      ['--epochs', '2'],
      `--schedule none differs from the checkpoint's onecycle: resume with the flags of the run that wrote ${ck}`,
    ],
    [
      ['--epochs', '2', '--schedule', 'onecycle', '--optimizer', 'sgd'],
      `--optimizer sgd differs from the checkpoint's adam: resume with the flags of the run that wrote ${ck}`,
    ],
    [
      ['--epochs', '3', '--schedule', 'onecycle'],
      `--epochs 3 differs from the checkpoint's 2 (with --schedule onecycle the schedule sets the lr from them): resume with the flags of the run that wrote ${ck}`,
    ],
    [
      ['--epochs', '2', '--schedule', 'onecycle', '--lr', '0.01'],
      `--lr 0.01 differs from the checkpoint's 0.001 (with --schedule onecycle the schedule sets the lr from them): resume with the flags of the run that wrote ${ck}`,
    ],
    [
      ['--epochs', '2', '--schedule', 'onecycle', '--hidden', '32'],
      `--hidden 32 differs from the checkpoint's 128,64: resume with the flags of the run that wrote ${ck}`,
    ],
  ])('refuses %j, exit 2', (flags, message) => {
    const r = cli([...base, '--resume', ck, ...flags]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`nodegrad: ${message}`);
  });

  it.each([
    [['--task', 'classify'], "--task classify differs from the checkpoint's regress"],
    [['--task', 'regress', '--target', '0'], "--target 0 differs from the checkpoint's not given"],
    [['--task', 'regress', '--no-header'], "--header false differs from the checkpoint's not given"],
  ])('refuses CSV flags %j that read the data otherwise than the checkpoint, exit 2', (flags, message) => {
    const csv = ['train', '--data', `csv:${path.join(root, 'data', 'diabetes.csv')}`, '--model', 'softmax'];
    const csvCk = path.join(out, 'csv.ckpt');
    if (!fs.existsSync(csvCk))
      expect(cli([...csv, ...base.slice(3), '--task', 'regress', '--epochs', '1', '--checkpoint', csvCk]).code).toBe(0);
    const r = cli([...csv, ...base.slice(3), '--epochs', '1', '--resume', csvCk, ...flags]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`nodegrad: ${message}: resume with the flags of the run that wrote ${csvCk}`);
  });

  it('a new --lr or more --epochs without a schedule is applied, and said', () => {
    const r = cli([...base, '--resume', plain, '--epochs', '3', '--lr', '0.01', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      "nodegrad: resuming with --lr 0.01; the checkpoint's run used 0.001\n" +
        "nodegrad: resuming to --epochs 3; the checkpoint's run was for 2\n",
    );
    const epochs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => [e.epoch, e.lr])).toEqual([[3, 0.01]]);
  });
});
