/**
 * Training progress: a live bar on a terminal, one plain line per epoch elsewhere, JSON lines
 * for machines, or nothing.
 */
import type { EpochRecord, StepInfo } from './record.js';

export type { StepInfo };
/**
 * How fit reports progress: 'auto' (a bar on a terminal, a line an epoch otherwise), 'bar', 'lines', 'json' (one JSON
 * object a line), or 'silent'.
 */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'json' | 'silent';

export interface Progress {
  step(info: StepInfo): void;
  epoch(record: EpochRecord, epochs: number): void;
  message(text: string): void;
}

/** Where progress goes: process.stderr or anything with its write (and isTTY, columns). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function makeProgress(
  mode: ProgressMode | boolean | undefined,
  stream: ProgressStream = process.stderr,
): Progress {
  let m: ProgressMode;
  if (mode === false) m = 'silent';
  else if (mode === undefined || mode === true || mode === 'auto') m = stream.isTTY ? 'bar' : 'lines';
  else m = mode;
  switch (m) {
    case 'silent':
      return { step() {}, epoch() {}, message() {} };
    case 'json':
      return {
        step() {},
        epoch(r) {
          stream.write(`${JSON.stringify({ event: 'epoch', ...r })}\n`);
        },
        message(text) {
          stream.write(`${JSON.stringify({ event: 'message', text })}\n`);
        },
      };
    case 'lines':
      return {
        step() {},
        epoch(r, epochs) {
          stream.write(`${epochLine(r, epochs)}\n`);
        },
        message(text) {
          stream.write(`${text}\n`);
        },
      };
    case 'bar':
      return barProgress(stream);
    default:
      throw new RangeError(`progress must be 'auto', 'bar', 'lines', 'json' or 'silent', got '${String(mode)}'`);
  }
}

function barProgress(stream: ProgressStream): Progress {
  let last = 0;
  let drawn = false;
  const clear = (): void => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    step(s) {
      const now = Date.now();
      if (now - last < 100 && s.step !== s.steps) return;
      last = now;
      const width = 24;
      const filled = Math.round((width * s.step) / s.steps);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const text =
        `epoch ${pad(s.epoch, s.epochs)}/${s.epochs} ${bar} ${pad(s.step, s.steps)}/${s.steps}` +
        `  loss ${s.loss.toFixed(4)}${Number.isNaN(s.accuracy) ? '' : `  acc ${(100 * s.accuracy).toFixed(1)}%`}  ${formatRate(s.samplesPerSecond)} samples/s`;
      const cols = stream.columns ?? 120;
      stream.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
      drawn = true;
    },
    epoch(r, epochs) {
      clear();
      stream.write(`${epochLine(r, epochs)}\n`);
    },
    message(text) {
      clear();
      stream.write(`${text}\n`);
    },
  };
}

function pad(n: number, of: number): string {
  return String(n).padStart(String(of).length);
}

export function formatRate(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

/** `epoch  3/12  loss 0.4123  acc 85.21%  val_loss 0.4410  val_acc 84.10%  lr 1e-3  98,000 samples/s  0.6 s` */
export function epochLine(r: EpochRecord, epochs: number): string {
  const parts = [`epoch ${pad(r.epoch, epochs)}/${epochs}`, `loss ${r.loss.toFixed(4)}`];
  // A regression run has no accuracy (NaN).
  if (!Number.isNaN(r.accuracy)) parts.push(`acc ${(100 * r.accuracy).toFixed(2)}%`);
  if (r.valLoss !== undefined) parts.push(`val_loss ${r.valLoss.toFixed(4)}`);
  if (r.valAccuracy !== undefined) parts.push(`val_acc ${(100 * r.valAccuracy).toFixed(2)}%`);
  parts.push(`lr ${formatLr(r.lr)}`, `${formatRate(r.samplesPerSecond)} samples/s`, `${r.seconds.toFixed(1)} s`);
  return parts.join('  ');
}

function formatLr(lr: number): string {
  return lr === 0 ? '0' : Number(lr.toPrecision(3)).toString();
}
