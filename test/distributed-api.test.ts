// ng.distributed in one process: argument and configuration errors (each within its time limit),
// the sampler's sharding, and the error that says what to install when Gloo's module is absent.
import { describe, it, expect, afterEach } from 'vitest';
import * as net from 'node:net';
import * as ng from '../lib/index.js';
import { isAvailable, loadGloo, glooModulePath } from '../lib/distributed/native.js';

const d = ng.distributed;
const available = isAvailable();
if (!available) console.warn(`Gloo module tests skipped: not built (${glooModulePath()}); npm run build:distributed`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

afterEach(async () => {
  if (d.isInitialized()) await d.destroy();
});

describe('init: configuration errors before any connection', () => {
  const base = { masterAddr: '127.0.0.1', masterPort: 29500 };
  it('refuses world size 0', async () => {
    await expect(d.init({ ...base, rank: 0, worldSize: 0 })).rejects.toThrow(
      /init: worldSize must be an integer >= 1, got 0/,
    );
  });
  it('refuses a rank >= world size', async () => {
    await expect(d.init({ ...base, rank: 2, worldSize: 2 })).rejects.toThrow(
      /rank must be in \[0, worldSize\) = \[0, 2\), got 2/,
    );
  });
  it('reads RANK and WORLD_SIZE and names the variable when one is wrong', async () => {
    process.env.WORLD_SIZE = 'four';
    try {
      await expect(d.init({ ...base, rank: 0 })).rejects.toThrow(
        /WORLD_SIZE \(worldSize\) must be an integer >= 1, got 'four'/,
      );
    } finally {
      delete process.env.WORLD_SIZE;
    }
  });
  it('asks for what is missing', async () => {
    const saved = process.env.RANK;
    delete process.env.RANK;
    try {
      await expect(d.init({ ...base, worldSize: 2 })).rejects.toThrow(/rank is required \(pass it, or set the RANK/);
    } finally {
      if (saved !== undefined) process.env.RANK = saved;
    }
  });
  it('checks its options object', async () => {
    await expect(d.init({ ...base, rank: 0, worldSize: 1, world_size: 1 } as never)).rejects.toThrow(
      /unknown option 'world_size' for init: did you mean 'worldSize'\?/,
    );
  });
  it('fit({ distributed: true }) before init says so', () => {
    const train = ng.loadDigits().subset([0, 1, 2, 3]);
    const model = new ng.nn.Sequential(new ng.nn.Linear(64, 10));
    expect(() => ng.fit(model, { train, epochs: 1, progress: false, distributed: true })).toThrow(
      /DistributedDataParallel: the process group is not initialised/,
    );
  });
  it('collectives before init say so', () => {
    expect(() => d.allReduceSync(new Float32Array(1))).toThrow(
      /not initialised \(call ng.distributed.init\(\) first\)/,
    );
  });
});

describe.skipIf(!available)('init and collectives against the Gloo module', () => {
  it('a port in use is named within the timeout', async () => {
    const server = net.createServer();
    const port = await new Promise<number>((r) =>
      server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)),
    );
    try {
      await expect(
        d.init({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 2000 }),
      ).rejects.toThrow(new RegExp(`port ${port} on 127.0.0.1 is in use`));
    } finally {
      server.close();
    }
  });

  it('an unreachable master fails after timeoutMs, naming the address', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(
      d.init({ rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 1000 }),
    ).rejects.toThrow(new RegExp(`could not reach the master's store at 127.0.0.1:${port} within 1000 ms`));
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('rank 0 names the ranks that never joined', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(
      d.init({ rank: 0, worldSize: 3, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 1000 }),
    ).rejects.toThrow(/rendezvous timed out: rank 1 did not join within \d+ ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(d.isInitialized()).toBe(false);
  });

  it('a world of one: collectives leave the data as it is', async () => {
    await d.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort() });
    expect([d.getRank(), d.getWorldSize()]).toEqual([0, 1]);
    const x = new Float32Array([1, 2, 3]);
    expect(await d.allReduce(x, 'mean')).toEqual(new Float32Array([1, 2, 3]));
    expect(await d.broadcast(x, 0)).toBe(x);
    await d.barrier();
    await expect(d.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 1 })).rejects.toThrow(
      /already initialised/,
    );
  });

  it('a promise collective whose array is transferred meanwhile rejects and writes nothing', async () => {
    await d.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort() });
    const x = new Float32Array([1, 2, 3]);
    const pending = d.allReduce(x, 'sum');
    const moved = new Float32Array(structuredClone(x.buffer, { transfer: [x.buffer] }));
    await expect(pending).rejects.toThrow(/allReduce: data was detached or resized while the collective ran/);
    expect(moved).toEqual(new Float32Array([1, 2, 3]));
    const y = new Float32Array([4, 5]);
    const b = d.broadcast(y, 0);
    structuredClone(y.buffer, { transfer: [y.buffer] });
    await expect(b).rejects.toThrow(/broadcast: data was detached/);
    expect(await d.allReduce(new Float32Array([7]), 'sum')).toEqual(new Float32Array([7]));
  });

  it('checks the collectives arguments', async () => {
    await d.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort() });
    expect(() => d.allReduce(new Int32Array(2) as never)).toThrow(TypeError);
    expect(() => d.allReduce(new Float32Array(2), 'avg' as never)).toThrow(/op must be one of 'sum', 'mean'/);
    expect(() => d.broadcastSync(new Float32Array(2), 1)).toThrow(/root must be an integer in \[0, 1\), got 1/);
  });

  it('fit({ distributed: true }) in a world of one trains exactly as fit without it', async () => {
    const all = ng.loadDigits();
    const train = all.subset(Array.from({ length: 256 }, (_, i) => i));
    const trainOnce = (distributed: boolean) => {
      ng.manualSeed(3);
      const model = new ng.nn.Sequential(new ng.nn.Linear(64, 32), new ng.nn.ReLU(), new ng.nn.Linear(32, 10));
      const history = ng.fit(model, { train, epochs: 2, batchSize: 32, seed: 11, progress: false, distributed });
      return { params: model.parameters().map((p) => Array.from(p.data)), losses: history.epochs.map((e) => e.loss) };
    };
    const plain = trainOnce(false);
    await d.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort() });
    expect(trainOnce(true)).toEqual(plain);
  });

  it('the native boundary checks every argument itself', () => {
    const { ProcessGroup } = loadGloo();
    expect(() => new ProcessGroup(2, 2, 1000)).toThrow(/ProcessGroup: rank must be an integer in \[0, 1\], got 2/);
    expect(() => new ProcessGroup(0, 0, 1000)).toThrow(/worldSize must be an integer in \[1,/);
    expect(() => new ProcessGroup(0, 1, -5)).toThrow(RangeError);
    expect(() => new (ProcessGroup as never as new () => unknown)()).toThrow(TypeError);
    const g = new ProcessGroup(0, 2, 1000);
    expect(() => g.allReduceSync(new Float32Array(1), 'sum')).toThrow(/allReduce: the process group was destroyed/);
    expect(() => g.allReduceSync(new Float64Array(1) as never, 'sum')).toThrow(
      /allReduceSync: data must be a Float32Array/,
    );
    expect(() => g.broadcastSync(new Float32Array(1), 2)).toThrow(/broadcastSync: root must be an integer in \[0, 1\]/);
    expect(() => g.connect({ host: 'localhost', port: 70000 })).toThrow(/port must be an integer in \[1, 65535\]/);
    g.close();
  });
});

