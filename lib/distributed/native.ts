/**
 * The optional Gloo module (native/distributed/, built by `npm run build:distributed`), loaded on
 * first use so that the core package never needs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { packageRoot } from '../backend/native.js';

/** A connected (or connecting) Gloo process group, as the module exports it. */
export interface NativeGroup {
  connect(how: { host?: string; port?: number; path?: string; hostname?: string; iface?: string }): Promise<void>;
  allReduce(data: Float32Array, op: string): Promise<void>;
  allReduceSync(data: Float32Array, op: string): void;
  broadcast(data: Float32Array, root: number): Promise<void>;
  broadcastSync(data: Float32Array, root: number): void;
  barrier(): Promise<void>;
  barrierSync(): void;
  close(): void;
}

interface GlooModule {
  ProcessGroup: new (rank: number, worldSize: number, timeoutMs: number) => NativeGroup;
}

/** Where the module is built; NODEGRAD_GLOO_ADDON overrides it (a module built elsewhere). */
export function glooModulePath(): string {
  return (
    process.env.NODEGRAD_GLOO_ADDON ??
    path.join(packageRoot, 'native', 'distributed', 'build', 'Release', 'nodegrad_gloo.node')
  );
}

/** Thrown by init when the Gloo module is not built: it says what to install and run. */
export class DistributedUnavailableError extends Error {
  /** 'DistributedUnavailableError'. */
  override name = 'DistributedUnavailableError';
}

let loaded: { file: string; module: GlooModule } | null = null;

/** The module, or a DistributedUnavailableError saying how to get it. */
export function loadGloo(): GlooModule {
  const file = glooModulePath();
  if (loaded?.file === file) return loaded.module;
  if (!fs.existsSync(file)) {
    throw new DistributedUnavailableError(
      `nodegrad.distributed needs the optional Gloo module, which is not built (no ${file}). ` +
        'Install Gloo and build it: `apt-get install libgloo-dev` (Debian/Ubuntu), then ' +
        '`npm run build:distributed` in the nodegrad package directory.',
    );
  }
  try {
    loaded = { file, module: createRequire(__filename)(file) as GlooModule };
  } catch (err) {
    throw new DistributedUnavailableError(
      `nodegrad.distributed: the Gloo module ${file} does not load (${(err as Error).message.split('\n')[0]}); ` +
        'is libgloo0 installed (`apt-get install libgloo-dev`)? Rebuild with `npm run build:distributed`.',
    );
  }
  return loaded.module;
}

/** Whether the Gloo module is built and loads here (torch.distributed.is_available). */
export function isAvailable(): boolean {
  try {
    loadGloo();
    return true;
  } catch {
    return false;
  }
}
