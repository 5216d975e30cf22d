// Multi-process training and failures on Gloo over loopback, through `nodegrad launch` and through
// processes started by hand. Every child has a time limit: a hang fails the test, it never stalls it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { isAvailable, glooModulePath } from '../lib/distributed/native.js';

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'nodegrad.js');
const trainScript = path.join(__dirname, 'fixtures', 'distributed', 'train-digits.cjs');
const collectivesScript = path.join(__dirname, 'fixtures', 'distributed', 'collectives.cjs');
const available = isAvailable();
if (!available)
  console.warn(
    `distributed tests skipped: the Gloo module is not built (${glooModulePath()}); ` +
      'apt-get install libgloo-dev && npm run build:distributed',
  );

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  ms: number;
}

/** Starts a child, killed (and the test failed by the caller) after limitMs. */
function start(
  args: string[],
  env: Record<string, string>,
  limitMs: number,
): { child: ChildProcess; result: Promise<Run> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, cwd: root });
  const result = new Promise<Run>((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
  return { child, result };
}

function run(args: string[], env: Record<string, string>, limitMs: number): Promise<Run> {
  return start(args, env, limitMs).result;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-dist-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function params(prefix: string, rank: number): Float32Array[] {
  const { params } = JSON.parse(fs.readFileSync(`${prefix}-rank${rank}.json`, 'utf8')) as { params: string[] };
  return params.map((b) => {
    const bytes = Buffer.from(b, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((t, i) => t.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

describe.skipIf(!available)('data-parallel training on Gloo', () => {
  let single: Float32Array[];
  beforeAll(async () => {
    const r = await run([trainScript, path.join(dir, 'single')], {}, 60_000);
    expect(r.code, r.stderr).toBe(0);
    single = params(path.join(dir, 'single'), 0);
  }, 90_000);

  it.each([2, 4])(
    '%i processes with the same global batch end within 1e-5 of one process after 3 epochs',
    async (n) => {
      const prefix = path.join(dir, `launch${n}`);
      const r = await run([bin, 'launch', '--nproc', String(n), trainScript, prefix], {}, 90_000);
      expect(r.code, r.stderr).toBe(0);
      for (let rank = 0; rank < n; rank++) {
        const p = params(prefix, rank);
        expect(maxDiff(p, single)).toBeLessThan(1e-5);
        // the replicas never drift apart: every rank holds the same bits
        expect(maxDiff(p, params(prefix, 0))).toBe(0);
      }
    },
    120_000,
  );

  it('a seeded 2-process run repeats bit for bit', async () => {
    const again = path.join(dir, 'again');
    const r = await run([bin, 'launch', '--nproc', '2', trainScript, again], {}, 90_000);
    expect(r.code, r.stderr).toBe(0);
    expect(maxDiff(params(again, 0), params(path.join(dir, 'launch2'), 0))).toBe(0);
  }, 120_000);

  it('promise and sync collectives give the right values on 3 ranks, with the event loop free', async () => {
    const r = await run([bin, 'launch', '--nproc', '3', collectivesScript], {}, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^ok$/gm)).toHaveLength(3);
  }, 90_000);

  const rankEnv = (rank: number, port: number, extra: Record<string, string> = {}) => ({
    RANK: String(rank),
    WORLD_SIZE: '2',
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
    DIST_TIMEOUT_MS: '5000',
    KILL_RANK: '1',
    KILL_STEP: '5',
    EPOCHS: '50',
    ...extra,
  });

  it('a rank killed mid-training makes the other fail at once, naming the lost rank', async () => {
    const port = await freePort();
    const [r0, r1] = await Promise.all([
      run([trainScript], rankEnv(0, port), 30_000),
      run([trainScript], rankEnv(1, port), 30_000),
    ]);
    expect(r1.signal).toBe('SIGKILL');
    expect(r0.code).toBe(1);
    expect(r0.stderr).toMatch(/rank 0: allReduce: lost rank 1 \(.*(closed by peer|Connection reset)/);
  }, 60_000);

  it('a hung rank (SIGSTOP) makes the other fail after its 5 s timeout, saying it timed out', async () => {
    const port = await freePort();
    const hung = start([trainScript], rankEnv(1, port, { KILL_SIGNAL: 'SIGSTOP' }), 30_000);
    try {
      const r0 = await run([trainScript], rankEnv(0, port), 30_000);
      expect(r0.code).toBe(1);
      expect(r0.stderr).toMatch(/rank 0: allReduce: timed out after 5000 ms waiting for a peer/);
    } finally {
      hung.child.kill('SIGKILL');
      await hung.result;
    }
  }, 60_000);

  it("rendezvous through Gloo's FileStore: the same training as one process", async () => {
    const store = fs.mkdtempSync(path.join(dir, 'store-'));
    const prefix = path.join(dir, 'filestore');
    const env = (rank: number) => ({ RANK: String(rank), WORLD_SIZE: '2', FILE_STORE: store });
    const rs = await Promise.all([0, 1].map((r) => run([trainScript, prefix], env(r), 90_000)));
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    expect(maxDiff(params(prefix, 0), single)).toBeLessThan(1e-5);
    expect(maxDiff(params(prefix, 1), params(prefix, 0))).toBe(0);
  }, 120_000);

  it('the launcher stops the other ranks and exits non-zero naming the rank that died', async () => {
    const r = await run(
      [bin, 'launch', '--nproc', '3', '--grace-ms', '2000', trainScript],
      { KILL_RANK: '1', KILL_STEP: '5', EPOCHS: '50', GLOBAL_BATCH: '48' },
      30_000,
    );
    expect(r.signal).toBeNull(); // ended by itself, not by the time limit
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nodegrad launch: rank 1 was killed by SIGKILL; stopping the other ranks/);
    expect(r.stderr).toMatch(/nodegrad launch: failed: rank 1 killed by SIGKILL/);
  }, 60_000);

  it('the launcher passes the exit code of a failing rank through', async () => {
    const script = path.join(dir, 'fail.cjs');
    fs.writeFileSync(script, "if (process.env.RANK === '2') process.exit(3); setTimeout(() => {}, 60000);");
    const r = await run([bin, 'launch', '--nproc', '4', '--grace-ms', '1000', script], {}, 30_000);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/rank 2 exited with code 3/);
    expect(r.ms).toBeLessThan(20_000);
  }, 60_000);

  it('forwards SIGTERM to every rank and exits 143', async () => {
    const script = path.join(dir, 'term.cjs');
    fs.writeFileSync(
      script,
      "process.on('SIGTERM', () => { console.log('rank ' + process.env.RANK + ' got SIGTERM'); process.exit(0); });" +
        " console.log('ready'); setInterval(() => {}, 1000);",
    );
    const launcher = start([bin, 'launch', '--nproc', '2', script], {}, 30_000);
    let out = '';
    await new Promise<void>((resolve) =>
      launcher.child.stdout!.on('data', (d) => {
        out += d;
        if ((out.match(/ready/g) ?? []).length === 2) resolve();
      }),
    );
    launcher.child.kill('SIGTERM');
    const r = await launcher.result;
    expect(r.code).toBe(143);
    expect(out + r.stdout).toMatch(/rank 0 got SIGTERM/);
    expect(out + r.stdout).toMatch(/rank 1 got SIGTERM/);
  }, 60_000);

  it('gives each rank its torchrun environment variables', async () => {
    const script = path.join(dir, 'env.cjs');
    fs.writeFileSync(
      script,
      "const e = process.env; console.log([e.RANK, e.WORLD_SIZE, e.LOCAL_RANK, e.LOCAL_WORLD_SIZE, e.MASTER_ADDR, e.MASTER_PORT, process.argv[2]].join(' '));",
    );
    const r = await run(
      [bin, 'launch', '--nnodes', '2', '--node-rank', '1', '--nproc', '2', '--master-port', '29555', script, '--lr'],
      {},
      30_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      '2 4 0 2 127.0.0.1 29555 --lr',
      '3 4 1 2 127.0.0.1 29555 --lr',
    ]);
  }, 60_000);
});
