// Reading data files: whole-file reads, transparent gzip, and errors that name the file.

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** Whether the bytes start with the gzip magic number 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Reads `file`, gunzipping it when it starts with 1f 8b (whatever its name). A missing file
 * throws an Error naming it, followed by `hint` when there is one.
 */
export function readMaybeGzip(file: string, hint?: string): Buffer {
  const raw = readFile(file, hint);
  if (!isGzip(raw)) return raw;
  try {
    return zlib.gunzipSync(raw, { chunkSize: 1 << 20 });
  } catch (err) {
    throw new Error(`${file}: corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

export function readFile(file: string, hint?: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw fileError(file, err, hint);
  }
}

export function fileError(file: string, err: unknown, hint?: string): Error {
  const e = err as NodeJS.ErrnoException;
  const what = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory, not a file' : e.message;
  return new Error(`${file}: ${what}${hint ? `. ${hint}` : ''}`);
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
