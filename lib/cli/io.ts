/** The CLI's output: streams, one-line errors, files it checks or writes, and number formats. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { UsageError } from './args.js';

export interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: Stream;
  stderr: Stream;
  /** Reads all of standard input (for `--input -`); default fs.readFileSync(0). */
  readStdin?: () => string;
}

/** Prints lines to stdout / stderr. */
export class Out {
  constructor(readonly io: Io) {}
  line(s = ''): void {
    this.io.stdout.write(`${s}\n`);
  }
  json(obj: unknown): void {
    this.io.stdout.write(`${JSON.stringify(obj)}\n`);
  }
  note(s: string): void {
    this.io.stderr.write(`${s}\n`);
  }
}

/** An error the user can fix (a missing file, data that is not there): one line, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}

export function requireFile(file: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new CliError(`${file}: file not found (${what})`);
  }
  if (st.isDirectory()) throw new CliError(`${file}: is a directory, not a file (${what})`);
}

/** A file named on the command line, and what names it (`--plot`, `the model file (--out)`). */
export interface NamedPath {
  what: string;
  file: string;
}

/** The same string for two names of one file: device and inode when it exists, else its resolved path. */
function fileIdentity(file: string): string {
  try {
    const st = fs.statSync(file);
    return `inode ${st.dev}:${st.ino}`;
  } catch {
    const dir = path.dirname(path.resolve(file));
    let real = dir;
    try {
      real = fs.realpathSync(dir);
    } catch {
      // the directory is created later: its resolved name is all there is to compare
    }
    return `path ${path.join(real, path.basename(file))}`;
  }
}

/**
 * Refuses, as a usage error, an output that is another output or one of the inputs (through a
 * symlink, a hard link or `./`): the later write would replace the other file with exit 0.
 * `allow(output, input)` names a pair that is meant to be one file (resume into the checkpoint).
 */
export function refuseCollisions(
  command: string,
  outputs: readonly NamedPath[],
  inputs: readonly NamedPath[],
  allow: (output: NamedPath, input: NamedPath) => boolean = () => false,
): void {
  const seen: { p: NamedPath; id: string; output: boolean }[] = [];
  const check = (p: NamedPath, output: boolean): void => {
    const id = fileIdentity(p.file);
    for (const q of seen) {
      if (q.id !== id || (!output && !q.output)) continue;
      const [o, i] = q.output ? [q.p, p] : [p, q.p];
      if (!output && allow(o, i)) continue;
      throw new UsageError(
        `${q.p.what} and ${p.what} are the same file (${p.file}): writing one would overwrite the other`,
        command,
      );
    }
    seen.push({ p, id, output });
  };
  for (const o of outputs) check(o, true);
  for (const i of inputs) check(i, false);
}

/** Writes text to `file`, creating its directory. */
export function writeText(file: string, text: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(file, Buffer.from(text)); // a failed write (a full disk) leaves the old file whole
}

export function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

export function int(n: number): string {
  return n.toLocaleString('en-US');
}

export function seconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}
