// Reading a user-given file with a bound on what it can cost: only regular files (a device such
// as /dev/zero never ends, a FIFO blocks until someone writes to it), and never more than a
// stated number of bytes. Every error names the file.

import * as fs from 'node:fs';

/** The most a reader takes from one file unless told otherwise: 512 MiB. */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

export interface ReadOptions {
  /** Refuse files larger than this many bytes (default DEFAULT_MAX_BYTES). */
  maxBytes?: number;
  /** Appended to a "file not found" message (where to get the file). */
  hint?: string;
}

/** The message for a failed open or read: what the user can act on, naming the file. */
export function fileError(file: string, err: unknown, hint?: string): Error {
  const e = err as NodeJS.ErrnoException;
  const what = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory, not a file' : e.message;
  return new Error(`${file}: ${what}${hint ? `. ${hint}` : ''}`);
}

/** Throws unless `maxBytes` is a usable limit; `name` is the option's name in the message. */
export function checkMaxBytes(maxBytes: number, name = 'maxBytes'): number {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError(`${name} must be an integer >= 0, got ${maxBytes}`);
  return maxBytes;
}

/** "512 MiB" for the limits in messages; exact bytes when not a whole number of units. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

/**
 * An open descriptor on a regular file and its size. O_NONBLOCK keeps a FIFO's open from
 * waiting for a writer, so it can be refused; on a regular file the flag changes nothing.
 */
function openRegular(file: string, hint?: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw fileError(file, err, hint);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new Error(`${file}: is a directory, not a file`);
    if (!st.isFile())
      throw new Error(`${file}: not a regular file (a device, FIFO or socket); nodegrad reads only regular files`);
    return { fd, size: st.size };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** All of `file`, after checking that it is a regular file of at most `maxBytes` bytes. */
export function readRegularFile(file: string, options: ReadOptions = {}): Buffer {
  const f = new RegularFile(file, options);
  try {
    return f.read(0, f.size);
  } finally {
    f.close();
  }
}

/**
 * A regular file of at most `maxBytes` bytes, held open for reads at given positions (a header
 * first, then what it declares), so it cannot be swapped between the checks and the reads.
 */
export class RegularFile {
  readonly size: number;
  private readonly fd: number;

  constructor(
    readonly file: string,
    options: ReadOptions = {},
  ) {
    const maxBytes = checkMaxBytes(options.maxBytes ?? DEFAULT_MAX_BYTES);
    ({ fd: this.fd, size: this.size } = openRegular(file, options.hint));
    if (this.size > maxBytes) {
      this.close();
      throw new Error(
        `${file}: ${this.size} bytes is over the ${formatBytes(maxBytes)} limit on what nodegrad reads from one file`,
      );
    }
  }

  read(position: number, length: number): Buffer {
    return readExactly(this.fd, this.file, position, length);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** `length` bytes from `position`; a file that shrank while being read is an error, not a short buffer. */
function readExactly(fd: number, file: string, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  try {
    while (off < length) {
      const n = fs.readSync(fd, buf, off, length - off, position + off);
      if (n === 0)
        throw new Error(
          `${file}: changed size while being read (ended after ${position + off} bytes, expected ${position + length})`,
        );
      off += n;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw fileError(file, err);
    throw err;
  }
  return buf;
}

/** A text file (UTF-8), regular and within `maxBytes`: what the CLI reads for --input. */
export function readTextFile(file: string, options: ReadOptions = {}): string {
  return readRegularFile(file, options).toString('utf8');
}
