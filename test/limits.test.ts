// Hostile inputs to the readers (issue 16): every read is bounded and refused with one error
// naming the file and the limit; a device, FIFO or gzip bomb never hangs or exhausts memory.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCifarBatches, loadCsv, loadIdx, parseCsv, readIdx } from '../lib/data/index.js';
import { loadSafetensors, readTextFile, saveSafetensors } from '../lib/io/index.js';
import { load } from '../lib/train/serialize.js';
import { main } from '../lib/cli/main.js';

const unix = process.platform !== 'win32';
let dir: string;
let fifo: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-limits-'));
  fifo = path.join(dir, 'fifo');
  if (unix) execFileSync('mkfifo', [fifo]);
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): { code: number; stderr: string } {
  let stderr = '';
  const code = main(args, { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stderr };
}

/**
 * A gzip file of `members` concatenated gzip members of 64 MiB of zeros each, after `head`
 * (gzipped as its own member): ~64 KB a member on disk, 64 MiB each once decompressed.
 */
function gzipBomb(file: string, members: number, head: Uint8Array = new Uint8Array(0)): void {
  const zeros = zlib.gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  const fd = fs.openSync(file, 'w');
  if (head.length) fs.writeSync(fd, zlib.gzipSync(head));
  for (let i = 0; i < members; i++) fs.writeSync(fd, zeros);
  fs.closeSync(fd);
}

describe('non-regular files are refused before reading', () => {
  const readers: Array<[string, (f: string) => unknown]> = [
    ['loadCsv', (f) => loadCsv(f)],
    ['readIdx', (f) => readIdx(f)],
    ['loadCifarBatches', (f) => loadCifarBatches([f])],
    ['loadSafetensors', (f) => loadSafetensors(f)],
    ['readTextFile (predict --input)', (f) => readTextFile(f)],
  ];
  it.skipIf(!unix).each(readers)('%s refuses /dev/zero', (_, read) => {
    expect(() => read('/dev/zero')).toThrow(/^\/dev\/zero: not a regular file \(a device, FIFO or socket\)/);
  });
  it.skipIf(!unix).each(readers)('%s refuses a FIFO without waiting for a writer', (_, read) => {
    expect(() => read(fifo)).toThrow(/fifo: not a regular file/);
  });
  it.skipIf(!unix)('nodegrad predict --input /dev/zero fails with one line, exit 1', () => {
    const model = path.join(dir, 'model.safetensors');
    expect(cli(['train', '--epochs', '1', '--out', dir, '--no-plot']).code).toBe(0);
    const r = cli(['predict', '--model', model, '--input', '/dev/zero']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'nodegrad: /dev/zero: not a regular file (a device, FIFO or socket); nodegrad reads only regular files\n',
    );
    const m = cli(['predict', '--model', fifo, '--input', fifo]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^nodegrad: .*fifo: not a regular file/);
  });
});

describe('read limits', () => {
  it('a 7 MB gzip bomb given as a CSV is refused at the 512 MiB limit, not decompressed to 7 GB', () => {
    const bomb = path.join(dir, 'bomb.csv.gz');
    gzipBomb(bomb, 110);
    expect(fs.statSync(bomb).size).toBeLessThan(8e6);
    const before = process.memoryUsage().rss;
    expect(() => loadCsv(bomb)).toThrow(
      `${bomb}: decompresses to more than the 512 MiB limit on what nodegrad reads from one file (a corrupt file or a gzip bomb)`,
    );
    // Decompressed output is freed with the refusal; the process never held gigabytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(1.5 * 2 ** 30);
  });

  it('loadCsv honours maxBytes, for raw and gzipped files alike', () => {
    const text = `a,b,label\n${'1,2,0\n'.repeat(100)}`;
    const raw = path.join(dir, 'small.csv');
    fs.writeFileSync(raw, text);
    fs.writeFileSync(`${raw}.gz`, zlib.gzipSync(text));
    expect(() => loadCsv(raw, { maxBytes: 100 })).toThrow(`${raw}: ${text.length} bytes is over the 100 bytes limit`);
    expect(() => loadCsv(`${raw}.gz`, { maxBytes: 100 })).toThrow(
      `${raw}.gz: decompresses to more than the 100 bytes limit`,
    );
    expect(loadCsv(`${raw}.gz`, { maxBytes: text.length }).length).toBe(100);
    expect(() => loadCsv(raw, { maxBytes: -1 })).toThrow(RangeError);
  });

  it('a gzipped IDX file stops decompressing at the size its header declares', () => {
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x00000803, 0);
    header.writeUInt32BE(1000, 4);
    header.writeUInt32BE(28, 8);
    header.writeUInt32BE(28, 12);
    const bomb = path.join(dir, 'images-idx3-ubyte.gz');
    gzipBomb(bomb, 4, header); // declares 784,016 bytes, holds 256 MiB
    expect(() => readIdx(bomb)).toThrow(`${bomb}: decompresses to more than the 784016 bytes its header declares`);
    // The same header with exactly the declared data still reads.
    const ok = path.join(dir, 'ok-idx3-ubyte.gz');
    fs.writeFileSync(ok, zlib.gzipSync(Buffer.concat([header, Buffer.alloc(784000, 7)])));
    expect(readIdx(ok).dims).toEqual([1000, 28, 28]);
  });

  it('loadIdx and loadCifarBatches honour maxBytes', () => {
    const labels = path.join(dir, 'labels-idx1-ubyte');
    fs.writeFileSync(labels, Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 0, 1]));
    const images = path.join(dir, 'images-idx2-ubyte');
    fs.writeFileSync(images, Buffer.from([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 5, 6]));
    expect(loadIdx(images, labels).length).toBe(2);
    expect(() => loadIdx(images, labels, { maxBytes: 12 })).toThrow(`${images}: 14 bytes is over the 12 bytes limit`);
    const cifar = path.join(dir, 'batch.bin');
    fs.writeFileSync(cifar, Buffer.alloc(3073 * 2));
    expect(loadCifarBatches([cifar]).length).toBe(2);
    expect(() => loadCifarBatches([cifar], undefined, false, 3073)).toThrow(
      `${cifar}: 6146 bytes is over the 3073 bytes limit`,
    );
  });
});

