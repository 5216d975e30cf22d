import { defineConfig } from 'vitest/config';

// Tests that start processes, workers or builds, kill them, pack the package or run the CLI:
// slower, and they need dist/ built. Everything else runs in-process and belongs to `unit`.
const integration = [
  'test/checkpoint-kill.test.ts', // SIGKILLs a training child mid-checkpoint
  'test/cli.test.ts', // the CLI, in-process and through bin/ in child processes
  'test/concurrency.test.ts', // the addon in several worker threads at once
  'test/event-loop.test.ts', // fitInWorker against a busy event loop
  'test/fuzz-native.test.ts', // random arguments to the addon in child processes
  'test/memory.test.ts', // long training runs in a child, watching its memory
  'test/native-args.test.ts', // argument checks, plus environment variables read by child loads
  'test/prebuild.test.ts', // prebuildify and a PREBUILDS_ONLY load
  'test/worker-fit.test.ts', // fitInWorker: workers, aborts, terminations
  'test/workers.test.ts', // the addon loaded in worker threads
  'test/callbacks.test.ts', // fit's callbacks, also forwarded from fitInWorker's worker
  'test/check-cycles.test.ts', // compiles lib/ and runs dependency-cruiser on it
  'test/kernel-args.test.ts', // the table's argument cases, plus empty calls in a child with a time limit
  'test/label-race.test.ts', // a worker flips shared labels during native calls
  'test/limits.test.ts', // FIFOs, /dev/zero, gzip bombs, ulimit'ed children
  'test/preprocess.test.ts', // models written and read through the CLI
  'test/worker-teardown.test.ts', // workers terminated while they load the addon
  'test/harden-cli.test.ts', // the CLI's refusals: headers, colliding paths, --resume flags
  'test/summary.test.ts', // nodegrad info --model through bin/ in a child process
  'test/cli-csv.test.ts', // train/eval/predict on real CSVs through the CLI
  'test/cli-cnn.test.ts', // --model cnn: train/eval/predict on image data through the CLI
  'test/examples.test.ts', // runs examples/ (and the PyTorch side) in child processes
  'test/onnx-cli.test.ts', // ONNX's checker in a child process; nodegrad export through bin/
  'test/layers-safetensors.test.ts', // PyTorch loads a model with Embedding and LayerNorm in a child
  'test/distributed.test.ts', // multi-process training on Gloo, launched, killed, over loopback
  'test/batch-norm-interop.test.ts', // PyTorch in a child process, fitInWorker
];

export default defineConfig({
  test: {
    // Each file gets its own process: the native addon and the backend choice are per process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: integration } },
      { extends: true, test: { name: 'integration', include: integration } },
    ],
  },
});
