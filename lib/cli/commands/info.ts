/** `nodegrad info`: version, backend, SIMD path, threads, and where the native binary came from. */
import { info, backends } from '../../index.js';
import type { CommandSpec, Parsed } from '../args.js';
import { Out } from '../io.js';
import { BACKEND_OPTIONS, applyBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'info',
  summary: 'Shows the version, the active backend, its SIMD path and threads, and where the native\nbinary was loaded from (or why it was not).',
  usage: 'nodegrad info [--json]',
  options: [...BACKEND_OPTIONS, { name: 'json', type: 'boolean', help: 'one JSON object' }],
};

export function run(args: Parsed, out: Out): number {
  applyBackend(args.options);
  const i = info();
  const supported = backends.native?.supportedSimd?.() ?? [];
  const node = `${process.version} (${process.platform} ${process.arch})`;
  if (args.options.json === true) {
    out.json({ ...i, supportedSimd: supported, node: process.version, platform: `${process.platform}-${process.arch}` });
    return 0;
  }
  out.line(`nodegrad ${i.version}`);
  out.line(`node     ${node}`);
  out.line(`backend  ${i.backend}${i.backend === 'ts' && backends.native ? ' (native is available: --backend native)' : ''}`);
  out.line(`simd     ${i.simd ?? 'none (TypeScript)'}${supported.length ? `  (this CPU and binary: ${supported.join(', ')})` : ''}`);
  out.line(`threads  ${i.threads}`);
  if (i.nativePath !== null && i.nativeError === undefined) out.line(`native   loaded from ${i.nativePath}`);
  else out.line(`native   not loaded: ${i.nativeError ?? 'unknown reason'}`);
  return 0;
}
