// `nodegrad train / eval / predict` on real CSV files: scikit-learn's diabetes (regression) and
// wine (string class labels), and the CSV forms a user's file comes in.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli } from './helpers/cli.js';

const root = path.join(__dirname, '..');
const DIABETES = path.join(root, 'data', 'diabetes.csv');
const WINE = path.join(root, 'data', 'wine.csv');
const ols = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'regression', 'diabetes-ols.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-cli-csv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dir(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

describe('nodegrad train --data csv: diabetes (regression)', () => {
  const out = dir('diabetes');
  const args = ['--data', `csv:${DIABETES}`, '--model', 'softmax', '--lr', '0.1', '--epochs', '100', '--out', out];

  it(`infers regression with a warning, and reaches test R^2 >= OLS - 0.02 (OLS ${ols.olsTestR2})`, () => {
    const r = cli(['train', ...args, '--no-plot']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("task     regression (inferred: 214 distinct integers in 'target')");
    expect(r.stderr).toContain('nodegrad: warning: the target holds 214 distinct integers');
    const m = /test R\^2 (-?\d+\.\d+)\s+loss \S+\s+MAE (\S+)\s+RMSE (\S+)\s+\(88 samples\)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(ols.olsTestR2 - 0.02);
  });

  it('eval prints the same figures; --json gives them for machines', () => {
    const model = path.join(out, 'model.safetensors');
    const e = cli(['eval', '--model', model]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/test R\^2 \d\.\d{4}\s+loss/);
    const j = JSON.parse(cli(['eval', '--model', model, '--json']).stdout);
    expect(j.task).toBe('regression');
    expect(j.testR2).toBeGreaterThanOrEqual(ols.olsTestR2 - 0.02);
    expect(j.testSamples).toBe(88);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['testMae', 'testRmse', 'testLoss']));
  });

  it('predict prints values for a regression model, with the error against given targets', () => {
    const rows = fs.readFileSync(DIABETES, 'utf8').split('\n').slice(0, 4).join('\n');
    const r = cli(['predict', '--model', path.join(out, 'model.safetensors'), '--input', '-'], rows);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^\d+(\.\d+)? {2}\(target \d+\)$/);
    expect(r.stderr).toMatch(/mean absolute error \S+ over 3 rows/);
  });

  it('--task classify trains the classifier it is told to', () => {
    const r = cli([
      'train',
      ...args.slice(0, 2),
      '--task',
      'classify',
      '--epochs',
      '1',
      '--out',
      dir('d-cls'),
      '--no-plot',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('task     classification (--task)');
    expect(r.stdout).toMatch(/347 classes/);
  });
});

