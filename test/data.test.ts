import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataLoader,
  Dataset,
  fitStandardizer,
  loadCifar10,
  loadCsv,
  loadDigits,
  loadFashionMnist,
  loadIdx,
  parseCsv,
  scale,
  split,
  trainValTestSplit,
  type Batch,
} from '../lib/data/index.js';
import { manualSeed } from '../lib/random.js';

const SHARED = path.join(__dirname, '..', '..', 'shared', 'data');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-data-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** n samples of d features; sample i's features are all i, its label i % classes. */
function indexed(n: number, d = 3, classes = 3): Dataset {
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) x.fill(i, i * d, (i + 1) * d);
  return new Dataset({ x, y: Int32Array.from({ length: n }, (_, i) => i % classes), numClasses: classes });
}

/** The sample ids of one epoch, read from batches built by `indexed`. */
function epochIds(loader: DataLoader): number[] {
  const ids: number[] = [];
  for (const b of loader) for (let k = 0; k < b.size; k++) ids.push(b.x[k * loader.dataset.features]);
  return ids;
}

describe('Dataset', () => {
  it('infers features, shape and numClasses', () => {
    const ds = new Dataset({ x: new Float32Array(12), y: Int32Array.from([0, 4, 1]) });
    expect([ds.length, ds.features, ds.numClasses]).toEqual([3, 4, 5]);
    expect(ds.shape).toEqual([4]);
    const img = new Dataset({ x: new Float32Array(2 * 12), y: new Int32Array(2), shape: [3, 2, 2] });
    expect(img.features).toBe(12);
  });

  it('refuses inconsistent sizes and labels', () => {
    expect(() => new Dataset({ x: new Float32Array(5), y: new Int32Array(2), features: 2 })).toThrow(
      /N x D = 2 x 2 = 4 values, got 5/,
    );
    expect(() => new Dataset({ x: new Float32Array(4), y: Int32Array.from([0, -1]) })).toThrow(/labels must be >= 0/);
    expect(() => new Dataset({ x: new Float32Array(4), y: Int32Array.from([0, 3]), numClasses: 3 })).toThrow(
      /labels must be < numClasses = 3/,
    );
    expect(() => new Dataset({ x: new Float32Array(4), y: new Int32Array(2), shape: [3] })).toThrow();
    expect(
      () => new Dataset({ x: new Float32Array(4), y: new Int32Array(2), classNames: ['a', 'b'], numClasses: 3 }),
    ).toThrow(/classNames/);
  });

  it('subset copies the chosen samples in order and keeps shape and classes', () => {
    const ds = indexed(5);
    const sub = ds.subset([4, 0, 4]);
    expect(Array.from(sub.x)).toEqual([4, 4, 4, 0, 0, 0, 4, 4, 4]);
    expect(Array.from(sub.y)).toEqual([1, 0, 1]);
    expect(sub.numClasses).toBe(3);
    expect(() => ds.subset([5])).toThrow(/\[0, 5\)/);
  });
});

describe('splits', () => {
  it('trainValTestSplit partitions every sample exactly once, with the requested sizes', () => {
    const ds = indexed(100);
    const { train, validation, test } = trainValTestSplit(ds, { validation: 0.1, test: 0.25, seed: 1 });
    expect([train.length, validation.length, test.length]).toEqual([65, 10, 25]);
    const ids = [train, validation, test].flatMap((p) => Array.from({ length: p.length }, (_, i) => p.x[i * 3]));
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // each part keeps the original order
    const trainIds = Array.from({ length: train.length }, (_, i) => train.x[i * 3]);
    expect(trainIds).toEqual([...trainIds].sort((a, b) => a - b));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const ds = indexed(50);
    const a = split(ds, { test: 0.3, seed: 7 });
    const b = split(ds, { test: 0.3, seed: 7 });
    const c = split(ds, { test: 0.3, seed: 8 });
    expect(Array.from(a.test.x)).toEqual(Array.from(b.test.x));
    expect(Array.from(a.test.x)).not.toEqual(Array.from(c.test.x));
  });

  it('stratify keeps class proportions in every part', () => {
    // 60 of class 0, 30 of class 1, 10 of class 2
    const y = Int32Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : 2));
    const ds = new Dataset({ x: new Float32Array(100), y });
    const { train, validation, test } = trainValTestSplit(ds, { validation: 0.1, test: 0.2, seed: 3, stratify: true });
    expect(Array.from(test.classCounts())).toEqual([12, 6, 2]);
    expect(Array.from(validation.classCounts())).toEqual([6, 3, 1]);
    expect(Array.from(train.classCounts())).toEqual([42, 21, 7]);
  });

  it('stratified totals match round(N * fraction) even when classes do not divide evenly', () => {
    const y = Int32Array.from({ length: 23 }, (_, i) => i % 3);
    const ds = new Dataset({ x: new Float32Array(23), y });
    const { validation, test } = trainValTestSplit(ds, { validation: 0.15, test: 0.3, seed: 0, stratify: true });
    expect([validation.length, test.length]).toEqual([Math.round(23 * 0.15), Math.round(23 * 0.3)]);
  });

  it('refuses fractions that leave nothing to train on', () => {
    expect(() => trainValTestSplit(indexed(10), { validation: 0.5, test: 0.5 })).toThrow(/< 1/);
    expect(() => split(indexed(10), { test: -0.1 })).toThrow(RangeError);
  });
});

