/**
 * The training worker's script (compiled to dist/worker/worker-entry.js; fit-worker.ts starts
 * it). Builds the model, the data sets over the shared buffers, the optimizer and scheduler from
 * workerData, runs fit, posts progress as it goes, and posts the trained weights (transferred)
 * or the error. Stops at the first step boundary after the control flag is set.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { Dataset } from '../data/index.js';
import { Module, moduleFromSpec, type ModuleSpec } from '../nn/index.js';
import { fit } from '../train/fit.js';
import { manualSeed } from '../random.js';
import { setBackend, setNumThreads, info } from '../backend/index.js';
import {
  WORKER_PROTOCOL, AbortError, optimizerFromSpec, schedulerFromSpec, serializeError,
  type SharedDatasetInit, type WireModel, type WorkerInit, type WorkerMessage,
} from './fit-worker.js';

function post(m: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(m, transfer);
}

function dataset(d: SharedDatasetInit): Dataset {
  return new Dataset({ x: d.x, y: d.y, features: d.features, shape: d.shape, numClasses: d.numClasses, classNames: d.classNames });
}

function isModule(m: unknown): m is Module {
  if (m instanceof Module) return true;
  // another copy of nodegrad (the user's file required a different install): duck-type it
  const o = m as Partial<Module> | null;
  return o !== null && typeof o === 'object' && typeof o.forward === 'function' && typeof o.namedParameters === 'function'
    && typeof o.parameters === 'function' && typeof o.train === 'function';
}

async function buildModel(m: WireModel): Promise<Module> {
  if (m.kind === 'spec') {
    const model = moduleFromSpec(m.spec);
    if (m.stateDict !== undefined) model.loadStateDict(m.stateDict);
    return model;
  }
  let ns: Record<string, unknown>;
  try {
    ns = (await import(pathToFileURL(m.modulePath).href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error;
    e.message = `model.modulePath ${m.modulePath}: ${e.message}`;
    throw e;
  }
  let exported = ns[m.exportName];
  // a CommonJS file's module.exports is the namespace's default
  if (exported === undefined && m.exportName !== 'default') {
    const cjs = ns.default as Record<string, unknown> | undefined;
    if (cjs !== null && typeof cjs === 'object') exported = cjs[m.exportName];
  }
  if (exported === undefined) {
    throw new TypeError(`model.modulePath ${m.modulePath} has no export '${m.exportName}' (exports: ${Object.keys(ns).join(', ') || 'none'})`);
  }
  let model: unknown = exported;
  if (typeof exported === 'function') {
    const isClass = /^class\b/.test(Function.prototype.toString.call(exported));
    const ctor = exported as new (...a: unknown[]) => unknown;
    model = isClass ? new ctor(...m.args) : await (exported as (...a: unknown[]) => unknown)(...m.args);
  }
  if (!isModule(model)) {
    throw new TypeError(`model.modulePath ${m.modulePath}: export '${m.exportName}' must be an nn.Module, a function returning one or a Module class`);
  }
  return model;
}

function specOf(model: Module): ModuleSpec | null {
  try {
    return model.spec();
  } catch {
    return null;
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
  const control = init.control;
  const stopAt = (where: string): void => {
    if (Atomics.load(control, 0) !== 0) throw new AbortError(`training was aborted ${where}`);
  };
  if (init.backend !== undefined) setBackend(init.backend);
  if (init.threads !== undefined) setNumThreads(init.threads);
  manualSeed(init.fit.seed);
  const model = await buildModel(init.model);
  const train = dataset(init.train);
  const validation = init.validation ? dataset(init.validation) : undefined;
  const optimizer = init.optimizer !== undefined ? optimizerFromSpec(init.optimizer, model.parameters()) : undefined;
  const scheduler = init.scheduler !== undefined && optimizer !== undefined
    ? schedulerFromSpec(init.scheduler, optimizer)
    : undefined;
  if (init.scheduler !== undefined && optimizer === undefined) {
    throw new TypeError('fitInWorker: a scheduler needs an optimizer description too');
  }
  stopAt('before it started');

  const interval = init.progressIntervalMs;
  let lastPost = -Infinity;
  const history = fit(model, {
    ...init.fit,
    train,
    validation,
    optimizer,
    scheduler,
    progress: 'json',
    progressStream: {
      write(s: string) {
        // fit's messages (resumed, early stopping); the epoch lines are posted by onEpochEnd
        for (const line of s.split('\n')) {
          if (line === '') continue;
          const ev = JSON.parse(line) as { event: string; text?: string };
          if (ev.event === 'message') post({ type: 'message', text: String(ev.text) });
        }
      },
    },
    callbacks: {
      onStep(s) {
        const now = performance.now();
        if (interval === 0 || s.step === s.steps || now - lastPost >= interval) {
          lastPost = now;
          post({ type: 'step', ...s });
        }
        stopAt(`at epoch ${s.epoch}, step ${s.step}`);
      },
      onEpochEnd(record) {
        post({ type: 'epoch', epochs: init.fit.epochs ?? 10, ...record });
        stopAt(`after epoch ${record.epoch}`);
      },
    },
  });

  const stateDict: Record<string, { shape: number[]; data: Float32Array }> = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, p] of model.namedParameters()) {
    const data = p.data.slice();
    stateDict[name] = { shape: [...p.shape], data };
    transfer.push(data.buffer);
  }
  const i = info();
  post({ type: 'result', stateDict, history, spec: specOf(model), backend: i.backend, simd: i.simd, threads: i.threads }, transfer);
}

main().catch((err: unknown) => {
  post({ type: 'error', error: serializeError(err) });
});
