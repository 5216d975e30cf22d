/** `nodegrad info`: version, backend, SIMD path, threads, and the state of every backend. */
import { info, backends } from '../../index.js';
import type { CommandSpec, Parsed } from '../args.js';
import type { Out } from '../io.js';
import { BACKEND_OPTIONS, applyBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'info',
  summary:
    'Shows the version, the active backend, its SIMD path and threads, every registered backend\n' +
    '(chosen, available, or why not), and where the native binary was loaded from.',
  usage: 'nodegrad info [--json]',
  options: [...BACKEND_OPTIONS, { name: 'json', type: 'boolean', help: 'one JSON object' }],
};

export function run(args: Parsed, out: Out): number {
  applyBackend(args.options);
  const i = info();
  const supported = backends().native?.supportedSimd?.() ?? [];
  const node = `${process.version} (${process.platform} ${process.arch})`;
  if (args.options.json === true) {
    out.json({
      ...i,
      supportedSimd: supported,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    });
    return 0;
  }
  const chosen = i.backends.findIndex((b) => b.state === 'chosen');
  const better = i.backends.slice(0, chosen).find((b) => b.state === 'available');
  out.line(`nodegrad ${i.version}`);
  out.line(`node     ${node}`);
  out.line(`backend  ${i.backend}${better ? ` (${better.name} is available: --backend ${better.name})` : ''}`);
  out.line(
    `simd     ${i.simd ?? 'none (TypeScript)'}${supported.length ? `  (this CPU and binary: ${supported.join(', ')})` : ''}`,
  );
  out.line(`threads  ${i.threads}`);
  if (i.nativePath !== null && i.nativeError === undefined) out.line(`native   loaded from ${i.nativePath}`);
  else out.line(`native   not loaded: ${i.nativeError ?? 'unknown reason'}`);
  out.line('backends (highest priority first)');
  for (const b of i.backends) out.line(`  ${b.name.padEnd(7)}${b.state}${b.error !== undefined ? `: ${b.error}` : ''}`);
  return 0;
}
