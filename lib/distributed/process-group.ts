/**
 * torch.distributed on Gloo, for Float32Arrays: init (rendezvous through rank 0's TCP store or
 * Gloo's FileStore), allReduce / broadcast / barrier as promises run off the event loop, their
 * synchronous twins for synchronous training loops (fit), and destroy.
 */
import { checkChoice, checkOptions, optionKeys, quote } from '../options.js';
import { loadGloo, type NativeGroup } from './native.js';
import { StoreServer } from './store.js';

/** Options of init(); each one left out is read from torchrun's environment variable. */
export interface InitOptions {
  /** This process's rank in [0, worldSize). @defaultValue the RANK environment variable */
  rank?: number;
  /** Number of processes. @defaultValue the WORLD_SIZE environment variable */
  worldSize?: number;
  /** Host of rank 0, which serves the rendezvous store. @defaultValue the MASTER_ADDR environment variable */
  masterAddr?: string;
  /** Port of rank 0's rendezvous store. @defaultValue the MASTER_PORT environment variable */
  masterPort?: number;
  /**
   * Time limit of the rendezvous and of every collective: a rank that does not join, or a peer
   * that stops answering, fails the call after it. @defaultValue 30000
   */
  timeoutMs?: number;
  /**
   * Rendezvous through Gloo's FileStore in this directory (one machine, or a shared file
   * system) instead of rank 0's TCP store; it must be empty or unused by any other run.
   * @defaultValue none: the TCP store at masterAddr:masterPort
   */
  fileStore?: string;
  /**
   * The network interface the ranks' connections use (`eth0`). @defaultValue the
   * GLOO_SOCKET_IFNAME environment variable, else 127.0.0.1 for a loopback master and this
   * machine's hostname otherwise
   */
  iface?: string;
}
const INIT_KEYS = optionKeys<InitOptions>()(
  'rank',
  'worldSize',
  'masterAddr',
  'masterPort',
  'timeoutMs',
  'fileStore',
  'iface',
);

/** Reductions of allReduce (torch.distributed.ReduceOp): 'mean' divides the sum by the world size. */
export type ReduceOp = 'sum' | 'mean' | 'product' | 'min' | 'max';
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'product', 'min', 'max'];

interface State {
  native: NativeGroup;
  rank: number;
  worldSize: number;
  /** The last queued async collective: the next one waits for it (one at a time, in call order). */
  tail: Promise<unknown>;
}
let state: State | null = null;

/** An integer option, or its environment variable; a RangeError naming both when neither is right. */
function intSetting(name: string, value: number | undefined, env: string, min: number): number {
  let v: unknown = value;
  let from = name;
  if (v === undefined) {
    const raw = process.env[env];
    if (raw === undefined || raw === '')
      throw new TypeError(`init: ${name} is required (pass it, or set the ${env} environment variable)`);
    v = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
    from = `${env} (${name})`;
  }
  if (typeof v === 'string') throw new RangeError(`init: ${from} must be an integer >= ${min}, got ${quote(v)}`);
  if (typeof v !== 'number') throw new TypeError(`init: ${from} must be a number, got ${quote(v)}`);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`init: ${from} must be an integer >= ${min}, got ${v}`);
  return v;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

/**
 * Joins the process group (torch.distributed.init_process_group with the gloo backend): resolves
 * once every rank has joined and all are connected, rejects after timeoutMs naming the ranks that
 * did not join or the master it could not reach. Rank 0 serves the rendezvous store.
 */