describe('standardisation and scaling', () => {
  it('fitStandardizer gives the training data zero mean and unit std per feature', () => {
    const x = Float32Array.from([1, 10, 5, 3, 20, 5, 5, 30, 5, 7, 40, 5]); // 4 samples x 3 features, the last constant
    const ds = new Dataset({ x, y: new Int32Array(4) });
    const st = fitStandardizer(ds);
    expect(Array.from(st.mean)).toEqual([4, 25, 5]);
    expect(st.std[0]).toBeCloseTo(Math.sqrt(5), 6);
    expect(st.std[2]).toBe(1); // constant feature: std 1, not a division by zero
    const z = st.apply(ds);
    for (let j = 0; j < 3; j++) {
      const col = [0, 1, 2, 3].map((i) => z.x[i * 3 + j]);
      expect(col.reduce((a, b) => a + b) / 4).toBeCloseTo(0, 6);
    }
    expect(Array.from(z.x).every(Number.isFinite)).toBe(true);
    expect(x[0]).toBe(1); // the input is untouched
    const other = st.apply(new Dataset({ x: Float32Array.from([4, 25, 6]), y: new Int32Array(1) }));
    expect(Array.from(other.x)).toEqual([0, 0, 1]);
  });

  it('scale multiplies every feature into a new dataset', () => {
    const ds = new Dataset({ x: Float32Array.from([0, 255, 51]), y: new Int32Array(1) });
    const s = scale(ds, 1 / 255);
    expect(Array.from(s.x)).toEqual([0, 1, Math.fround(51 / 255)]);
    expect(ds.x[1]).toBe(255);
  });
});