describe('nodegrad train --data csv: wine (string class labels)', () => {
  const out = dir('wine');

  it('maps the class names, reaches >= 95% test accuracy and keeps the names in the model file', () => {
    const r = cli(['train', '--data', `csv:${WINE}`, '--target', 'class', '--epochs', '30', '--out', out, '--no-plot']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("task     classification (inferred: class names in 'class')");
    const m = /test accuracy (\d+\.\d+)%/.exec(r.stdout);
    expect(Number(m![1])).toBeGreaterThanOrEqual(95);
  });

  it('eval prints the per-class figures and the confusion matrix as a table', () => {
    const e = cli(['eval', '--model', path.join(out, 'model.safetensors')]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/class_0\s+\d\.\d{3}\s+\d\.\d{3}\s+\d\.\d{3}/);
    expect(e.stdout).toContain('confusion matrix (rows: true class, columns: predicted)');
    const rows = e.stdout.split('\n').filter((l) => /^class_\d(\s+\d+){3}$/.test(l));
    expect(rows).toHaveLength(3);
    const total = rows.flatMap((l) => l.split(/\s+/).slice(1).map(Number)).reduce((a, b) => a + b, 0);
    expect(total).toBe(36);
    const j = JSON.parse(cli(['eval', '--model', path.join(out, 'model.safetensors'), '--json']).stdout);
    expect(j.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(36);
    expect(j.testAccuracy).toBeGreaterThanOrEqual(0.95);
  });

  it('predict prints class names and checks given string labels', () => {
    const lines = fs.readFileSync(WINE, 'utf8').split('\n');
    const r = cli(
      ['predict', '--model', path.join(out, 'model.safetensors'), '--input', '-'],
      [lines[0], lines[1], lines[100], lines[170]].join('\r\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual(['class_0', 'class_1', 'class_2']);
    expect(r.stderr).toContain('3/3 rows match their label');
  });
});

describe('nodegrad lr-sweep --data csv: the CSV flags and the task as train reads them', () => {
  const base = ['lr-sweep', '--data', `csv:${DIABETES}`, '--model', 'softmax', '--lrs', '0.01,0.1', '--epochs', '1'];

  it('sweeps a regression target with the squared error: losses in the target units squared, not ln(classes)', () => {
    const r = cli([...base, '--out', dir('sweep-reg')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("task     regression (inferred: 214 distinct integers in 'target')");
    expect(r.stderr).toContain('nodegrad: warning: the target holds 214 distinct integers');
    const runs = cli([...base, '--out', dir('sweep-reg-json'), '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'run');
    expect(runs.map((e) => e.lr)).toEqual([0.01, 0.1]);
    // diabetes targets have a standard deviation near 77: the MSE starts near its square (the
    // bias starts at the mean target), where cross-entropy over 347 classes would start near 5.8
    for (const e of runs) expect(e.losses[0]).toBeGreaterThan(1000);
    expect(runs[1].finalLoss).toBeLessThan(runs[1].losses[0]);
  });

  it('takes --task classify and --target/--no-header as train does', () => {
    const r = cli([...base, '--task', 'classify', '--out', dir('sweep-cls'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const first = JSON.parse(r.stdout.split('\n')[0]);
    expect(first.losses[0]).toBeLessThan(10);
    const f = write(
      'sweep-first.csv',
      `y,a,b\n${Array.from({ length: 40 }, (_, i) => `${(i % 7) * 0.5},${i},${i % 3}`).join('\n')}`,
    );
    const t = cli([
      'lr-sweep',
      '--data',
      `csv:${f}`,
      '--target',
      '0',
      '--header',
      '--lrs',
      '0.1',
      '--epochs',
      '1',
      '--out',
      dir('sweep-t'),
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain("task     regression (inferred: non-integer values in 'y')");
  });

  it('refuses the CSV flags on other data and lists them in --help', () => {
    const r = cli(['lr-sweep', '--task', 'regress', '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--task applies to --data csv:FILE, not digits');
    expect(cli(['lr-sweep', '--help']).stdout).toContain('--target NAME|INDEX');
  });
});

describe('nodegrad train on CSV forms', () => {
  it('reads a BOM, CRLF, quoted fields and blank lines, with the target picked by index', () => {
    const rows = ['\ufeff"label","f 1","f, 2"'];
    for (let i = 0; i < 60; i++) rows.push(`"${i % 2 === 0 ? 'even' : 'odd'}",${i % 2},"${(i % 7) / 7}"`, '');
    const f = write('forms.csv', rows.join('\r\n'));
    const r = cli([
      'train',
      '--data',
      `csv:${f}`,
      '--target',
      '0',
      '--epochs',
      '2',
      '--out',
      dir('forms'),
      '--no-plot',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 features, 2 classes');
    expect(r.stdout).toContain("inferred: class names in 'label'");
  });

  it('refuses a ragged row and a non-numeric feature, naming line and column', () => {
    const ragged = write('ragged.csv', 'a,b,y\n1,2,0\n\n3,1\n');
    const r = cli(['train', '--data', `csv:${ragged}`, '--out', dir('rag'), '--no-plot']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ragged}: line 4 has 2 columns, expected 3 (ragged rows)`);
    const text = write('text.csv', 'a,b,y\n1,2,0\n3,"x",1\n');
    const t = cli(['train', '--data', `csv:${text}`, '--out', dir('txt'), '--no-plot']);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain(`${text}: line 3, column 2: 'x' is not a number`);
  });

  it('refuses CSV flags on other data', () => {
    const r = cli(['train', '--target', 'y', '--epochs', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target applies to --data csv:FILE, not digits');
  });

  it('train --help documents the CSV format and the task flags', () => {
    const r = cli(['train', '--help']);
    expect(r.stdout).toContain('--target NAME|INDEX');
    expect(r.stdout).toContain('--task');
    expect(r.stdout).toMatch(/RFC 4180/);
  });
});
