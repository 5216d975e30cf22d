/** The CLI's output: streams, one-line errors, files it checks or writes, and number formats. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';

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
