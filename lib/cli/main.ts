/**
 * The nodegrad command line: `nodegrad <command> [options]`.
 *
 *   main(argv, io) -> exit code: 0 done, 1 an error (missing file, corrupt data, diverged
 *   training: one line, stack with NODEGRAD_DEBUG=1), 2 a usage error (unknown flag, bad value).
 *
 * Synchronous: training runs on the calling thread, and output goes to io.stdout / io.stderr
 * (process.stdout / process.stderr by default), so tests run it in-process.
 */
import { BackendConfigError, chooseBackend, version } from '../index.js';
import { UsageError, helpText, parseArgs, suggest, type CommandSpec, type Parsed } from './args.js';
import { Out, type Io } from './io.js';
import * as train from './commands/train.js';
import * as evalCmd from './commands/eval.js';
import * as predict from './commands/predict.js';
import * as info_ from './commands/info.js';
import * as bench from './commands/bench.js';
import * as lrSweep from './commands/lr-sweep.js';
import * as graph from './commands/graph.js';
import * as exportCmd from './commands/export.js';
import * as launchCmd from './commands/launch.js';

export type { Io } from './io.js';

interface Command {
  spec: CommandSpec;
  run(args: Parsed, out: Out): number;
  /**
   * notice: runs tensor kernels, so a fallback from native concerns it; silent: chooses a
   * backend but reports the choice itself (info); none: runs no kernels.
   */
  backend: 'notice' | 'silent' | 'none';
}

const COMMANDS: Record<string, Command> = {
  train: { ...train, backend: 'notice' },
  eval: { ...evalCmd, backend: 'notice' },
  predict: { ...predict, backend: 'notice' },
  'lr-sweep': { ...lrSweep, backend: 'notice' },
  export: { ...exportCmd, backend: 'notice' },
  graph: { ...graph, backend: 'none' },
  bench: { ...bench, backend: 'notice' },
  info: { ...info_, backend: 'silent' },
};

const SUMMARIES: Record<string, string> = {
  train: 'train a classifier; writes model.safetensors and training.svg',
  eval: "a saved model's loss and accuracy on a test split",
  predict: 'classify the rows of a CSV file with a saved model',
  'lr-sweep': 'short runs at several learning rates, all loss curves in one plot',
  export: 'a saved model as an ONNX file (onnxruntime and other runtimes)',
  graph: 'forward and backward through an expression, drawn as SVG',
  bench: 'native vs TypeScript backend speed on this machine',
  info: 'version, backend, SIMD path, threads, where the native binary came from',
  launch: 'run a script as N data-parallel processes (like torchrun)',
};

function mainHelp(): string {
  return [
    'Usage: nodegrad <command> [options]',
    '',
    'Train neural networks in Node.js.',
    '',
    'Commands:',
    ...[...Object.keys(COMMANDS), 'launch'].map((c) => `  ${c.padEnd(10)} ${SUMMARIES[c]}`),
    '',
    'Options:',
    "  -h, --help       show this help (or a command's: nodegrad train --help)",
    '  -v, --version    print the version',
    '',
    "Run 'nodegrad <command> --help' for a command's options.",
    'Environment: NODEGRAD_BACKEND=native|ts picks the backend; NODEGRAD_DEBUG=1 shows stack traces.',
    '',
  ].join('\n');
}

/**
 * Makes the backend choice before a command runs, so a bad NODEGRAD_BACKEND, NODEGRAD_SIMD or
 * NODEGRAD_THREADS fails before any work, and says once, in one line of the CLI's own, when the
 * choice fell back from the native backend. The library's process warning is switched off for
 * this choice rather than filtered, so the process's warning listeners stay as they are.
 */
let noticeShown = false;

function chooseBackendOnce(out: Out, cmd: Command, args: Parsed): void {
  if (cmd.backend === 'none' || args.options.backend !== undefined) return; // none used, or chosen by --backend
  const fallback = chooseBackend({ warn: false });
  if (fallback === null || cmd.backend === 'silent' || noticeShown) return;
  noticeShown = true;
  const to = fallback.to === 'ts' ? 'TypeScript' : fallback.to === 'wasm' ? 'WebAssembly' : fallback.to;
  out.note(
    `nodegrad: ${fallback.from} backend unavailable (${fallback.reason}); using the ${to} backend (same results, slower)`,
  );
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/^nodegrad: /, '');
}

export function main(argv: readonly string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): number {
  const out = new Out(io);
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '--help' || first === '-h') {
      out.io.stdout.write(mainHelp());
      return 0;
    }
    if (first === '--version' || first === '-v' || first === 'version') {
      out.line(version());
      return 0;
    }
    if (first === 'help') {
      const c = rest[0];
      if (c === undefined) out.io.stdout.write(mainHelp());
      else if (Object.hasOwn(COMMANDS, c)) out.io.stdout.write(helpText(COMMANDS[c].spec));
      else if (c === 'launch') out.io.stdout.write(helpText(launchCmd.spec));
      else throw new UsageError(`unknown command '${c}'${suggest(c, Object.keys(COMMANDS), '')}`, '');
      return 0;
    }
    if (first.startsWith('-'))
      throw new UsageError(`unknown option ${first} (a command comes first: nodegrad train ${first} ...)`, '');
    // launch's arguments after the script are the script's own, so it parses them itself; it
    // returns before the ranks end, and sets process.exitCode when they do.
    if (first === 'launch') {
      if (launchCmd.run(rest, out) === -1) out.io.stdout.write(helpText(launchCmd.spec));
      return 0;
    }
    if (!Object.hasOwn(COMMANDS, first))
      throw new UsageError(`unknown command '${first}'${suggest(first, [...Object.keys(COMMANDS), 'launch'], '')}`, '');
    const cmd = COMMANDS[first];
    const args = parseArgs(cmd.spec, rest);
    if (args.help) {
      out.io.stdout.write(helpText(cmd.spec));
      return 0;
    }
    chooseBackendOnce(out, cmd, args);
    return cmd.run(args, out);
  } catch (err) {
    if (err instanceof UsageError) {
      out.note(`nodegrad: ${err.message}`);
      out.note(err.command ? `Run 'nodegrad ${err.command} --help' for usage.` : "Run 'nodegrad --help' for usage.");
      return 2;
    }
    if (err instanceof BackendConfigError) {
      // An environment variable the user set (NODEGRAD_BACKEND=bogus): a usage error, one line.
      out.note(`nodegrad: ${firstLine(err.message)}`);
      return 2;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    out.note(`nodegrad: ${firstLine(e.message)}`);
    if (process.env.NODEGRAD_DEBUG === '1' && e.stack) out.note(e.stack);
    return 1;
  }
}
