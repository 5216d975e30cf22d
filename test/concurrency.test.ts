// Four workers train at once in one process, each with the addon loaded and its own thread
// pool (1, 2, 3 and 4 threads), on one shared copy of the data, while this thread trains the
// same four runs itself: no crash, every run reaches a sane accuracy, and each worker's
// weights equal this thread's run with the same seed bit for bit (no cross-talk between
// thread pools or per-instance state; the result does not depend on the thread count).
import { describe, expect, it } from 'vitest';
import { loadDigits } from '../lib/data/index.js';
import { mlp, moduleFromSpec } from '../lib/nn/index.js';
import { Adam } from '../lib/optim/index.js';
import { fit, evaluate } from '../lib/train/fit.js';
import { manualSeed } from '../lib/random.js';
import { backends, info } from '../lib/backend/index.js';
import { fitInWorker, shareDataset, type WorkerFitResult } from '../lib/worker/index.js';
import { requireBuiltWorker } from './fixtures/dist.js';

const digits = loadDigits();
const cut = 1500;
const train = shareDataset(digits.subset(Array.from({ length: cut }, (_, i) => i)));
const validation = shareDataset(digits.subset(Array.from({ length: digits.length - cut }, (_, i) => cut + i)));
const spec = mlp(64, [48], 10).spec();
const opts = { epochs: 50, batchSize: 32, optimizer: { type: 'adam' as const, lr: 3e-3 } };
const seeds = [101, 202, 303, 404];

describe('concurrent training in four workers', () => {
  it('gives each worker the same bits as a run on this thread with its seed, whatever its thread count', async () => {
    requireBuiltWorker();
    const t0 = performance.now();
    const jobs = seeds.map((seed, i) => fitInWorker({ spec }, { ...opts, train, validation, seed, threads: i + 1 }));
    // This thread trains meanwhile, on its own instance of the addon.
    const mine = seeds.map((seed) => {
      manualSeed(seed);
      const model = moduleFromSpec(spec);
      const history = fit(model, {
        ...opts,
        train,
        validation,
        seed,
        optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
        progress: false,
      });
      return { model, history };
    });
    const theirs: WorkerFitResult[] = await Promise.all(jobs.map((j) => j.result));
    console.log(
      `4 workers + 4 runs on the main thread: ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
        `backend ${theirs[0].backend} (${theirs[0].simd}), worker threads ${theirs.map((r) => r.threads).join(', ')}, ` +
        `val accuracy ${theirs.map((r) => r.history.epochs.at(-1)!.valAccuracy!.toFixed(3)).join(', ')}`,
    );

    theirs.forEach((r, i) => {
      expect(r.backend).toBe(info().backend);
      if (backends().native) expect(r.threads).toBe(i + 1);
      const { model, history } = mine[i];
      for (const [name, p] of model.namedParameters()) {
        const same = Buffer.from(r.stateDict[name].data.buffer).equals(
          Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength),
        );
        expect(same, `seed ${seeds[i]}: ${name} differs from the run on this thread`).toBe(true);
      }
      expect(r.history.epochs.map((e) => [e.loss, e.valLoss, e.valAccuracy])).toEqual(
        history.epochs.map((e) => [e.loss, e.valLoss, e.valAccuracy]),
      );
      expect(r.history.epochs.at(-1)!.valAccuracy).toBeGreaterThan(0.85);
      expect(evaluate(model, validation).accuracy).toBeGreaterThan(0.85);
    });
    // Different seeds, different models: the workers did not all compute one thing.
    expect(theirs[0].stateDict['0.weight'].data).not.toEqual(theirs[1].stateDict['0.weight'].data);
  });
});
