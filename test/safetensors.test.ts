import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  writeFileAtomic,
} from '../lib/io/index.js';

const FIXTURES = path.join(__dirname, 'fixtures', 'torch');
interface Expected {
  metadata: Record<string, string>;
  tensors: Record<string, { shape: number[]; values: number[] }>;
  dtypes: Record<string, { dtype: string; shape: number[]; values: number[] }>;
  input: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
}
const expected: Expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'sequential.expected.json'), 'utf8'));

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegrad-safetensors-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A safetensors buffer from a raw header (object or text) and data bytes. */
function craft(header: unknown, data: Uint8Array | number = 0): Buffer {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = Buffer.from(text, 'utf8');
  const d = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, d]);
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('encode and decode', () => {
  it('round-trips tensors of every rank, including scalars and empty tensors, with metadata', () => {
    const tensors = {
      'layer.weight': { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, Infinity]) },
      '0': { shape: [], data: Float32Array.from([42]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
      'unicode é ✓': { shape: [3], data: Float32Array.from([NaN, 7, 8]) },
    };
    const buf = encodeSafetensors(tensors, { format: 'pt', note: 'ünïcode' });
    const back = decodeSafetensors(buf);
    expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name].shape).toEqual(t.shape);
      expect(back.tensors[name].dtype).toBe('F32');
      expect(Array.from(back.tensors[name].data)).toEqual(Array.from(t.data));
    }
    expect(Object.is(back.tensors['layer.weight'].data[4], -0)).toBe(true);
    expect({ ...back.metadata }).toEqual({ format: 'pt', note: 'ünïcode' });
  });

  it('writes tensors in the order given: a Map keeps any order, integer-like names included', () => {
    const order = (buf: Buffer) => {
      const header = buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8');
      return Object.entries(JSON.parse(header) as Record<string, { data_offsets: number[] }>)
        .sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0])
        .map(([k]) => k);
    };
    const t = { shape: [1], data: new Float32Array(1) };
    expect(
      order(
        encodeSafetensors(
          new Map([
            ['b', t],
            ['1', t],
            ['a', t],
          ]),
        ),
      ),
    ).toEqual(['b', '1', 'a']);
    expect(order(encodeSafetensors({ b: t, a: t }))).toEqual(['b', 'a']);
  });

  it('pads the header with spaces to a multiple of 8 bytes', () => {
    const buf = encodeSafetensors({ w: { shape: [3], data: new Float32Array(3) } });
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    expect(buf.length).toBe(8 + n + 12);
    const header = buf.subarray(8, 8 + n).toString('utf8');
    expect(header.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
  });

  it('accepts tensors whose offsets are not in header order, as the format allows', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const back = decodeSafetensors(craft({ b: f32([1], 8, 12), a: f32([2], 0, 8) }, data));
    expect(Array.from(back.tensors.a.data)).toEqual([1, 2]);
    expect(Array.from(back.tensors.b.data)).toEqual([3]);
  });

  it('refuses tensors whose data disagrees with their shape, and reserved names', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /shape \[2, 2\] holds 4 values, data has 3/,
    );
    expect(() => encodeSafetensors({ w: { shape: [-1], data: new Float32Array(0) } })).toThrow(/integers >= 0/);
    expect(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(
      /cannot be a tensor name/,
    );
    expect(() => encodeSafetensors({ w: { shape: [1], data: [1] as unknown as Float32Array } })).toThrow(TypeError);
  });
});

describe('files', () => {
  it('saves and loads a file', () => {
    const file = path.join(dir, 'model.safetensors');
    saveSafetensors(file, { w: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } }, { epoch: '3' });
    const back = loadSafetensors(file);
    expect(Array.from(back.tensors.w.data)).toEqual([1, 2, 3, 4]);
    expect(back.metadata.epoch).toBe('3');
  });

  it('names a missing file', () => {
    const file = path.join(dir, 'nope.safetensors');
    expect(() => loadSafetensors(file)).toThrow(`${file}: file not found`);
  });

  it('names the file when it is corrupt', () => {
    const file = path.join(dir, 'short.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    expect(() => loadSafetensors(file)).toThrow(`${file}: not a safetensors file: 3 bytes`);
  });
});