describe('DataLoader', () => {
  it('yields full batches and a last partial one, or drops it', () => {
    const ds = indexed(10);
    const sizes = (l: DataLoader) => Array.from(l, (b) => b.size);
    expect(sizes(new DataLoader(ds, { batchSize: 4 }))).toEqual([4, 4, 2]);
    expect(sizes(new DataLoader(ds, { batchSize: 4, dropLast: true }))).toEqual([4, 4]);
    expect(sizes(new DataLoader(ds, { batchSize: 5 }))).toEqual([5, 5]);
    expect(sizes(new DataLoader(ds, { batchSize: 32 }))).toEqual([10]);
    expect(sizes(new DataLoader(ds, { batchSize: 32, dropLast: true }))).toEqual([]);
    expect(new DataLoader(ds, { batchSize: 4 }).length).toBe(3);
    expect(new DataLoader(ds).batchSize).toBe(256);
  });

  it('batches hold x as size x D, y, and the shape [size, ...sample shape]', () => {
    const ds = new Dataset({
      x: Float32Array.from({ length: 3 * 4 }, (_, i) => i),
      y: Int32Array.from([2, 0, 1]),
      shape: [1, 2, 2],
    });
    const [first, second] = Array.from(new DataLoader(ds, { batchSize: 2 }), (b) => ({
      x: Array.from(b.x),
      y: Array.from(b.y),
      shape: [...b.shape],
    }));
    expect(first).toEqual({ x: [0, 1, 2, 3, 4, 5, 6, 7], y: [2, 0], shape: [2, 1, 2, 2] });
    expect(second).toEqual({ x: [8, 9, 10, 11], y: [1], shape: [1, 1, 2, 2] });
  });

  it('without shuffle, samples come in dataset order', () => {
    expect(epochIds(new DataLoader(indexed(7), { batchSize: 3 }))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reuses the same batch objects and buffers: no allocation per batch', () => {
    const loader = new DataLoader(indexed(10), { batchSize: 4, shuffle: true, seed: 1 });
    const seen: Batch[] = [];
    const buffers = new Set<Float32Array>();
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const b of loader) {
        seen.push(b);
        buffers.add(b.x);
      }
    }
    expect(new Set(seen).size).toBe(2); // one full batch object, one partial
    expect(buffers.size).toBe(2);
    const it = loader[Symbol.iterator]();
    expect(it.next()).toBe(it.next()); // the iterator result object too
  });

  it('shuffles every sample exactly once per epoch, differently each epoch', () => {
    const loader = new DataLoader(indexed(103), { batchSize: 10, shuffle: true, seed: 42 });
    const e0 = epochIds(loader);
    const e1 = epochIds(loader);
    const sorted = (a: number[]) => [...a].sort((p, q) => p - q);
    const all = Array.from({ length: 103 }, (_, i) => i);
    expect(sorted(e0)).toEqual(all);
    expect(sorted(e1)).toEqual(all);
    expect(e0).not.toEqual(all);
    expect(e1).not.toEqual(e0);
  });

  it('labels travel with their samples', () => {
    const loader = new DataLoader(indexed(50, 2, 7), { batchSize: 8, shuffle: true, seed: 5 });
    for (const b of loader) for (let k = 0; k < b.size; k++) expect(b.y[k]).toBe(b.x[k * 2] % 7);
  });

  it('the same seed gives the same order every run; another seed another order', () => {
    const run = (seed: number) => {
      const l = new DataLoader(indexed(64), { batchSize: 16, shuffle: true, seed });
      return [epochIds(l), epochIds(l), epochIds(l)];
    };
    expect(run(9)).toEqual(run(9));
    expect(run(9)[0]).not.toEqual(run(10)[0]);
  });

  it('state() and setState() resume mid-epoch exactly where the uninterrupted run would be', () => {
    const opts = { batchSize: 7, shuffle: true, seed: 123 };
    const full = new DataLoader(indexed(40), opts);
    const reference = [epochIds(full), epochIds(full), epochIds(full)].flat();

    const first = new DataLoader(indexed(40), opts);
    const got: number[] = [];
    epochIds(first).forEach((v) => got.push(v)); // epoch 0
    let n = 0;
    let saved = first.state();
    for (const b of first) {
      for (let k = 0; k < b.size; k++) got.push(b.x[k * 3]);
      saved = first.state(); // a checkpoint after each step
      if (++n === 3) break; // "crash" after three batches of epoch 1
    }
    expect(saved).toEqual({ seed: 123, epoch: 1, batch: 3 });

    const resumed = new DataLoader(indexed(40), { batchSize: 7, shuffle: true }); // another random seed
    resumed.setState(saved);
    got.push(...epochIds(resumed), ...epochIds(resumed));
    expect(got).toEqual(reference);
  });

  it("the state saved after an epoch's last batch already points at the next epoch", () => {
    const loader = new DataLoader(indexed(8), { batchSize: 4, shuffle: true, seed: 0 });
    const states = Array.from(loader, () => loader.state());
    expect(states).toEqual([
      { seed: 0, epoch: 0, batch: 1 },
      { seed: 0, epoch: 1, batch: 0 },
    ]);
    expect(() => loader.setState({ seed: 0, epoch: 0, batch: 3 })).toThrow(/\[0, 2\]/);
  });

  it('refuses a bad batch size or seed', () => {
    expect(() => new DataLoader(indexed(4), { batchSize: 0 })).toThrow(/batchSize must be an integer >= 1/);
    expect(() => new DataLoader(indexed(4), { seed: -1 })).toThrow(/seed must be an integer in \[0, 2\^32\)/);
    expect(() => new DataLoader(indexed(4), { seed: 2 ** 32 })).toThrow(/seed/);
  });

  it('without a seed, draws one from the global generator, so manualSeed makes it reproducible', () => {
    manualSeed(11);
    const a = new DataLoader(indexed(30), { batchSize: 8, shuffle: true });
    manualSeed(11);
    const b = new DataLoader(indexed(30), { batchSize: 8, shuffle: true });
    expect(a.state().seed).toBe(b.state().seed);
    expect(epochIds(a)).toEqual(epochIds(b));
  });
});