describe('CSV values beyond float32', () => {
  it.each(['1e39', '-1e39', '1e999', '3.5e38'])('refuses %s, naming line and column', (v) => {
    expect(() => parseCsv(`x,y,label\n1,2,0\n3,${v},1\n`, {}, 'data.csv')).toThrow(
      `data.csv: line 3, column 2: '${v}' is beyond the float32 range (largest magnitude 3.4028235e38)`,
    );
  });
  it('keeps the largest float32 and tiny values that round to zero', () => {
    const ds = parseCsv('3.4028234e38,1e-50,0\n-3.4028234e38,0,1\n', { header: false });
    expect(Array.from(ds.x)).toEqual([Math.fround(3.4028234e38), 0, Math.fround(-3.4028234e38), 0]);
  });
  it('loadCsv refuses an overflowing cell in a gzipped file too', () => {
    const file = path.join(dir, 'overflow.csv.gz');
    fs.writeFileSync(file, zlib.gzipSync('1,2,0\n1e39,2,1\n'));
    expect(() => loadCsv(file)).toThrow(`${file}: line 2, column 1: '1e39' is beyond the float32 range`);
  });
});

describe('tensor names that are Object.prototype keys', () => {
  it('ng.load() keeps a tensor named __proto__ as an ordinary entry', () => {
    const file = path.join(dir, 'proto.safetensors');
    const tensors = new Map([
      ['__proto__', { shape: [2], data: Float32Array.from([1, 2]) }],
      ['constructor', { shape: [1], data: Float32Array.from([3]) }],
    ]);
    saveSafetensors(file, tensors);
    const loaded = load(file);
    expect(Object.keys(loaded).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.hasOwn(loaded, '__proto__')).toBe(true);
    // biome-ignore lint/suspicious/noProto: a tensor named __proto__ is what this test is about
    expect(Array.from(loaded.__proto__!.data)).toEqual([1, 2]);
    expect(Array.from(loaded.constructor.data)).toEqual([3]);
  });
});

describe('nodegrad graph limits the expression', () => {
  it('refuses a 60 KB expression with one line, exit 1, before drawing it', () => {
    const expression = Array.from({ length: 9000 }, (_, i) => `x*${i}`).join('+');
    expect(expression.length).toBeGreaterThan(60_000);
    const r = cli(['graph', expression, '--x=1', '--out', path.join(dir, 'g.svg')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `nodegrad: the expression is ${expression.length} characters long; graph draws at most 1000\n`,
    );
    expect(fs.existsSync(path.join(dir, 'g.svg'))).toBe(false);
  });
  it('refuses a short expression with too many nodes, and draws one within the limit', () => {
    const out = path.join(dir, 'g2.svg');
    const r = cli(['graph', Array(126).fill('1').join('+'), '--out', out]); // 126 leaves + 125 sums
    expect(r).toEqual({
      code: 1,
      stderr: "nodegrad: the expression's graph has more than 250 nodes; graph draws at most 250\n",
    });
    expect(cli(['graph', Array(125).fill('1').join('+'), '--out', out]).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/<\/svg>\n$/);
  });
});

describe('files the CLI writes', () => {
  it.skipIf(!unix)('a failed SVG write (the disk full) leaves the existing file whole and names it', () => {
    const svg = path.join(dir, 'existing.svg');
    fs.writeFileSync(svg, 'the previous drawing');
    const bin = path.join(__dirname, '..', 'bin', 'nodegrad.js');
    // ulimit -f 1: writes past 1 KiB fail (EFBIG) as they would on a full disk (ENOSPC).
    const r = spawnSync('sh', ['-c', `ulimit -f 1; exec "${process.execPath}" "${bin}" graph --out "${svg}"`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`nodegrad: ${svg}: cannot write: EFBIG: file too large\n`);
    expect(fs.readFileSync(svg, 'utf8')).toBe('the previous drawing');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
