// Reading data files: whole-file reads, transparent gzip, and errors that name the file. Every
// read is bounded: only regular files, at most `maxBytes` read, at most `maxBytes` (or what the
// format's header declares) decompressed, so a gzip bomb is refused before it fills memory.

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import {
  DEFAULT_MAX_BYTES,
  checkMaxBytes,
  fileError,
  formatBytes,
  readRegularFile,
  type ReadOptions,
} from '../io/read.js';

export { DEFAULT_MAX_BYTES, fileError };
export type { ReadOptions };

/** Whether the bytes start with the gzip magic number 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** How many decompressed bytes `declaredSize` is shown: enough for any IDX header (4 + 4 x 255). */
const HEAD_BYTES = 1024;

export interface GzipReadOptions extends ReadOptions {
  /**
   * The whole decompressed size the format's header declares, from the first (up to 1,024)
   * decompressed bytes; undefined when the head does not say. Decompression stops just past it.
   */
  declaredSize?: (head: Buffer) => number | undefined;
}

/**
 * Reads `file`, gunzipping it when it starts with 1f 8b (whatever its name). Refuses files that
 * are not regular, that hold more than `maxBytes`, or that decompress to more than `maxBytes`
 * or than their header declares. A missing file throws an Error naming it, then the hint.
 */
export function readMaybeGzip(file: string, options: GzipReadOptions = {}): Buffer {
  const maxBytes = checkMaxBytes(options.maxBytes ?? DEFAULT_MAX_BYTES);
  const raw = readRegularFile(file, { maxBytes, hint: options.hint });
  if (!isGzip(raw)) return raw;
  let limit = maxBytes;
  let limitText = `the ${formatBytes(maxBytes)} limit on what nodegrad reads from one file`;
  const head = options.declaredSize && gunzipHead(raw, HEAD_BYTES);
  const declared = head ? options.declaredSize!(head) : undefined;
  if (declared !== undefined && declared < limit) {
    limit = declared;
    limitText = `the ${declared} bytes its header declares`;
  }
  try {
    // One byte of slack, so that data running past a declared size is told apart from data that ends there.
    return zlib.gunzipSync(raw, { chunkSize: 1 << 20, maxOutputLength: limit + 1 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`${file}: decompresses to more than ${limitText} (a corrupt file or a gzip bomb)`);
    }
    throw new Error(`${file}: corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

/**
 * At least the first `n` decompressed bytes (fewer if the data holds fewer), undefined when they
 * cannot be had cheaply. Inflates growing prefixes of the compressed data: deflate expands at
 * most ~1,032:1, so no attempt produces more than ~68 MB however hostile the data.
 */
function gunzipHead(raw: Buffer, n: number): Buffer | undefined {
  for (let k = 1024; k <= 65536; k *= 4) {
    let out: Buffer;
    try {
      out = zlib.gunzipSync(raw.subarray(0, k), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return undefined; // corrupt: the full decompression reports it
    }
    if (out.length >= n || k >= raw.length) return out;
  }
  return undefined;
}

/** All of a regular file of at most `maxBytes` (default 512 MiB). */
export function readFile(file: string, hint?: string, maxBytes?: number): Buffer {
  return readRegularFile(file, { hint, maxBytes });
}

/** The first of `candidates` that exists, or an Error listing them all. */
export function findFile(candidates: readonly string[], hint?: string): string {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  const list = candidates.join(' or ');
  return fail(`${list}: file not found${hint ? `. ${hint}` : ''}`);
}

function fail(message: string): never {
  throw new Error(message);
}

/** float32(v / 255) for every byte value: one table lookup a pixel, same rounding as a division. */
export const BYTE_TO_UNIT: Float32Array = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Zeroed arrays on SharedArrayBuffers: what the loaders fill, so that `fitInWorker` and
 * `shareDataset` hand a loaded data set to workers without copying it (a copy of Fashion-MNIST's
 * 188 MB blocked the event loop for over half a second). They read and write like any array.
 */
export function sharedFloat32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * n));
}

export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}
