// Crash-safe file replacement: write a temporary file beside the target, flush it to disk,
// rename it over the target, flush the directory. A reader sees the old file or the new one,
// never a mix; an interrupted or failed write leaves the old file as it was.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type AtomicData = Uint8Array | Iterable<Uint8Array>;

/**
 * Replaces `file` with `data` (a Buffer/Uint8Array, or an iterable of chunks written in order)
 * atomically, synchronously. The temporary file (`.<name>.<pid>-<random>.tmp` in the same
 * directory, so the rename cannot cross file systems) is removed on any error, and the error is
 * rethrown; a file system error names `file`, never the temporary file. An existing target's permission bits are kept. A process killed mid-save cannot
 * remove its temporary file; the next successful save of the same file removes those whose
 * process is no longer running on this machine.
 */
export function writeFileAtomic(file: string, data: AtomicData): void {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  const tmp = path.join(dir, `.${base}.${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
  let mode = 0o666;
  try {
    mode = fs.statSync(file).mode & 0o7777;
  } catch {
    // no existing file: the default mode, less the umask
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode);
    const chunks: Iterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array))
        throw new TypeError('data must be a Uint8Array or an iterable of Uint8Arrays');
      writeAll(fd, chunk);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw nameTarget(err, file, dir);
  }
  fsyncDir(dir);
  removeStaleTemps(dir, base);
}

/**
 * A file system error (ENOSPC, EROFS, EACCES, ...) restated for the file the user named: Node's
 * own message names the temporary file, which the user never asked for and which is gone.
 * Other errors (a failing data iterable, a TypeError) pass through unchanged.
 */
function nameTarget(err: unknown, file: string, dir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') return err;
  const reason = e.message.split(`, ${e.syscall}`)[0]; // "ENOSPC: no space left on device"
  const where = e.code === 'ENOENT' ? ` (directory ${dir})` : '';
  const out = new Error(`${file}: cannot write: ${reason}${where}`) as NodeJS.ErrnoException;
  out.code = e.code;
  out.errno = e.errno;
  out.syscall = e.syscall;
  out.path = file;
  return out;
}

/** Deletes `.<base>.<pid>-<hex>.tmp` files left by processes that no longer run. Best effort. */
function removeStaleTemps(dir: string, base: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length, -4));
    if (m === null || isRunning(Number(m[1]))) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true; // our own save in progress (re-entrant use)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
}

/** Makes the rename itself durable. Some platforms (Windows) cannot open a directory: skip. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort: the data itself is already on disk
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
