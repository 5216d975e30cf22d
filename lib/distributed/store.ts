/**
 * The rendezvous key-value store rank 0 serves over TCP while the ranks connect (the role of
 * torch's TCPStore). Served from Node's `net` on rank 0's event loop, which init leaves free
 * since the connecting runs on a worker thread; the C++ client (native/distributed/tcp_store.cc)
 * implements Gloo's Store interface against it. The store only carries each rank's addresses
 * (a few hundred bytes) and closes once every rank is connected.
 *
 * Wire format (integers little-endian u32): request = op ('S' set, 'G' get, 'W' wait) | key
 * length | key | value length | value; response = status (0 ok) | length | data. A get or wait of
 * a missing key is answered when some rank sets it.
 */
import * as net from 'node:net';

/** Keys and values are bounded: a stray client (a port scanner, a wrong MASTER_PORT) cannot fill memory. */
const MAX_FRAME = 1 << 20;

export class StoreServer {
  private readonly values = new Map<string, Buffer>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  /** Listens on host:port; rejects with an error naming the port when it is taken. */
  static listen(host: string, port: number): Promise<StoreServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      const store = new StoreServer(server);
      server.on('connection', (socket) => store.serve(socket));
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `init: rank 0 cannot serve the rendezvous store: port ${port} on ${host} is in use (set MASTER_PORT / masterPort to a free port)`
              : `init: rank 0 cannot listen on ${host}:${port}: ${err.message}`,
          ),
        );
      });
      server.listen({ host, port, exclusive: true }, () => resolve(store));
    });
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (pending.length < 5) return;
        const keyLen = pending.readUInt32LE(1);
        if (keyLen > MAX_FRAME) return void socket.destroy();
        if (pending.length < 9 + keyLen) return;
        const valueLen = pending.readUInt32LE(5 + keyLen);
        if (valueLen > MAX_FRAME) return void socket.destroy();
        const end = 9 + keyLen + valueLen;
        if (pending.length < end) return;
        const op = String.fromCharCode(pending[0]);
        const key = pending.toString('utf8', 5, 5 + keyLen);
        const value = Buffer.from(pending.subarray(9 + keyLen, end));
        pending = pending.subarray(end);
        this.handle(socket, op, key, value);
      }
    });
  }

  private handle(socket: net.Socket, op: string, key: string, value: Buffer): void {
    if (op === 'S') {
      this.values.set(key, value);
      reply(socket, 0, Buffer.alloc(0));
      for (const wake of this.waiters.get(key) ?? []) wake();
      this.waiters.delete(key);
    } else if (op === 'G' || op === 'W') {
      const answer = () => reply(socket, 0, op === 'G' ? this.values.get(key)! : Buffer.alloc(0));
      if (this.values.has(key)) answer();
      else this.waiters.set(key, [...(this.waiters.get(key) ?? []), answer]);
    } else {
      reply(socket, 1, Buffer.from(`unknown store operation '${op}'`));
    }
  }
}

function reply(socket: net.Socket, status: number, data: Buffer): void {
  if (socket.destroyed) return;
  const head = Buffer.alloc(5);
  head[0] = status;
  head.writeUInt32LE(data.length, 1);
  socket.write(Buffer.concat([head, data]));
}