describe('PyTorch fixture', () => {
  const file = path.join(FIXTURES, 'sequential.safetensors');

  it("reads a Sequential(Linear(4,3), ReLU(), Linear(3,2))'s state_dict written from PyTorch", () => {
    const { tensors, metadata } = loadSafetensors(file);
    expect(Object.keys(tensors)).toEqual(Object.keys(expected.tensors));
    for (const [name, want] of Object.entries(expected.tensors)) {
      expect(tensors[name].shape).toEqual(want.shape);
      expect(Array.from(tensors[name].data)).toEqual(want.values);
    }
    expect({ ...metadata }).toEqual(expected.metadata);
  });

  it('computes the output PyTorch computed with those weights (weights are [out, in], row-major)', () => {
    const { tensors: t } = loadSafetensors(file);
    const linear = (x: number[], w: Float32Array, b: Float32Array, nIn: number) =>
      Array.from(b, (bias, o) => x.reduce((s, v, i) => s + v * w[o * nIn + i], bias));
    const x = expected.input.values;
    const out: number[] = [];
    for (let r = 0; r < expected.input.shape[0]; r++) {
      const h = linear(x.slice(r * 4, r * 4 + 4), t['0.weight'].data, t['0.bias'].data, 4).map((v) => Math.max(v, 0));
      out.push(...linear(h, t['2.weight'].data, t['2.bias'].data, 3));
    }
    out.forEach((v, i) => expect(v).toBeCloseTo(expected.output.values[i], 6));
  });

  it('writes the same bytes as the PyTorch-side writer (so PyTorch loads our files)', () => {
    const tensors = Object.fromEntries(
      Object.entries(expected.tensors).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.values) }]),
    );
    expect(encodeSafetensors(tensors, expected.metadata).equals(fs.readFileSync(file))).toBe(true);
  });

  it('converts F64, F16, BF16, I64 and I32 tensors to float32 as PyTorch does', () => {
    const { tensors } = loadSafetensors(path.join(FIXTURES, 'dtypes.safetensors'));
    for (const [name, want] of Object.entries(expected.dtypes)) {
      expect(tensors[name].dtype).toBe(want.dtype);
      expect(tensors[name].shape).toEqual(want.shape);
      expect(Array.from(tensors[name].data)).toEqual(want.values);
    }
  });
});

