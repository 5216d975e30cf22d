/**
 * `nodegrad launch --nproc N script.js [args]`: starts N ranks of a script on this machine, like
 * torchrun. Each gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT
 * (a free port unless given), and NODEGRAD_THREADS = cores / N unless set; signals to the launcher reach every rank; when one rank fails the
 * others are stopped and the launcher exits non-zero naming it. Several machines: run it on each
 * with --nnodes, --node-rank and the first machine's --master-addr / --master-port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { UsageError, parseArgs, type CommandSpec, type Parsed } from '../args.js';
import { type Out, requireFile } from '../io.js';

export const spec: CommandSpec = {
  name: 'launch',
  summary:
    'Runs a script as N processes of one data-parallel job (like torchrun): each gets RANK,\n' +
    'WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT, which ng.distributed.init() reads.\n' +
    'If a rank exits non-zero, the others are stopped and launch exits non-zero naming it.',
  usage: 'nodegrad launch --nproc N [options] script.js [script args]',
  positionals: ['script', 'args'],
  options: [
    { name: 'nproc', type: 'int', arg: 'N', min: 1, help: 'processes on this machine (required)' },
    { name: 'nnodes', type: 'int', arg: 'N', min: 1, help: 'machines in the job', defaultText: '1' },
    {
      name: 'node-rank',
      type: 'int',
      arg: 'I',
      min: 0,
      help: "this machine's index: its ranks are I*nproc .. I*nproc+nproc-1",
      defaultText: '0',
    },
    { name: 'master-addr', type: 'string', arg: 'HOST', help: 'host of rank 0', defaultText: '127.0.0.1' },
    {
      name: 'master-port',
      type: 'int',
      arg: 'PORT',
      min: 1,
      max: 65535,
      help: "rank 0's rendezvous port",
      defaultText: 'a free port on one machine, 29500 on several',
    },
    {
      name: 'grace-ms',
      type: 'int',
      arg: 'MS',
      min: 0,
      help: 'after a failure, time the other ranks get after SIGTERM before SIGKILL',
      defaultText: '5000',
    },
  ],
  examples: [
    'nodegrad launch --nproc 4 train.js --epochs 10',
    'nodegrad launch --nnodes 2 --node-rank 0 --nproc 8 --master-addr 10.0.0.1 --master-port 29500 train.js',
  ],
};

const VALUE_OPTIONS = new Set(spec.options.filter((o) => o.type !== 'boolean').map((o) => o.name));

/** Splits argv at the script: launch's options before it, the script's own arguments after. */
export function splitArgs(argv: readonly string[]): { own: string[]; script: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { own: argv.slice(0, i), script: argv[i + 1], rest: argv.slice(i + 2) };
    if (!a.startsWith('-')) return { own: argv.slice(0, i), script: a, rest: argv.slice(i + 1) };
    if (a.startsWith('--') && !a.includes('=') && VALUE_OPTIONS.has(a.slice(2))) i++;
  }
  return { own: [...argv], script: undefined, rest: [] };
}

/** A port free right now on this machine (the kernel's choice), as torchrun picks one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Runs the job; resolves to the launcher's exit code. */
export async function launch(args: Parsed, script: string, scriptArgs: readonly string[], out: Out): Promise<number> {
  const nproc = args.options.nproc as number | undefined;
  if (nproc === undefined) throw new UsageError('--nproc is required', 'launch');
  const nnodes = (args.options.nnodes as number | undefined) ?? 1;
  const nodeRank = (args.options['node-rank'] as number | undefined) ?? 0;
  if (nodeRank >= nnodes)
    throw new UsageError(`--node-rank must be below --nnodes (${nnodes}), got ${nodeRank}`, 'launch');
  const graceMs = (args.options['grace-ms'] as number | undefined) ?? 5000;
  const masterAddr = (args.options['master-addr'] as string | undefined) ?? '127.0.0.1';
  const masterPort = (args.options['master-port'] as number | undefined) ?? (nnodes === 1 ? await freePort() : 29500);
  requireFile(script, 'the script to launch');
  const worldSize = nnodes * nproc;
  // N ranks each with a kernel thread per core would oversubscribe the machine N times (torchrun
  // sets OMP_NUM_THREADS=1 for the same reason): share the cores unless the user chose.
  const threads = process.env.NODEGRAD_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / nproc)));

  return new Promise<number>((resolve) => {
    const children: (ChildProcess | null)[] = [];
    let running = nproc;
    let failure: { rank: number; code: number | null; signal: NodeJS.Signals | null } | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    let received: NodeJS.Signals | null = null;
    const forward = (signal: NodeJS.Signals) => {
      for (const c of children) c?.kill(signal);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      received ??= signal;
      forward(signal);
      // a rank that ignores the signal must not keep the launcher alive
      killTimer ??= setTimeout(() => forward('SIGKILL'), graceMs);
    };
    for (const s of FORWARDED) process.on(s, onSignal);

    for (let local = 0; local < nproc; local++) {
      const rank = nodeRank * nproc + local;
      const child = spawn(process.execPath, [script, ...scriptArgs], {
        stdio: 'inherit',
        env: {
          ...process.env,
          RANK: String(rank),
          WORLD_SIZE: String(worldSize),
          LOCAL_RANK: String(local),
          LOCAL_WORLD_SIZE: String(nproc),
          GROUP_RANK: String(nodeRank),
          MASTER_ADDR: masterAddr,
          MASTER_PORT: String(masterPort),
          NODEGRAD_THREADS: threads,
        },
      });
      children.push(child);
      child.on('exit', (code, signal) => {
        children[local] = null;
        running--;
        if ((code !== 0 || signal !== null) && failure === null && received === null) {
          failure = { rank, code, signal };
          out.note(
            `nodegrad launch: rank ${rank} ${signal !== null ? `was killed by ${signal}` : `exited with code ${code}`}; stopping the other ranks`,
          );
          forward('SIGTERM');
          killTimer = setTimeout(() => forward('SIGKILL'), graceMs);
        }
        if (running > 0) return;
        for (const s of FORWARDED) process.off(s, onSignal);
        if (killTimer !== null) clearTimeout(killTimer);
        // Stopped by a signal: exit as a shell reports one (130 for SIGINT, 143 for SIGTERM).
        if (received !== null) return resolve(128 + os.constants.signals[received]);
        if (failure === null) return resolve(0);
        const f = failure as { rank: number; code: number | null; signal: NodeJS.Signals | null };
        out.note(
          `nodegrad launch: failed: rank ${f.rank} ${f.signal !== null ? `killed by ${f.signal}` : `exit code ${f.code}`}`,
        );
        resolve(f.code !== null && f.code !== 0 ? f.code : 1);
      });
    }
  });
}

/** The CLI entry: parses, then runs the job; the exit code is set when the last rank ends. */
export function run(argv: readonly string[], out: Out): number {
  const { own, script, rest } = splitArgs(argv);
  const args = parseArgs(spec, own);
  if (args.help) return -1;
  if (script === undefined) throw new UsageError('no script given (nodegrad launch --nproc N script.js)', 'launch');
  launch(args, script, rest, out).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      out.note(`nodegrad launch: ${err.message}`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
  return 0;
}