// ---------------------------------------------------------------- readers

function idx(type: number, dims: number[], data: Uint8Array | number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

function write(name: string, data: Uint8Array | string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
}

describe('IDX', () => {
  const pixels = [0, 255, 51, 102, 1, 2, 3, 4]; // two 2x2 images

  it('reads images and labels, raw or gzipped, scaled to [0, 1]', () => {
    const img = write('ok/images', idx(8, [2, 2, 2], pixels));
    const lab = write('ok/labels.gz', zlib.gzipSync(idx(8, [2], [7, 3])));
    const ds = loadIdx(img, lab);
    expect(ds.length).toBe(2);
    expect(ds.shape).toEqual([1, 2, 2]);
    expect(Array.from(ds.x)).toEqual(pixels.map((v) => Math.fround(v / 255)));
    expect(Array.from(ds.y)).toEqual([7, 3]);
    expect(Array.from(loadIdx(img, lab, { raw: true }).x)).toEqual(pixels);
  });

  it('refuses a wrong magic number', () => {
    const f = write('bad/magic', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]));
    expect(() => loadIdx(f, f)).toThrow(`${f}: not an IDX file (magic number 0x504b0304`);
  });

  it('refuses an unsupported element type', () => {
    const f = write('bad/float', idx(0x0d, [1], [0, 0, 0, 0]));
    expect(() => loadIdx(f, f)).toThrow(`${f}: unsupported IDX element type 0x0d (float32)`);
  });

  it('refuses dims that disagree with the file size, before allocating from them', () => {
    const trunc = write('bad/truncated', idx(8, [2, 2, 2], pixels.slice(0, 7)));
    const lab = write('bad/labels', idx(8, [2], [0, 1]));
    expect(() => loadIdx(trunc, lab)).toThrow(
      `${trunc}: truncated: the header says 2 x 2 x 2 = 8 bytes of data, the file has 7`,
    );
    const huge = write('bad/huge', idx(8, [0xffffffff, 0xffffffff, 0xffffffff], [1, 2, 3]));
    expect(() => loadIdx(huge, lab)).toThrow(/truncated: the header says 4294967295 x/);
    const extra = write('bad/extra', idx(8, [2], [0, 1, 2]));
    expect(() => loadIdx(trunc, extra)).toThrow(/truncated/);
    const img = write('bad/img', idx(8, [2, 2, 2], pixels));
    expect(() => loadIdx(img, extra)).toThrow(`${extra}: has extra bytes after the data`);
    const shortHeader = write('bad/short-header', Buffer.from([0, 0, 8, 3, 0, 0]));
    expect(() => loadIdx(shortHeader, lab)).toThrow(`${shortHeader}: truncated IDX header`);
  });

  it('refuses image and label counts that differ', () => {
    const img = write('count/images', idx(8, [2, 2, 2], pixels));
    const lab = write('count/labels', idx(8, [3], [0, 1, 2]));
    expect(() => loadIdx(img, lab)).toThrow(`${img} has 2 images but ${lab} has 3 labels`);
  });

  it('refuses labels outside the classes', () => {
    const img = write('cls/images', idx(8, [2, 2, 2], pixels));
    const lab = write('cls/labels', idx(8, [2], [3, 10]));
    expect(() => loadIdx(img, lab, { numClasses: 10 })).toThrow(`${lab}: label 1 is 10, but there are 10 classes`);
  });

  it('refuses corrupt gzip data', () => {
    const gz = zlib.gzipSync(idx(8, [2], [0, 1]));
    const f = write('gz/labels.gz', gz.subarray(0, gz.length - 6));
    expect(() => loadIdx(f, f)).toThrow(`${f}: corrupt or truncated gzip data`);
  });
});

