/**
 * nodegrad.optim: torch.optim's optimizers and learning-rate schedulers, same rules and
 * defaults (PyTorch 1.13), same numbers.
 *
 *   const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
 *   const sched = new optim.lrScheduler.CosineAnnealingLR(opt, { tMax: 100 });
 *   opt.zeroGrad(); loss.backward(); opt.step(); sched.step();
 */
export { Optimizer } from './optimizer.js';
export type { Param, ParamGroup, ParamGroupInit, ParamState, OptimizerStateDict } from './optimizer.js';
export { SGD, Adagrad, RMSprop, Adam, AdamW } from './optimizers.js';
export type {
  SGDOptions,
  SGDHyper,
  AdagradOptions,
  AdagradHyper,
  RMSpropOptions,
  RMSpropHyper,
  AdamOptions,
  AdamHyper,
} from './optimizers.js';
export * as lrScheduler from './lr-scheduler.js';
export { optimizerFromSpec, schedulerFromSpec } from './factory.js';
export type { OptimizerSpec, SchedulerSpec } from './factory.js';
