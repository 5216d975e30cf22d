// `--model cnn` through the CLI: train writes a CNN model file that eval and predict use, on
// generated CIFAR-10 files (no CIFAR-10 data here) and on a Fashion-MNIST subset when installed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { loadModel } from '../lib/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-cli-cnn-'));
const FASHION = path.join(__dirname, '..', '..', 'shared', 'data', 'fashion-mnist');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** CIFAR-10's binary files: each record a label byte and R, G, B planes of 32 x 32; class = brightest plane. */
function makeCifar(root: string): void {
  fs.mkdirSync(root, { recursive: true });
  let seed = 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const record = (label: number) => {
    const planes = [0, 1, 2].map((c) =>
      Buffer.from(Array.from({ length: 1024 }, () => Math.floor(rand() * 100 + (c === label % 3 ? 150 : 0)))),
    );
    return Buffer.concat([Buffer.from([label]), ...planes]);
  };
  for (let i = 1; i <= 5; i++)
    fs.writeFileSync(
      path.join(root, `data_batch_${i}.bin`),
      Buffer.concat(Array.from({ length: 12 }, (_, j) => record(j % 3))),
    );
  fs.writeFileSync(
    path.join(root, 'test_batch.bin'),
    Buffer.concat(Array.from({ length: 9 }, (_, j) => record(j % 3))),
  );
}

describe('--model cnn', () => {
  it('trains on CIFAR-10 files ([3, 32, 32] samples); eval and predict read the model file', () => {
    const data = path.join(tmp, 'cifar');
    makeCifar(data);
    const out = path.join(tmp, 'cifar-run');
    const r = cli(['train', '--data', `cifar10:${data}`, '--model', 'cnn', '--epochs', '2', '--no-plot', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /model {4}cnn c32k5-c64k5-256-10 \(1,\d{3},\d{3} parameters\), adam lr 0\.001, cosine schedule, batch 64/,
    );
    const file = path.join(out, 'model.safetensors');
    const model = loadModel(file);
    expect(model.namedParameters().map(([n, p]) => `${n} [${p.shape}]`)).toEqual([
      '0.weight [32,3,5,5]',
      '0.bias [32]',
      '3.weight [64,32,5,5]',
      '3.bias [64]',
      '7.weight [256,4096]',
      '7.bias [256]',
      '9.weight [10,256]',
      '9.bias [10]',
    ]);
    const ev = cli(['eval', '--model', file, '--data', `cifar10:${data}`]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/accuracy \d+\.\d+%/);
    // a CSV row of 3072 pixel values (0..255, as the files hold them) per image
    const rows = Array.from({ length: 2 }, (_, i) =>
      Array.from({ length: 3072 }, (_, j) => (Math.floor(j / 1024) === i ? 200 : 30)).join(','),
    );
    const csv = path.join(tmp, 'rows.csv');
    fs.writeFileSync(csv, `${rows.join('\n')}\n`);
    const pr = cli(['predict', '--model', file, '--input', csv]);
    expect(pr.code, pr.stderr).toBe(0);
    expect(pr.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);
  });

  it.skipIf(!fs.existsSync(FASHION))(
    'trains on a Fashion-MNIST subset, and eval gives the same test accuracy',
    () => {
      const out = path.join(tmp, 'fashion');
      const data = `fashion-mnist:${FASHION}`;
      const r = cli([
        'train',
        '--data',
        data,
        '--model',
        'cnn',
        '--limit',
        '300',
        '--epochs',
        '1',
        '--no-plot',
        '--out',
        out,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const acc = /test accuracy (\d+\.\d+)%/.exec(r.stdout)?.[1];
      expect(Number(acc)).toBeGreaterThan(30);
      const ev = cli(['eval', '--model', path.join(out, 'model.safetensors'), '--data', data, '--limit', '300']);
      expect(ev.code, ev.stderr).toBe(0);
      expect(ev.stdout).toContain(`${acc}%`);
    },
    300_000,
  ); // a busy 2-core machine trains this CNN at a few hundred samples a second

  it('refuses --model cnn on data that is not images, and --hidden with it', () => {
    const a = cli(['train', '--model', 'cnn', '--epochs', '1']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--model cnn needs image data/);
    const b = cli(['train', '--data', 'fashion-mnist:/nowhere', '--model', 'cnn', '--hidden', '32']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--hidden applies to --model mlp, not cnn/);
  });
});