describe('DistributedSampler', () => {
  const shards = (n: number, world: number, opts: object = {}) =>
    Array.from({ length: world }, (_, rank) => {
      const s = new d.DistributedSampler(n, { worldSize: world, rank, seed: 5, ...opts });
      s.setEpoch(3);
      return Array.from(s.indices());
    });

  it("deals the single-process loader's epoch order round-robin", () => {
    const n = 20;
    const ds = new ng.Dataset({ x: Float32Array.from({ length: n }, (_, i) => i), y: new Int32Array(n), shape: [1] });
    const loader = new ng.DataLoader(ds, { batchSize: n, shuffle: true, seed: 5 });
    let order: number[] = [];
    for (let e = 0; e <= 3; e++) for (const b of loader) order = Array.from(b.x);
    const [a, b] = shards(n, 2);
    expect(a).toEqual(order.filter((_, i) => i % 2 === 0));
    expect(b).toEqual(order.filter((_, i) => i % 2 === 1));
  });

  it('pads with the first samples so every rank gets as many, or drops the tail', () => {
    const padded = shards(10, 4);
    expect(padded.map((s) => s.length)).toEqual([3, 3, 3, 3]);
    expect(new Set(padded.flat()).size).toBe(10);
    const dropped = shards(10, 4, { dropLast: true });
    expect(dropped.map((s) => s.length)).toEqual([2, 2, 2, 2]);
    expect(new Set(dropped.flat()).size).toBe(8);
  });

  it('draws a new order each epoch, the same for the same seed', () => {
    const s = new d.DistributedSampler(50, { worldSize: 2, rank: 0, seed: 1 });
    const e0 = Array.from(s.indices());
    s.setEpoch(1);
    expect(Array.from(s.indices())).not.toEqual(e0);
    s.setEpoch(0);
    expect(Array.from(s.indices())).toEqual(e0);
  });

  it('refuses a bad rank and needs one without a process group', () => {
    expect(() => new d.DistributedSampler(10, { worldSize: 2, rank: 2 })).toThrow(
      /rank must be an integer in \[0, 2\), got 2/,
    );
    expect(() => new d.DistributedSampler(10)).toThrow(
      /worldSize is required when the process group is not initialised/,
    );
    expect(() => new d.DistributedSampler(10, { world_size: 2 } as never)).toThrow(/did you mean 'worldSize'/);
  });

  it('DistributedLoader: batches of the shard, equal steps on every rank, state() like DataLoader', () => {
    const n = 30;
    const ds = new ng.Dataset({ x: Float32Array.from({ length: n }, (_, i) => i), y: new Int32Array(n), shape: [1] });
    const loaders = [0, 1, 2].map(
      (rank) => new d.DistributedLoader(ds, { batchSize: 4, shuffle: true, seed: 9, worldSize: 3, rank }),
    );
    expect(loaders.map((l) => l.length)).toEqual([3, 3, 3]);
    const seen: number[] = [];
    for (const l of loaders) for (const b of l) seen.push(...b.x);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(loaders[0].state()).toEqual({ seed: 9, epoch: 1, batch: 0 });
    const resumed = new d.DistributedLoader(ds, { batchSize: 4, shuffle: true, seed: 9, worldSize: 3, rank: 0 });
    resumed.setState({ seed: 9, epoch: 1, batch: 1 });
    const rest = [...resumed].map((b) => Array.from(b.x));
    const full = [...loaders[0]].map((b) => Array.from(b.x));
    expect(rest).toEqual(full.slice(1));
  });
});

describe('without the Gloo module', () => {
  it('init says what to install and which command builds it', async () => {
    const saved = process.env.NODEGRAD_GLOO_ADDON;
    process.env.NODEGRAD_GLOO_ADDON = '/nonexistent/nodegrad_gloo.node';
    try {
      await expect(d.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500 })).rejects.toThrow(
        /apt-get install libgloo-dev.*npm run build:distributed/,
      );
    } finally {
      if (saved === undefined) delete process.env.NODEGRAD_GLOO_ADDON;
      else process.env.NODEGRAD_GLOO_ADDON = saved;
    }
  });
});