describe('Fashion-MNIST', () => {
  it('says where to get the data when it is missing', () => {
    const missing = path.join(dir, 'no-fashion');
    expect(() => loadFashionMnist(missing)).toThrow(
      /no-fashion[/\\]train-images-idx3-ubyte .*file not found.*dataset-fashion-mnist.*\/usr\/share\/datasets\/fashion-mnist/,
    );
  });

  it('reads a directory of uncompressed files too', () => {
    const d = path.join(dir, 'fm');
    const img = idx(8, [3, 28, 28], new Uint8Array(3 * 784).fill(255));
    for (const p of ['train', 't10k']) {
      write(`fm/${p}-images-idx3-ubyte`, img);
      write(`fm/${p}-labels-idx1-ubyte`, idx(8, [3], [0, 5, 9]));
    }
    const { train, test } = loadFashionMnist(d);
    expect(train.length).toBe(3);
    expect(test.classNames?.[9]).toBe('Ankle boot');
    expect(train.x[0]).toBe(1);
  });

  it.skipIf(!fs.existsSync(path.join(SHARED, 'fashion-mnist')))(
    'reads the real data: 60,000 + 10,000 images of 28 x 28, 6,000 a class in train',
    () => {
      const { train, test } = loadFashionMnist(path.join(SHARED, 'fashion-mnist'));
      expect([train.length, test.length]).toEqual([60000, 10000]);
      expect(train.shape).toEqual([1, 28, 28]);
      expect(train.numClasses).toBe(10);
      expect(train.classNames).toEqual([
        'T-shirt/top',
        'Trouser',
        'Pullover',
        'Dress',
        'Coat',
        'Sandal',
        'Shirt',
        'Sneaker',
        'Bag',
        'Ankle boot',
      ]);
      expect(Array.from(train.classCounts())).toEqual(new Array(10).fill(6000));
      expect(Array.from(test.classCounts())).toEqual(new Array(10).fill(1000));
      let min = Infinity;
      let max = -Infinity;
      for (const v of test.x) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect([min, max]).toEqual([0, 1]);
    },
  );
});

