// safetensors (https://github.com/huggingface/safetensors): 8 bytes little-endian u64 N, then N
// bytes of UTF-8 JSON, then the data buffer. The JSON maps each tensor name to
// { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] } (byte offsets into the data
// buffer, little-endian elements, row-major) and may hold "__metadata__": { string: string }.
// The tensors tile the buffer: sorted by offset, no gaps, no overlaps, nothing left over.
//
// Reading validates everything against the file's real size before allocating from it: a
// corrupt or hostile file gets an Error naming the file and the problem, never a crash.

import * as os from 'node:os';
import { writeFileAtomic } from './atomic.js';
import { RegularFile } from './read.js';
import { checkOptions, optionKeys } from '../options.js';

/** A tensor to save: shape and row-major float32 data (a nodegrad Tensor fits as it is). */
export interface TensorData {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /**
   * How the file stores it (default 'F32'). 'I64' for integer counters torch keeps as int64
   * (BatchNorm's num_batches_tracked): every value must then be an integer.
   */
  readonly dtype?: 'F32' | 'I64';
}

export type Dtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64'
  | 'F8_E4M3'
  | 'F8_E5M2';

/** A loaded tensor: converted to float32, with the dtype the file stored it as. */
export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
  dtype: Dtype;
}

export interface Safetensors {
  /**
   * By name, in the order of their data in the file (integer-like names first, as JavaScript
   * orders keys). A null-prototype object, so any name, `__proto__` included, is a plain key.
   */
  tensors: Record<string, LoadedTensor>;
  metadata: Record<string, string>;
}

