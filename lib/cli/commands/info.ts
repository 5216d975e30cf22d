/**
 * `nodegrad info`: version, backend, SIMD path, threads, and the state of every backend; with
 * --model FILE, the saved model's layer table (Module.summary).
 */
import { info, backends, loadModel } from '../../index.js';
import { wasmPath } from '../../backend/wasm.js';
import type { CommandSpec, Parsed } from '../args.js';
import { type Out, requireFile } from '../io.js';
import { BACKEND_OPTIONS, applyBackend } from '../options.js';

export const spec: CommandSpec = {
  name: 'info',
  summary:
    'Shows the version, the active backend, its SIMD path and threads, every registered backend\n' +
    '(chosen, available, or why not), and where the native binary and the WebAssembly module were\n' +
    "loaded from. With --model, a saved model's layers, output shapes and parameter counts instead.",
  usage: 'nodegrad info [--model FILE] [--json]',
  options: [
    {
      name: 'model',
      type: 'string',
      arg: 'FILE',
      help: "print a saved model's summary (input shape from its preprocessing, else its first Linear)",
    },
    ...BACKEND_OPTIONS,
    { name: 'json', type: 'boolean', help: 'one JSON object' },
  ],
  examples: ['nodegrad info', 'nodegrad info --model model.safetensors'],
};

function runModel(file: string, json: boolean, out: Out): number {
  requireFile(file, 'the --model file');
  const model = loadModel(file);
  const inputShape = model.preprocessor === undefined ? undefined : [model.preprocessor.features];
  const summary = model.summary(inputShape);
  if (json) out.json({ model: file, parameters: model.numParameters(), summary });
  else out.line(summary);
  return 0;
}

export function run(args: Parsed, out: Out): number {
  applyBackend(args.options);
  const file = args.options.model as string | undefined;
  if (file !== undefined) return runModel(file, args.options.json === true, out);
  const i = info();
  // The SIMD paths of the active backend (native: this CPU and binary; wasm: the module).
  const supported = backends()[i.backend]?.supportedSimd?.() ?? [];
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
    `simd     ${i.simd ?? 'none (TypeScript)'}${supported.length ? `  (${i.backend === 'wasm' ? 'this module' : 'this CPU and binary'}: ${supported.join(', ')})` : ''}`,
  );
  out.line(
    `threads  ${i.threads}${i.backend === 'wasm' ? ' (WebAssembly runs on one thread: --threads and setNumThreads are accepted and ignored)' : ''}`,
  );
  if (i.nativePath !== null && i.nativeError === undefined) out.line(`native   loaded from ${i.nativePath}`);
  else out.line(`native   not loaded: ${i.nativeError ?? 'unknown reason'}`);
  const wasm = i.backends.find((b) => b.name === 'wasm');
  if (wasm !== undefined)
    out.line(`wasm     ${wasm.error === undefined ? `loaded from ${wasmPath}` : `not loaded: ${wasm.error}`}`);
  out.line('backends (highest priority first)');
  for (const b of i.backends) out.line(`  ${b.name.padEnd(7)}${b.state}${b.error !== undefined ? `: ${b.error}` : ''}`);
  return 0;
}