describe('CIFAR-10', () => {
  /** A record: label, then R, G, B planes filled with r, g, b. */
  const record = (label: number, r: number, g: number, b: number) =>
    Buffer.concat([Buffer.from([label]), Buffer.alloc(1024, r), Buffer.alloc(1024, g), Buffer.alloc(1024, b)]);

  function makeCifar(root: string): void {
    for (let i = 1; i <= 5; i++)
      write(`${root}/data_batch_${i}.bin`, Buffer.concat([record(i, 255, 0, 51), record(0, 0, 0, 0)]));
    write(`${root}/test_batch.bin`, record(9, 1, 2, 3));
  }

  it('reads 3 x 32 x 32 images, planes in R, G, B order, and labels', () => {
    makeCifar('cifar');
    const { train, test } = loadCifar10(path.join(dir, 'cifar'));
    expect([train.length, test.length]).toEqual([10, 1]);
    expect(train.shape).toEqual([3, 32, 32]);
    expect(Array.from(train.y)).toEqual([1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
    expect([train.x[0], train.x[1024], train.x[2048], train.x[3071]]).toEqual([
      1,
      0,
      Math.fround(0.2),
      Math.fround(0.2),
    ]);
    expect(test.classNames?.[9]).toBe('truck');
  });

  it('finds the cifar-10-batches-bin subdirectory and reads batches.meta.txt', () => {
    makeCifar('cifar-nested/cifar-10-batches-bin');
    const names = Array.from({ length: 10 }, (_, i) => `class${i}`);
    write('cifar-nested/cifar-10-batches-bin/batches.meta.txt', `${names.join('\n')}\n\n`);
    const { test } = loadCifar10(path.join(dir, 'cifar-nested'));
    expect(test.classNames).toEqual(names);
  });

  it('refuses a file that is not a multiple of 3,073 bytes', () => {
    makeCifar('cifar-trunc');
    const f = write('cifar-trunc/data_batch_3.bin', record(1, 0, 0, 0).subarray(0, 3000));
    expect(() => loadCifar10(path.join(dir, 'cifar-trunc'))).toThrow(
      `${f}: 3000 bytes is not a whole number of 3,073-byte CIFAR-10 records`,
    );
  });

  it('refuses labels >= 10', () => {
    makeCifar('cifar-label');
    const f = write('cifar-label/test_batch.bin', Buffer.concat([record(3, 0, 0, 0), record(10, 0, 0, 0)]));
    expect(() => loadCifar10(path.join(dir, 'cifar-label'))).toThrow(
      `${f}: record 1 has label 10; CIFAR-10 labels are 0..9`,
    );
  });

  it('names a missing batch file', () => {
    makeCifar('cifar-missing');
    const f = path.join(dir, 'cifar-missing', 'data_batch_4.bin');
    fs.unlinkSync(f);
    expect(() => loadCifar10(path.join(dir, 'cifar-missing'))).toThrow(`${f}: file not found`);
  });
});

describe('CSV', () => {
  it('reads numbers with the label in the last column, detecting a header', () => {
    const f = write('a.csv', 'f1,f2,label\r\n1,2.5,0\r\n-3,4e2,2\r\n\r\n');
    const ds = loadCsv(f);
    expect(Array.from(ds.x)).toEqual([1, 2.5, -3, 400]);
    expect(Array.from(ds.y)).toEqual([0, 2]);
    expect(ds.numClasses).toBe(3);
  });

  it('reads gzipped files, another delimiter, and a label column by index or name', () => {
    const f = write('b.csv.gz', zlib.gzipSync('y;a;b\n1;0.5;"2"\n0;1;3\n'));
    const byName = loadCsv(f, { delimiter: ';', labelColumn: 'y' });
    expect(Array.from(byName.y)).toEqual([1, 0]);
    expect(Array.from(byName.x)).toEqual([0.5, 2, 1, 3]);
    const byIndex = loadCsv(f, { delimiter: ';', labelColumn: 0, header: true });
    expect(Array.from(byIndex.x)).toEqual(Array.from(byName.x));
  });

  it('with header: false, a non-numeric first line is an error', () => {
    expect(() => parseCsv('a,b\n1,0\n', { header: false }, 'h.csv')).toThrow(
      "h.csv: line 1, column 1: 'a' is not a number",
    );
  });

  it('names the line and column of a non-numeric cell', () => {
    const f = write('c.csv', '1,2,0\n3,x,1\n');
    expect(() => loadCsv(f)).toThrow(`${f}: line 2, column 2: 'x' is not a number`);
    expect(() => parseCsv('1,,0\n', {}, 'e.csv')).toThrow("e.csv: line 1, column 2: '' is not a number");
  });

  it('refuses labels that are not integers >= 0', () => {
    expect(() => parseCsv('1,0.5\n', {}, 'l.csv')).toThrow(
      "l.csv: line 1, column 2: label '0.5' is not an integer >= 0",
    );
    expect(() => parseCsv('1,-1\n', {}, 'l.csv')).toThrow(/label '-1' is not an integer >= 0/);
  });

  it('refuses ragged rows', () => {
    expect(() => parseCsv('1,2,0\n3,1\n', {}, 'r.csv')).toThrow(
      'r.csv: line 2 has 2 columns, expected 3 (ragged rows)',
    );
  });

  it('refuses an empty file or a header without data', () => {
    const f = write('empty.csv', '\n\n');
    expect(() => loadCsv(f)).toThrow(`${f}: empty CSV`);
    expect(() => parseCsv('a,b\n', {}, 'h.csv')).toThrow('h.csv: empty CSV (no data rows after the header)');
  });

  it('names a missing file', () => {
    const f = path.join(dir, 'missing.csv');
    expect(() => loadCsv(f)).toThrow(`${f}: file not found`);
  });
});

describe('bundled digits', () => {
  it('has 1,797 8 x 8 images of 10 classes, scaled to [0, 1]', () => {
    const ds = loadDigits();
    expect(ds.length).toBe(1797);
    expect(ds.features).toBe(64);
    expect(ds.shape).toEqual([1, 8, 8]);
    expect(ds.numClasses).toBe(10);
    expect(Array.from(ds.classCounts())).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    expect(ds.x.reduce((a, b) => Math.max(a, b))).toBe(1);
    expect(ds.x.reduce((a, b) => Math.min(a, b))).toBe(0);
  });

  it('raw: keeps the pixel counts 0..16', () => {
    const ds = loadDigits({ raw: true });
    expect(ds.x.reduce((a, b) => Math.max(a, b))).toBe(16);
    expect(Array.from(ds.row(0).subarray(0, 8))).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
    expect(ds.y[0]).toBe(0);
  });
});