const ITEM_SIZE: Record<Dtype, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Headers beyond this are refused as corrupt (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * Encodes float32 tensors, in the order given, and optional string metadata. A plain object
 * lists integer-like names ("0", "1") first, as JavaScript orders keys; pass a Map to choose
 * the order freely.
 */
export function encodeSafetensors(
  tensors: Record<string, TensorData> | ReadonlyMap<string, TensorData>,
  metadata?: Record<string, string>,
): Buffer {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const entries = Object.entries(metadata);
    for (const [k, v] of entries) {
      if (typeof v !== 'string') throw new TypeError(`metadata['${k}'] must be a string, got ${typeof v}`);
    }
    if (entries.length > 0) {
      parts.push(`"__metadata__":{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
    }
  }
  const datas: Uint8Array[] = [];
  let offset = 0;
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, TensorData>);
  for (const [name, t] of list) {
    if (name === '' || name === '__metadata__') throw new RangeError(`'${name}' cannot be a tensor name`);
    if (t === null || typeof t !== 'object' || !(t.data instanceof Float32Array)) {
      throw new TypeError(`tensor '${name}' must be { shape: number[], data: Float32Array }`);
    }
    const shape = [...t.shape];
    let n = 1;
    for (const s of shape) {
      if (!Number.isSafeInteger(s) || s < 0)
        throw new RangeError(`tensor '${name}': shape [${shape.join(', ')}] must be integers >= 0`);
      n *= s;
    }
    if (n !== t.data.length) {
      throw new RangeError(
        `tensor '${name}': shape [${shape.join(', ')}] holds ${n} values, data has ${t.data.length}`,
      );
    }
    const dtype = t.dtype ?? 'F32';
    if (dtype !== 'F32' && dtype !== 'I64') throw new RangeError(`tensor '${name}': dtype must be 'F32' or 'I64'`);
    const bytes = dtype === 'F32' ? float32Bytes(t.data) : int64Bytes(name, t.data);
    const end = offset + bytes.byteLength;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    datas.push(bytes);
    offset = end;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  // Padded with spaces to a multiple of 8, so that the data starts 8-byte aligned.
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) header = Buffer.concat([header, Buffer.alloc(padded - header.length, 0x20)]);

  const out = Buffer.alloc(8 + header.length + offset);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  let at = 8 + header.length;
  for (const d of datas) {
    out.set(d, at);
    at += d.byteLength;
  }
  return out;
}

/** The little-endian bytes of float32 data (a view of it on a little-endian machine). */
function float32Bytes(d: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const b = Buffer.alloc(d.byteLength);
  for (let i = 0; i < d.length; i++) b.writeFloatLE(d[i], 4 * i);
  return b;
}

/** Integer-valued float32 data as little-endian int64. */
function int64Bytes(name: string, d: Float32Array): Uint8Array {
  const b = Buffer.alloc(8 * d.length);
  for (let i = 0; i < d.length; i++) {
    if (!Number.isInteger(d[i])) throw new RangeError(`tensor '${name}': I64 data must be integers, got ${d[i]}`);
    b.writeBigInt64LE(BigInt(d[i]), 8 * i);
  }
  return b;
}

/** Decodes a safetensors buffer; `file` names it in errors. */
export function decodeSafetensors(buf: Uint8Array, file = 'safetensors data'): Safetensors {
  const n = headerLength(buf, buf.length, file);
  const layout = parseHeader(buf.subarray(8, 8 + n), buf.length - 8 - n, file);
  return decodeTensors(layout, buf.subarray(8 + n), file);
}

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}
interface Layout {
  metadata: Record<string, string>;
  entries: Entry[];
}

function failer(file: string): (problem: string) => never {
  return (problem) => {
    throw new Error(`${file}: ${problem}`);
  };
}

/** The header length from the first 8 bytes of a file of `size` bytes, checked against that size. */
function headerLength(first: Uint8Array, size: number, file: string): number {
  const fail = failer(file);
  if (size < 8) fail(`not a safetensors file: ${size} bytes, shorter than the 8-byte header length`);
  const headerLen = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${headerLen} is over the ${MAX_HEADER_BYTES}-byte limit (corrupt, or not a safetensors file)`);
  }
  const n = Number(headerLen);
  if (n > size - 8) fail(`header length ${n} runs past the end of the file (${size} bytes): truncated or corrupt`);
  return n;
}

/**
 * The header's tensors and metadata, every offset checked against `dataLen`, the real size of
 * the data buffer: tensors must tile it exactly before a byte of it is read.
 */
function parseHeader(headerBytes: Uint8Array, dataLen: number, file: string): Layout {
  const fail = failer(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(header)) fail(`header must be a JSON object, got ${describe(header)}`);

  const metadata: Record<string, string> = Object.create(null);
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isObject(value)) fail(`__metadata__ must be an object of strings, got ${describe(value)}`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__['${k}'] must be a string, got ${describe(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (!isObject(value))
      fail(`${where}: entry must be an object { dtype, shape, data_offsets }, got ${describe(value)}`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_SIZE, dtype))
      fail(`${where}: unknown dtype ${describe(dtype)}`);
    if (!Array.isArray(shape) || shape.some((s) => !Number.isSafeInteger(s) || s < 0)) {
      fail(`${where}: shape must be an array of integers >= 0, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`${where}: data_offsets must be [begin, end], integers >= 0, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] are out of order (begin > end)`);
    if (end > dataLen)
      fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes): truncated`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const bytes = count * ITEM_SIZE[dtype as Dtype];
    if (bytes !== end - begin) {
      fail(
        `${where}: shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${bytes} bytes, data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: dtype as Dtype, shape: shape as number[], begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin < expected)
      fail(
        `tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${expected})`,
      );
    if (e.begin > expected)
      fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${expected}`);
    expected = e.end;
  }
  if (expected !== dataLen) fail(`${dataLen - expected} bytes after the last tensor's data belong to no tensor`);

  return { metadata, entries };
}

/** The tensors of a checked layout, converted to float32 from `data` (the data buffer). */
function decodeTensors({ metadata, entries }: Layout, buffer: Uint8Array, file: string): Safetensors {
  const fail = failer(file);
  const tensors: Record<string, LoadedTensor> = Object.create(null);
  for (const e of entries) {
    const bytes = buffer.subarray(e.begin, e.end);
    let data: Float32Array;
    try {
      data = toFloat32(bytes, e.dtype);
    } catch (err) {
      return fail(`tensor '${e.name}': ${(err as Error).message}`);
    }
    tensors[e.name] = { shape: e.shape, data, dtype: e.dtype };
  }
  return { tensors, metadata };
}

/** Writes float32 tensors to `file` atomically (the previous file survives a failed save). */
export function saveSafetensors(
  file: string,
  tensors: Record<string, TensorData> | ReadonlyMap<string, TensorData>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** The largest file loadSafetensors reads unless given `maxBytes`: 2 GiB. */
export const MAX_SAFETENSORS_BYTES = 2 * 1024 ** 3;
export const LOAD_KEYS = optionKeys<Parameters<typeof loadSafetensors>[1]>()('maxBytes');

/**
 * Reads a safetensors file, converting every tensor to float32. Only a regular file of at most
 * `maxBytes` (default 2 GiB) is read, and its header is read and checked first: the data is read
 * only once the tensors' declared offsets tile exactly the bytes the file holds.
 */
export function loadSafetensors(file: string, options: { maxBytes?: number } = {}): Safetensors {
  checkOptions('loadSafetensors', options, LOAD_KEYS);
  const f = new RegularFile(file, { maxBytes: options.maxBytes ?? MAX_SAFETENSORS_BYTES });
  try {
    const n = headerLength(f.read(0, Math.min(8, f.size)), f.size, file);
    const layout = parseHeader(f.read(8, n), f.size - 8 - n, file);
    return decodeTensors(layout, f.read(8 + n, f.size - 8 - n), file);
  } finally {
    f.close();
  }
}

/** Little-endian elements of `dtype` to float32 (rounding F64, I32, I64, U32, U64 as float32 does). */
function toFloat32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  const size = ITEM_SIZE[dtype];
  const n = bytes.length / size;
  const out = new Float32Array(n);
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(v.getUint16(2 * i, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32 (typed arrays share the platform's byte order).
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = v.getUint16(2 * i, true) << 16;
      break;
    }
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      break;
    case 'U8':
      for (let i = 0; i < n; i++) out[i] = bytes[i];
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = v.getInt8(i);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = v.getInt16(2 * i, true);
      break;
    case 'U16':
      for (let i = 0; i < n; i++) out[i] = v.getUint16(2 * i, true);
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = v.getInt32(4 * i, true);
      break;
    case 'U32':
      for (let i = 0; i < n; i++) out[i] = v.getUint32(4 * i, true);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(v.getBigInt64(8 * i, true));
      break;
    case 'U64':
      for (let i = 0; i < n; i++) out[i] = Number(v.getBigUint64(8 * i, true));
      break;
    default:
      throw new Error(`dtype ${dtype} cannot be converted to float32 (supported: F32, F64, F16, BF16, integers, BOOL)`);
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