describe('corrupt files are refused with a message naming the file', () => {
  const name = 'bad.safetensors';
  const refuse = (buf: Uint8Array, message: RegExp | string) => {
    expect(() => decodeSafetensors(buf, name)).toThrow(Error);
    expect(() => decodeSafetensors(buf, name)).toThrow(typeof message === 'string' ? `${name}: ${message}` : message);
  };

  it('shorter than 8 bytes', () => refuse(Buffer.alloc(7), 'not a safetensors file: 7 bytes'));

  it('header length past the end of the file', () => {
    const buf = craft('{}');
    buf.writeBigUInt64LE(3n);
    refuse(Buffer.concat([buf.subarray(0, 8), Buffer.from('{}')]), 'header length 3 runs past the end of the file');
  });

  it('an absurd header length, without allocating it', () => {
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(0xffffffffffffffffn);
    refuse(buf, /header length 18446744073709551615 is over the 100000000-byte limit/);
  });

  it('bad JSON', () => refuse(craft('{"w": {'), /header is not valid JSON/));
  it('invalid UTF-8', () => refuse(craft('{"\xff"}').fill(0xff, 9, 10), 'header is not valid UTF-8'));
  it('a header that is not an object', () => refuse(craft([1, 2]), 'header must be a JSON object, got an array'));
  it('a non-object entry', () =>
    refuse(craft({ w: 5 }), "tensor 'w': entry must be an object { dtype, shape, data_offsets }, got number 5"));
  it('an unknown dtype', () =>
    refuse(craft({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), "tensor 'w': unknown dtype 'F128'"));
  it('a dtype it cannot convert', () =>
    refuse(
      craft({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2),
      /tensor 'w': dtype F8_E4M3 cannot be converted/,
    ));
  it('a negative dim', () =>
    refuse(craft({ w: f32([-1, 2], 0, 8) }, 8), /tensor 'w': shape must be an array of integers >= 0, got \[-1,2\]/));
  it('a non-integer dim', () =>
    refuse(craft({ w: f32([1.5], 0, 4) }, 4), /tensor 'w': shape must be an array of integers >= 0/));
  it('malformed data_offsets', () =>
    refuse(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /data_offsets must be \[begin, end\]/));
  it('offsets that disagree with the shape', () =>
    refuse(
      craft({ w: f32([2, 3], 0, 20) }, 20),
      "tensor 'w': shape [2, 3] of F32 needs 24 bytes, data_offsets [0, 20] span 20",
    ));
  it('offsets past the end of the data', () =>
    refuse(craft({ w: f32([4], 0, 16) }, 12), /run past the end of the data \(12 bytes\): truncated/));
  it('a truncated file (the data cut short)', () => {
    const buf = encodeSafetensors({ w: { shape: [8], data: new Float32Array(8) } });
    refuse(buf.subarray(0, buf.length - 1), /run past the end of the data/);
  });
  it('reversed offsets', () => refuse(craft({ w: f32([0], 4, 0) }, 4), /are out of order \(begin > end\)/));
  it('overlapping tensors', () =>
    refuse(
      craft({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12),
      /tensor 'b': data_offsets \[4, 12\] overlap the previous tensor/,
    ));
  it('a gap between tensors', () =>
    refuse(craft({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12), /tensor 'b': .* leave a gap after byte 4/));
  it('bytes that belong to no tensor', () =>
    refuse(craft({ a: f32([1], 0, 4) }, 8), "4 bytes after the last tensor's data belong to no tensor"));
  it('metadata that is not strings', () =>
    refuse(craft({ __metadata__: { epoch: 3 } }), "__metadata__['epoch'] must be a string, got number 3"));
  it('a tensor named __proto__ is just a tensor', () => {
    const back = decodeSafetensors(craft('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4));
    // biome-ignore lint/suspicious/noProto: a tensor named __proto__ is what this test is about
    expect(back.tensors.__proto__.shape).toEqual([1]);
    expect(Object.getPrototypeOf(back.tensors)).toBe(null);
  });
});

describe('writeFileAtomic', () => {
  const listTemps = () => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

  it('creates a file, then replaces it, leaving no temporary file', () => {
    const file = path.join(dir, 'a.bin');
    writeFileAtomic(file, Buffer.from('first'));
    expect(fs.readFileSync(file, 'utf8')).toBe('first');
    writeFileAtomic(file, [Buffer.from('sec'), new Uint8Array([0x6f, 0x6e, 0x64])]);
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(listTemps()).toEqual([]);
  });

  it('leaves the previous file intact and removes its temporary file when a write fails midway', () => {
    const file = path.join(dir, 'b.bin');
    writeFileAtomic(file, Buffer.from('old contents'));
    function* failing(): Generator<Uint8Array> {
      yield Buffer.alloc(1 << 20, 1);
      throw new Error('disk on fire');
    }
    expect(() => writeFileAtomic(file, failing())).toThrow('disk on fire');
    expect(fs.readFileSync(file, 'utf8')).toBe('old contents');
    expect(listTemps()).toEqual([]);
  });

  it('leaves the previous checkpoint intact when saveSafetensors fails', () => {
    const file = path.join(dir, 'ckpt.safetensors');
    saveSafetensors(file, { w: { shape: [1], data: Float32Array.from([1]) } });
    expect(() => saveSafetensors(file, { w: { shape: [2], data: Float32Array.from([1]) } })).toThrow(/shape \[2\]/);
    expect(Array.from(loadSafetensors(file).tensors.w.data)).toEqual([1]);
    expect(listTemps()).toEqual([]);
  });

  it('refuses chunks that are not bytes, keeping the old file', () => {
    const file = path.join(dir, 'c.bin');
    writeFileAtomic(file, Buffer.from('keep'));
    expect(() => writeFileAtomic(file, ['text'] as unknown as Uint8Array[])).toThrow(TypeError);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
    expect(listTemps()).toEqual([]);
  });

  it('fails on a missing directory, naming the path', () => {
    const file = path.join(dir, 'no', 'such', 'dir', 'x.bin');
    expect(() => writeFileAtomic(file, Buffer.from('x'))).toThrow(/ENOENT.*no[/\\]such[/\\]dir/);
  });

  it.skipIf(process.platform === 'win32')("keeps the replaced file's permission bits", () => {
    const file = path.join(dir, 'd.bin');
    writeFileAtomic(file, Buffer.from('x'));
    fs.chmodSync(file, 0o600);
    writeFileAtomic(file, Buffer.from('y'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('writeFileAtomic errors name the target, never the temporary file', () => {
  const canCreateIn = (d: string): boolean => {
    try {
      fs.closeSync(fs.openSync(path.join(d, '.nodegrad-probe'), 'wx'));
      fs.unlinkSync(path.join(d, '.nodegrad-probe'));
      return true;
    } catch {
      return false;
    }
  };

  it('in a directory it may not write to (a read-only dir, or /sys for root)', () => {
    const ro = path.join(dir, 'read-only');
    fs.mkdirSync(ro, { recursive: true });
    fs.chmodSync(ro, 0o555);
    const target = canCreateIn(ro) ? '/sys/nodegrad-model.safetensors' : path.join(ro, 'model.safetensors');
    if (canCreateIn(path.dirname(target))) return; // neither is read-only here (Windows)
    let err: (Error & { code?: string; path?: string }) | undefined;
    try {
      saveSafetensors(target, { w: { shape: [1], data: Float32Array.from([1]) } });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(
      new RegExp(`^${target.replace(/[/\\.]/g, '\\$&')}: cannot write: (EACCES|EROFS|EPERM): [a-z -]+$`),
    );
    expect(err?.message).not.toMatch(/\.tmp/);
    expect(err?.path).toBe(target);
    fs.chmodSync(ro, 0o755);
  });

  it.skipIf(process.platform === 'win32')(
    'when the disk fills mid-write (a file size limit), keeping the old file',
    () => {
      const file = path.join(dir, 'big.bin');
      writeFileAtomic(file, Buffer.from('old'));
      const script =
        `const { writeFileAtomic } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'io', 'atomic.js'))});` +
        `try { writeFileAtomic(${JSON.stringify(file)}, Buffer.alloc(1 << 20)); } catch (e) { console.log(e.code + '|' + e.message); }`;
      // ulimit -f: writes past 4 KiB fail with EFBIG, as they would with ENOSPC on a full disk.
      const out = require('node:child_process').execFileSync(
        'sh',
        ['-c', `ulimit -f 4; exec "${process.execPath}" -e "$0"`, script],
        { encoding: 'utf8' },
      );
      expect(out.trim()).toBe(`EFBIG|${file}: cannot write: EFBIG: file too large`);
      expect(fs.readFileSync(file, 'utf8')).toBe('old');
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    },
  );
});