export async function init(options: InitOptions = {}): Promise<void> {
  checkOptions('init', options, INIT_KEYS);
  if (state !== null) throw new Error('init: the process group is already initialised (call destroy() first)');
  const worldSize = intSetting('worldSize', options.worldSize, 'WORLD_SIZE', 1);
  const rank = intSetting('rank', options.rank, 'RANK', 0);
  if (rank >= worldSize) throw new RangeError(`init: rank must be in [0, worldSize) = [0, ${worldSize}), got ${rank}`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError(`init: timeoutMs must be an integer >= 1, got ${String(timeoutMs)}`);
  const iface = options.iface ?? process.env.GLOO_SOCKET_IFNAME;
  if (iface !== undefined && typeof iface !== 'string') throw new TypeError('init: iface must be a string');
  const { ProcessGroup } = loadGloo();
  const native = new ProcessGroup(rank, worldSize, timeoutMs);

  if (options.fileStore !== undefined) {
    if (typeof options.fileStore !== 'string' || options.fileStore === '')
      throw new TypeError(`init: fileStore must be a directory path, got ${quote(options.fileStore)}`);
    await native.connect({ path: options.fileStore, ...(iface ? { iface } : {}) });
  } else {
    const host = options.masterAddr ?? process.env.MASTER_ADDR;
    if (typeof host !== 'string' || host === '')
      throw new TypeError('init: masterAddr is required (pass it, or set the MASTER_ADDR environment variable)');
    const port = intSetting('masterPort', options.masterPort, 'MASTER_PORT', 1);
    if (port > 65535) throw new RangeError(`init: masterPort must be in [1, 65535], got ${port}`);
    // Rank 0 listens on every interface unless the master is this machine's loopback.
    const server = rank === 0 ? await StoreServer.listen(isLoopback(host) ? '127.0.0.1' : '0.0.0.0', port) : null;
    try {
      await native.connect({ host, port, ...(iface ? { iface } : {}) });
    } finally {
      server?.close();
    }
  }
  state = { native, rank, worldSize, tail: Promise.resolve() };
}

function current(fn: string): State {
  if (state === null) throw new Error(`${fn}: the process group is not initialised (call ng.distributed.init() first)`);
  return state;
}

function checkFloats(fn: string, data: unknown): Float32Array {
  if (!(data instanceof Float32Array)) throw new TypeError(`${fn}: data must be a Float32Array, got ${quote(data)}`);
  return data;
}

function checkRoot(fn: string, root: unknown, worldSize: number): number {
  if (typeof root !== 'number' || !Number.isInteger(root) || root < 0 || root >= worldSize)
    throw new RangeError(`${fn}: root must be an integer in [0, ${worldSize}), got ${quote(root)}`);
  return root;
}

/** Runs one async collective after the ones already queued, so concurrent calls never overlap. */
/**
 * A queued collective runs after the ones before it: by then the caller may have transferred
 * (detached) the array. The native module copies the data while the collective runs and writes
 * the result back only into an array that still has its elements; this refuses one that lost them
 * before it started.
 */
function unchanged(fn: string, data: Float32Array, n: number): void {
  if (data.length !== n)
    throw new RangeError(`${fn}: data was detached or resized while the collective ran; the result was not written`);
}

function enqueue<T>(s: State, run: () => Promise<void>, result: T): Promise<T> {
  const next = s.tail.then(run, run).then(() => result);
  s.tail = next.catch(() => undefined);
  return next;
}

/** Whether init() has succeeded and destroy() not been called (torch.distributed.is_initialized). */
export function isInitialized(): boolean {
  return state !== null;
}

/** This process's rank. */
export function getRank(): number {
  return current('getRank').rank;
}

/** The number of processes. */
export function getWorldSize(): number {
  return current('getWorldSize').worldSize;
}

/**
 * Reduces `data` element-wise over all ranks, in place (every rank ends with the result), off
 * the event loop; resolves to `data`. Do not touch `data` until it resolves.
 */
export function allReduce(data: Float32Array, op: ReduceOp = 'sum'): Promise<Float32Array> {
  const s = current('allReduce');
  checkFloats('allReduce', data);
  checkChoice('allReduce', 'op', op, REDUCE_OPS);
  const n = data.length;
  return enqueue(
    s,
    () => {
      unchanged('allReduce', data, n);
      return s.native.allReduce(data, op);
    },
    data,
  );
}

/** allReduce on the calling thread: for synchronous loops, which block the thread anyway. */
export function allReduceSync(data: Float32Array, op: ReduceOp = 'sum'): Float32Array {
  const s = current('allReduceSync');
  checkFloats('allReduceSync', data);
  checkChoice('allReduceSync', 'op', op, REDUCE_OPS);
  s.native.allReduceSync(data, op);
  return data;
}

/** Copies rank `root`'s `data` into every rank's `data` (same length everywhere); resolves to `data`. */
export function broadcast(data: Float32Array, root = 0): Promise<Float32Array> {
  const s = current('broadcast');
  checkFloats('broadcast', data);
  checkRoot('broadcast', root, s.worldSize);
  const n = data.length;
  return enqueue(
    s,
    () => {
      unchanged('broadcast', data, n);
      return s.native.broadcast(data, root);
    },
    data,
  );
}

/** broadcast on the calling thread. */
export function broadcastSync(data: Float32Array, root = 0): Float32Array {
  const s = current('broadcastSync');
  checkFloats('broadcastSync', data);
  checkRoot('broadcastSync', root, s.worldSize);
  s.native.broadcastSync(data, root);
  return data;
}

/** Resolves once every rank has called barrier(). */
export function barrier(): Promise<void> {
  const s = current('barrier');
  return enqueue(s, () => s.native.barrier(), undefined);
}

/** barrier on the calling thread. */
export function barrierSync(): void {
  current('barrierSync').native.barrierSync();
}

/**
 * Leaves the process group and closes its connections (torch.distributed.destroy_process_group);
 * waits for queued collectives first. init() may be called again afterwards.
 */
export async function destroy(): Promise<void> {
  const s = current('destroy');
  await s.tail;
  s.native.close();
  if (state === s) state = null;
}
