/**
 * The training worker's script (compiled to dist/worker/worker-entry.js; fit-worker.ts starts
 * it). Builds the model, the data sets over the shared buffers, the optimizer and scheduler from
 * workerData, runs fit with a callback that posts fit's events to the parent, and posts the
 * trained weights (transferred) or the error. Stops at the first step boundary after the
 * control flag is set.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fit, type Callback, type EpochRecord, type FitContext, type StepInfo } from '../train/fit.js';
import { optimizerFromSpec, schedulerFromSpec } from '../optim/index.js';
import { manualSeed } from '../random.js';
import { setBackend, setNumThreads, info } from '../backend/index.js';
import { fromWireDataset } from './datasets.js';
import { buildModel, specOf } from './model-source.js';
import { WORKER_PROTOCOL, AbortError, serializeError, type WorkerInit, type WorkerMessage } from './protocol.js';

function post(m: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(m, transfer);
}

/**
 * fit's events to the parent, as structured messages: every epoch and log line, the steps at
 * most every `intervalMs` (and each epoch's last). Checks the abort flag after each step and epoch.
 */
class PostEvents implements Callback {
  private lastPost = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly control: Int32Array,
  ) {}

  onBatchEnd(s: StepInfo): void {
    const now = performance.now();
    if (this.intervalMs === 0 || s.step === s.steps || now - this.lastPost >= this.intervalMs) {
      this.lastPost = now;
      post({ type: 'step', ...s });
    }
    this.stopIfAborted(`at epoch ${s.epoch}, step ${s.step}`);
  }

  onEpochEnd(record: EpochRecord, _history: unknown, ctx: FitContext): void {
    post({ type: 'epoch', epochs: ctx.epochs, ...record });
    this.stopIfAborted(`after epoch ${record.epoch}`);
  }

  onLog(text: string): void {
    post({ type: 'message', text });
  }

  stopIfAborted(where: string): void {
    if (Atomics.load(this.control, 0) !== 0) throw new AbortError(`training was aborted ${where}`);
  }
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  if (init === null || typeof init !== 'object' || init.protocol !== WORKER_PROTOCOL) {
    throw new Error(
      `nodegrad worker: ${__filename} speaks protocol ${WORKER_PROTOCOL} but was started with ${String(init?.protocol)}; ` +
        'the compiled dist/ is out of date: rebuild it with `npm run build:ts`',
    );
  }
  const events = new PostEvents(init.progressIntervalMs, init.control);
  if (init.backend !== undefined) setBackend(init.backend);
  if (init.threads !== undefined) setNumThreads(init.threads);
  manualSeed(init.fit.seed);
  const model = await buildModel(init.model);
  const train = fromWireDataset(init.train);
  const validation = init.validation ? fromWireDataset(init.validation) : undefined;
  const optimizer = init.optimizer !== undefined ? optimizerFromSpec(init.optimizer, model.parameters()) : undefined;
  const scheduler =
    init.scheduler !== undefined && optimizer !== undefined ? schedulerFromSpec(init.scheduler, optimizer) : undefined;
  if (init.scheduler !== undefined && optimizer === undefined) {
    throw new TypeError('fitInWorker: a scheduler needs an optimizer description too');
  }
  events.stopIfAborted('before it started');

  const history = fit(model, {
    ...init.fit,
    train,
    validation,
    optimizer,
    scheduler,
    progress: false,
    callbacks: events,
  });

  const stateDict: Record<string, { shape: number[]; data: Float32Array }> = {};
  const transfer: ArrayBuffer[] = [];
  // the state dict, buffers too: a BatchNorm model comes back with its running statistics
  for (const [name, p] of Object.entries(model.stateDict())) {
    const data = p.data.slice();
    stateDict[name] = { shape: [...p.shape], data };
    transfer.push(data.buffer);
  }
  const i = info();
  post(
    { type: 'result', stateDict, history, spec: specOf(model), backend: i.backend, simd: i.simd, threads: i.threads },
    transfer,
  );
}

main().catch((err: unknown) => {
  post({ type: 'error', error: serializeError(err) });
});
