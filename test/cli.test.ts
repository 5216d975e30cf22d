import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawn, spawnSync } from 'node:child_process';
import { cli } from './helpers/cli.js';
import { editDistance } from '../lib/options.js';
import { info } from '../lib/backend/index.js';

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-cli-'));
const FASHION = path.join(root, '..', 'shared', 'data', 'fashion-mnist');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dir(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function testAccuracy(stdout: string): string {
  const m = /test accuracy (\d+\.\d+)%\s+loss (\d+\.\d+)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return `${m![1]} ${m![2]}`;
}

/** The first `n` rows of the bundled digits CSV (64 values 0..16 then the label). */
function digitRows(n: number): string[] {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(root, 'data', 'digits.csv.gz'))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n);
}

describe('nodegrad train', () => {
  it('trains the default model on digits, writes model.safetensors and training.svg, prints a test accuracy', () => {
    const out = dir('default');
    const r = cli(['train', '--epochs', '2', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test accuracy \d+\.\d+%/);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(fs.statSync(path.join(out, 'model.safetensors')).size).toBeGreaterThan(1000);
    expect(fs.readFileSync(path.join(out, 'training.svg'), 'utf8')).toMatch(/^<svg|<\?xml/);
  });

  it('reaches at least 95% test accuracy with the defaults', () => {
    const out = dir('full');
    const r = cli(['train', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^epoch 20\/20 .*val_acc .*samples\/s/m);
    expect(Number(testAccuracy(r.stdout).split(' ')[0])).toBeGreaterThanOrEqual(95);
  });

  it('--json prints a start line, one line an epoch and a summary, all JSON', () => {
    const r = cli(['train', '--epochs', '2', '--json', '--no-plot', '--out', dir('json')]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.event)).toEqual(['start', 'epoch', 'epoch', 'summary']);
    expect(lines[1]).toMatchObject({ epoch: 1 });
    expect(lines[2].valAccuracy).toBeTypeOf('number');
    expect(lines[3].testAccuracy).toBeGreaterThan(0.5);
    expect(fs.existsSync(path.join(tmp, 'json', 'training.svg'))).toBe(false);
  });

  it('is reproducible with --seed', () => {
    const losses = (seed: string) => {
      const r = cli(['train', '--epochs', '2', '--json', '--seed', seed, '--no-plot', '--out', dir(`seed${seed}`)]);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.event === 'epoch')
        .map((l) => [l.loss, l.valLoss]);
    };
    expect(losses('5')).toEqual(losses('5'));
    expect(losses('5')).not.toEqual(losses('6'));
  });

  it('trains softmax regression with SGD and a schedule', () => {
    const r = cli([
      'train',
      '--model',
      'softmax',
      '--optimizer',
      'nesterov',
      '--schedule',
      'cosine',
      '--epochs',
      '5',
      '--quiet',
      '--out',
      dir('softmax'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(Number(testAccuracy(r.stdout).split(' ')[0])).toBeGreaterThan(85);
  });

  it('trains on a CSV file', () => {
    const file = path.join(tmp, 'blobs.csv');
    const lines = ['a,b,label'];
    let s = 7;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31 - 0.5;
    };
    for (let i = 0; i < 150; i++) lines.push(`${(i % 3) * 4 + rand()},${(i % 3) * -3 + rand()},${i % 3}`);
    fs.writeFileSync(file, lines.join('\n'));
    const r = cli([
      'train',
      '--data',
      `csv:${file}`,
      '--epochs',
      '10',
      '--batch',
      '16',
      '--quiet',
      '--out',
      dir('csv'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(Number(testAccuracy(r.stdout).split(' ')[0])).toBeGreaterThanOrEqual(90);
  });

  it.skipIf(!fs.existsSync(FASHION))('trains on a subset of Fashion-MNIST (--limit)', () => {
    const r = cli([
      'train',
      '--data',
      `fashion-mnist:${FASHION}`,
      '--limit',
      '3000',
      '--epochs',
      '1',
      '--out',
      dir('fashion'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2,700 train \/ 300 validation \/ 3,000 test \(the test split\), 784 features/);
    expect(Number(testAccuracy(r.stdout).split(' ')[0])).toBeGreaterThan(65);
  });

  it('resumes from a checkpoint to the same result as an uninterrupted run', () => {
    const ck = path.join(tmp, 'ck.safetensors');
    const straight = cli(['train', '--epochs', '3', '--quiet', '--no-plot', '--out', dir('straight')]);
    expect(cli(['train', '--epochs', '1', '--quiet', '--checkpoint', ck, '--out', dir('part')]).code).toBe(0);
    const resumed = cli(['train', '--epochs', '3', '--quiet', '--no-plot', '--resume', ck, '--out', dir('resumed')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(testAccuracy(resumed.stdout)).toBe(testAccuracy(straight.stdout));
  });

  it('reports diverged training in one line and exits 1', () => {
    const r = cli(['train', '--optimizer', 'sgd', '--lr', '1e6', '--epochs', '2', '--quiet', '--out', dir('diverged')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nodegrad: training diverged: .*try a smaller learning rate\n$/);
  });
});

describe('nodegrad eval and predict', () => {
  const out = dir('model');
  const model = path.join(out, 'model.safetensors');
  let trained = '';
  beforeAll(() => {
    const r = cli(['train', '--epochs', '3', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    trained = testAccuracy(r.stdout);
  });

  it('eval reproduces the test accuracy and loss that train printed', () => {
    const r = cli(['eval', '--model', model]);
    expect(r.code, r.stderr).toBe(0);
    expect(testAccuracy(r.stdout)).toBe(trained);
    const j = cli(['eval', '--model', model, '--data', 'digits', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ event: 'eval', testSamples: 359 });
  });

  it('predict prints a class and a probability for each CSV row', () => {
    const rows = digitRows(20);
    const file = path.join(tmp, 'rows.csv');
    fs.writeFileSync(file, `${rows.map((r) => r.split(',').slice(0, 64).join(',')).join('\n')}\n`);
    const r = cli(['predict', '--model', model, '--input', file]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(20);
    for (const l of lines) expect(l).toMatch(/^\d {2}(0\.\d{4}|1\.0000)$/);
    // The true digits: most of them right after 3 epochs (about 95% test accuracy).
    const right = lines.filter((l, i) => l[0] === rows[i].split(',')[64]).length;
    expect(right).toBeGreaterThanOrEqual(15);
  });

  it('predict reads stdin with --input -, with labels and a header', () => {
    const rows = digitRows(3);
    const header = `${Array.from({ length: 64 }, (_, i) => `p${i}`).join(',')},label`;
    const r = cli(['predict', '--model', model, '--input', '-', '--json'], [header, ...rows].join('\n'));
    expect(r.code, r.stderr).toBe(0);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objs).toHaveLength(3);
    expect(objs[0]).toMatchObject({ row: 1, label: Number(rows[0].split(',')[64]) });
    expect(objs[0].probability).toBeGreaterThan(0.1);
  });

  it('predict names a row of the wrong width', () => {
    const file = path.join(tmp, 'bad.csv');
    fs.writeFileSync(file, '1,2,3\n');
    const r = cli(['predict', '--model', model, '--input', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`nodegrad: ${file}: line 1 has 3 values; the model takes 64 features (or 64 then a label)\n`);
  });

  it('a corrupt model file is one line and exit 1', () => {
    const bad = path.join(tmp, 'corrupt.safetensors');
    fs.writeFileSync(bad, 'not a safetensors file at all');
    const r = cli(['eval', '--model', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^nodegrad: .*corrupt\.safetensors/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('usage errors exit 2 with one line and a hint', () => {
  const cases: [string[], RegExp, string][] = [
    [['train', '--epoch', '3'], /^unknown option --epoch \(did you mean --epochs\?\)$/, 'train'],
    [['train', '--epochs', 'abc'], /^option --epochs must be an integer >= 1, got 'abc'$/, 'train'],
    [['train', '--epochs', '0'], /^option --epochs must be an integer >= 1, got '0'$/, 'train'],
    [['train', '--epochs'], /^option --epochs needs a value/, 'train'],
    [['train', '--lr', '-1'], /^option --lr must be a number > 0, got '-1'$/, 'train'],
    [
      ['train', '--optimizer', 'adamm'],
      /^option --optimizer must be one of sgd, .*, got 'adamm' \(did you mean adam\?\)$/,
      'train',
    ],
    [
      ['train', '--data', 'mnist'],
      /^option --data must be digits \| fashion-mnist\[:DIR\] \| cifar10:DIR \| csv:FILE, got 'mnist'$/,
      'train',
    ],
    [['train', '--data', 'csv'], /^--data csv needs a file/, 'train'],
    [['train', '--hidden', '64,x'], /^option --hidden must be a comma-separated list of numbers, got '64,x'$/, 'train'],
    [['train', '--model', 'softmax', '--hidden', '64'], /^--hidden applies to --model mlp/, 'train'],
    [['train', 'extra'], /^unexpected argument 'extra'$/, 'train'],
    [['train', '--quiet=yes'], /^option --quiet takes no value/, 'train'],
    [['trian'], /^unknown command 'trian' \(did you mean train\?\)$/, ''],
    [['--epochs', '3'], /^unknown option --epochs/, ''],
    [['eval'], /^missing --model FILE$/, 'eval'],
    [['predict', '--model', 'm.safetensors'], /^missing --input FILE/, 'predict'],
    [['lr-sweep', '--lrs', '0.1,-1'], /^option --lrs must be a list of numbers, each > 0, got '0.1,-1'$/, 'lr-sweep'],
    [
      ['graph', 'x +* y', '--x=1', '--y=2'],
      /^cannot parse 'x \+\* y': expected a number, a name or '\(' but found '\*' at column 4$/,
      'graph',
    ],
    [
      ['graph', 'x * y', '--x=1'],
      /^cannot parse 'x \* y': unknown identifier 'y' at column 5; give it a value with --y=NUMBER$/,
      'graph',
    ],
    [['graph', '--var', 'x'], /^option --var must be NAME=NUMBER, got 'x'$/, 'graph'],
    [['bench', '--thread', '2'], /^unknown option --thread \(did you mean --threads\?\)$/, 'bench'],
    [['train', '--threads', '1000'], /^option --threads must be an integer <= 256, got '1000'$/, 'train'],
    [['bench', '--threads', '257'], /^option --threads must be an integer <= 256, got '257'$/, 'bench'],
  ];
  for (const [args, message, command] of cases) {
    it(`nodegrad ${args.join(' ')}`, () => {
      const r = cli(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0].replace(/^nodegrad: /, '')).toMatch(message);
      expect(lines[1]).toBe(
        command ? `Run 'nodegrad ${command} --help' for usage.` : "Run 'nodegrad --help' for usage.",
      );
    });
  }

  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('epcohs', 'epochs')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('missing files exit 1 and name the path', () => {
  it('a missing CSV', () => {
    const r = cli(['train', '--data', 'csv:/no/such/dir/data.csv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('nodegrad: /no/such/dir/data.csv: file not found (the --data csv file)\n');
  });

  it('a missing model and input', () => {
    expect(cli(['eval', '--model', '/no/model.safetensors']).stderr).toMatch(
      /^nodegrad: \/no\/model\.safetensors: file not found/,
    );
    const r = cli(['predict', '--model', path.join(tmp, 'model', 'model.safetensors'), '--input', '/no/rows.csv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/no\/(rows\.csv|.*model\.safetensors): file not found/);
  });

  it('a missing Fashion-MNIST directory', () => {
    const r = cli(['train', '--data', 'fashion-mnist:/no/fashion']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nodegrad: \/no\/fashion: directory not found/);
  });

  it.skipIf(fs.existsSync('/usr/share/datasets/fashion-mnist'))('Fashion-MNIST without DIR says how to get it', () => {
    const r = cli(['train', '--data', 'fashion-mnist']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /\/usr\/share\/datasets\/fashion-mnist.*apt install dataset-fashion-mnist.*fashion-mnist:DIR/,
    );
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('a missing checkpoint to resume from', () => {
    const r = cli(['train', '--resume', '/no/ck.safetensors']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/no\/ck\.safetensors: file not found/);
  });
});

describe('nodegrad graph', () => {
  it('draws the sigmoid neuron by default, with its value and gradients', () => {
    const svg = path.join(tmp, 'graph.svg');
    const r = cli(['graph', '--out', svg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^f = 0\.7311$/m);
    expect(r.stdout).toMatch(/df\/dw0 = -0\.1966/);
    expect(r.stdout).toMatch(/df\/dx1 = -0\.5898/);
    expect(fs.readFileSync(svg, 'utf8')).toContain('<svg');
    const j = JSON.parse(cli(['graph', '--json', '--out', svg]).stdout);
    expect(j.value).toBeCloseTo(0.73, 2);
    const g = (n: string) => j.variables[n].grad as number;
    expect([g('w0'), g('w1'), g('w2')].map((v) => Number(v.toFixed(2)))).toEqual([-0.2, -0.39, 0.2]);
    expect([g('x0'), g('x1')].map((v) => Number(v.toFixed(2)))).toEqual([0.39, -0.59]);
  });

  it('draws add-mul: (x + y) * z at x = -2, y = 5, z = -4', () => {
    const j = JSON.parse(cli(['graph', 'add-mul', '--json', '--out', path.join(tmp, 'am.svg')]).stdout);
    expect(j.value).toBe(-12);
    expect(j.variables).toEqual({ x: { value: -2, grad: -4 }, y: { value: 5, grad: -4 }, z: { value: -4, grad: 3 } });
  });

  it('takes an expression with --x=1 or --var x=1', () => {
    const svg = path.join(tmp, 'max.svg');
    const r = cli(['graph', 'max(x, y) * z', '--x=1', '--y', '3', '--var', 'z=-2', '--json', '--out', svg]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.value).toBe(-6);
    expect(j.variables).toEqual({ x: { value: 1, grad: 0 }, y: { value: 3, grad: -2 }, z: { value: -2, grad: 3 } });
    expect(fs.existsSync(svg)).toBe(true);
  });

  it('--dot prints Graphviz DOT', () => {
    const r = cli(['graph', 'add-mul', '--dot']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph/);
  });
});

describe('nodegrad lr-sweep', () => {
  it('runs 3 learning rates, writes the plot, names the best and shows divergence', () => {
    const out = dir('sweep');
    const r = cli(['lr-sweep', '--lrs', '0.01,0.1,100', '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lr 100 +diverged at step \d+/m);
    expect(r.stdout).toMatch(/^best: lr 0\.1 /m);
    const svg = fs.readFileSync(path.join(out, 'lr-sweep.svg'), 'utf8');
    expect(svg).toContain('diverged');
  });
});

describe('nodegrad info, bench, help, version', () => {
  it('info shows the version, backend and native binary', () => {
    const r = cli(['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^nodegrad \d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(new RegExp(`^backend  ${info().backend}`, 'm'));
    expect(r.stdout).toMatch(/^native {3}(loaded from .*\.node|not loaded: .+)$/m);
    expect(JSON.parse(cli(['info', '--json']).stdout)).toMatchObject({ backend: info().backend });
  });

  it('info lists every registered backend with its state', () => {
    const r = cli(['info', '--backend', 'ts']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^backends \(highest priority first\)\n {2}native (available|unavailable: .+)\n {2}wasm {3}(available|unavailable: .+)\n {2}ts {5}chosen\n$/m,
    );
    const j = JSON.parse(cli(['info', '--json', '--backend', 'ts']).stdout) as {
      backends: { name: string; state: string }[];
    };
    expect(j.backends.map((b) => b.name)).toEqual(['native', 'wasm', 'ts']);
    expect(j.backends[2].state).toBe('chosen');
  });

  it("leaves the process's warning listeners as they are", () => {
    const before = process.listeners('warning');
    expect(cli(['info']).code).toBe(0);
    expect(process.listeners('warning')).toEqual(before);
  });

  it('bench measures every backend', () => {
    const r = cli(['bench', '--seconds', '0.05']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ts +- +1 +\d/m);
    if (info().nativeError === undefined) expect(r.stdout).toMatch(/^native \/ ts: \d+\.\dx training/m);
  });

  it('--help lists the commands; each command has --help', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['train', 'eval', 'predict', 'lr-sweep', 'graph', 'bench', 'info'])
      expect(r.stdout).toContain(`  ${c}`);
    for (const c of ['train', 'eval', 'predict', 'lr-sweep', 'graph', 'bench', 'info']) {
      const h = cli([c, '-h']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: nodegrad ${c}`));
    }
    expect(cli(['train', '--help']).stdout).toMatch(/--epochs N +epochs to train/);
    expect(cli(['--version']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

const dist = path.join(root, 'dist', 'cli', 'main.js');
describe.skipIf(!fs.existsSync(dist))('the compiled bin (child processes)', () => {
  const bin = path.join(root, 'bin', 'nodegrad.js');
  const node = (args: string[], opts: { cwd?: string; bin?: string } = {}) =>
    spawnSync(process.execPath, [opts.bin ?? bin, ...args], {
      cwd: opts.cwd ?? tmp,
      encoding: 'utf8',
      env: { ...process.env, NODEGRAD_BACKEND: '', NODEGRAD_DEBUG: '' },
    });

  it('trains, and exits 2 on a usage error', () => {
    const out = dir('bin');
    const ok = node(['train', '--epochs', '1', '--quiet', '--out', out]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^test accuracy/);
    expect(ok.stderr).toBe('');
    const bad = node(['train', '--epoch', '1']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      "nodegrad: unknown option --epoch (did you mean --epochs?)\nRun 'nodegrad train --help' for usage.\n",
    );
  });

  it('without a native binary says so once, in one line, not as a Node warning', () => {
    // A copy of the package with no build/ and no prebuilds/: the loader falls back to TS.
    const pkg = dir('nonative');
    fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.cpSync(path.join(root, 'bin'), path.join(pkg, 'bin'), { recursive: true });
    fs.cpSync(path.join(root, 'data'), path.join(pkg, 'data'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
    if (!fs.existsSync(path.join(pkg, 'node_modules')))
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
    const r = node(['train', '--epochs', '1', '--quiet', '--out', dir('nonative-out')], {
      bin: path.join(pkg, 'bin', 'nodegrad.js'),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^nodegrad: native backend unavailable \(.+\); using the TypeScript backend \(same results, slower\)\n$/,
    );
    expect(r.stderr).not.toContain('(node:');
    const i = node(['info'], { bin: path.join(pkg, 'bin', 'nodegrad.js') });
    expect(i.stdout).toMatch(/^backend {2}ts$/m);
    expect(i.stdout).toMatch(/^native {3}not loaded: /m);
    expect(i.stderr).toBe('');
  });

  it('a bad NODEGRAD_BACKEND is one line and exit 2, at the first use rather than at import', () => {
    const r = spawnSync(process.execPath, [bin, 'train', '--epochs', '1'], {
      cwd: tmp,
      encoding: 'utf8',
      env: { ...process.env, NODEGRAD_BACKEND: 'bogus' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("nodegrad: NODEGRAD_BACKEND must be one of 'native', 'wasm', 'ts', got 'bogus'\n");
    expect(node(['--version']).status).toBe(0); // nothing at import: a command that runs no kernels is unaffected
  });

  it.skipIf(info().nativeError !== undefined)(
    'NODEGRAD_THREADS=abc or NODEGRAD_SIMD=bogus is an error naming the variable, not a silent switch to TS',
    () => {
      for (const [name, value, message] of [
        ['NODEGRAD_THREADS', 'abc', "NODEGRAD_THREADS='abc' must be an integer from 1 to 256"],
        [
          'NODEGRAD_SIMD',
          'bogus',
          "NODEGRAD_SIMD='bogus' is not a SIMD path (expected scalar, avx2, avx512, neon or simd128)",
        ],
      ]) {
        const env = { ...process.env, NODEGRAD_BACKEND: '', NODEGRAD_DEBUG: '', [name]: value };
        const r = spawnSync(
          process.execPath,
          [bin, 'train', '--epochs', '1', '--quiet', '--no-plot', '--out', dir('badenv')],
          { cwd: tmp, encoding: 'utf8', env },
        );
        expect(r.status, r.stderr).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`nodegrad: ${message}\n`);
      }
    },
  );

  it('stops quietly when the reader closes stdout early (predict | head -1)', async () => {
    const out = dir('epipe');
    expect(cli(['train', '--epochs', '1', '--quiet', '--no-plot', '--out', out]).code).toBe(0);
    // Enough rows that the output outgrows the pipe's buffer, so writes go on after the close.
    const rows = digitRows(1797).map((r) => r.split(',').slice(0, 64).join(','));
    const input = path.join(out, 'many.csv');
    fs.writeFileSync(input, `${Array.from({ length: 10 }, () => rows.join('\n')).join('\n')}\n`);
    const child = spawn(
      process.execPath,
      [bin, 'predict', '--model', path.join(out, 'model.safetensors'), '--input', input, '--json'],
      {
        cwd: tmp,
        env: { ...process.env, NODEGRAD_BACKEND: '', NODEGRAD_DEBUG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect(stderr).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
  });

  it('a library error prints a stack only with NODEGRAD_DEBUG=1', () => {
    const bad = path.join(tmp, 'corrupt2.safetensors');
    fs.writeFileSync(bad, 'garbage');
    const quiet = node(['eval', '--model', bad]);
    expect(quiet.status).toBe(1);
    expect(quiet.stderr.split('\n')).toHaveLength(2);
    const loud = spawnSync(process.execPath, [bin, 'eval', '--model', bad], {
      encoding: 'utf8',
      env: { ...process.env, NODEGRAD_DEBUG: '1' },
    });
    expect(loud.status).toBe(1);
    expect(loud.stderr).toMatch(/\n\s+at /);
  });
});
