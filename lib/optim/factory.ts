/**
 * Optimizers and schedulers from plain descriptions, `{ type: 'adam', lr: 1e-3 }`: what crosses
 * a thread boundary (fitInWorker) or comes from a command line. The type names are
 * case-insensitive and also take torch's class names ('AdamW', 'StepLR').
 */
import type { Optimizer, Param } from './optimizer.js';
import { SGD, Adam, AdamW, RMSprop, Adagrad } from './optimizers.js';
import type { SGDOptions, AdamOptions, RMSpropOptions, AdagradOptions } from './optimizers.js';
import * as lrScheduler from './lr-scheduler.js';

/**
 * An optimizer as plain data, `{ type: 'adam', lr: 1e-3 }`: type is the optimizer's name (any case, or torch's class
 * name), the rest its options with their defaults. What fitInWorker and the CLI take.
 */
export type OptimizerSpec =
  | ({ type: 'sgd' | 'SGD' } & SGDOptions)
  | ({ type: 'adam' | 'Adam' } & AdamOptions)
  | ({ type: 'adamw' | 'AdamW' } & AdamOptions)
  | ({ type: 'rmsprop' | 'RMSprop' } & RMSpropOptions)
  | ({ type: 'adagrad' | 'Adagrad' } & AdagradOptions);

/**
 * A learning-rate scheduler as plain data, `{ type: 'cosine', tMax: 20 }`: type names the scheduler (any case, or
 * torch's class name), the rest its options with their defaults.
 */
export type SchedulerSpec =
  | ({ type: 'step' | 'StepLR' } & lrScheduler.StepLROptions)
  | ({ type: 'multistep' | 'MultiStepLR' } & lrScheduler.MultiStepLROptions)
  | ({ type: 'exponential' | 'ExponentialLR' } & lrScheduler.ExponentialLROptions)
  | ({ type: 'cosine' | 'CosineAnnealingLR' } & lrScheduler.CosineAnnealingLROptions)
  | ({ type: 'onecycle' | 'OneCycleLR' } & lrScheduler.OneCycleLROptions)
  | ({ type: 'plateau' | 'ReduceLROnPlateau' } & lrScheduler.ReduceLROnPlateauOptions);

/** Any optimizer, as fit and the schedulers see it: groups with an lr. */
type AnyOptimizer = Optimizer<{ lr: number }>;

function specType(kind: string, spec: unknown): [string, Record<string, unknown>] {
  if (spec === null || typeof spec !== 'object' || typeof (spec as { type?: unknown }).type !== 'string') {
    const what =
      spec === null
        ? 'null'
        : typeof spec === 'object'
          ? ((spec as object).constructor?.name ?? 'object')
          : typeof spec === 'string'
            ? `'${spec}'`
            : `${typeof spec} ${String(spec)}`;
    throw new TypeError(`${kind} must be an object with a string type, got ${what}`);
  }
  const { type, ...options } = spec as { type: string } & Record<string, unknown>;
  return [type.toLowerCase(), options];
}

/** Builds the optimizer a description names, over `params`. */
export function optimizerFromSpec(spec: OptimizerSpec, params: Param[]): AnyOptimizer {
  const [type, o] = specType('optimizer', spec);
  // the optimizers' hyper-parameter types all have an lr: the casts only widen them
  switch (type) {
    case 'sgd':
      return new SGD(params, o as unknown as SGDOptions) as unknown as AnyOptimizer;
    case 'adam':
      return new Adam(params, o as AdamOptions) as unknown as AnyOptimizer;
    case 'adamw':
      return new AdamW(params, o as AdamOptions) as unknown as AnyOptimizer;
    case 'rmsprop':
      return new RMSprop(params, o as RMSpropOptions) as unknown as AnyOptimizer;
    case 'adagrad':
      return new Adagrad(params, o as AdagradOptions) as unknown as AnyOptimizer;
    default:
      throw new RangeError(`optimizer.type must be 'sgd', 'adam', 'adamw', 'rmsprop' or 'adagrad', got '${spec.type}'`);
  }
}

/** Builds the learning-rate scheduler a description names, for `optimizer`. */
export function schedulerFromSpec(spec: SchedulerSpec, optimizer: AnyOptimizer): lrScheduler.Scheduler {
  const [type, o] = specType('scheduler', spec);
  switch (type) {
    case 'step':
    case 'steplr':
      return new lrScheduler.StepLR(optimizer, o as unknown as lrScheduler.StepLROptions);
    case 'multistep':
    case 'multisteplr':
      return new lrScheduler.MultiStepLR(optimizer, o as unknown as lrScheduler.MultiStepLROptions);
    case 'exponential':
    case 'exponentiallr':
      return new lrScheduler.ExponentialLR(optimizer, o as unknown as lrScheduler.ExponentialLROptions);
    case 'cosine':
    case 'cosineannealinglr':
      return new lrScheduler.CosineAnnealingLR(optimizer, o as unknown as lrScheduler.CosineAnnealingLROptions);
    case 'onecycle':
    case 'onecyclelr':
      return new lrScheduler.OneCycleLR(optimizer, o as unknown as lrScheduler.OneCycleLROptions);
    case 'plateau':
    case 'reducelronplateau':
      return new lrScheduler.ReduceLROnPlateau(optimizer, o as lrScheduler.ReduceLROnPlateauOptions);
    default:
      throw new RangeError(
        `scheduler.type must be 'step', 'multistep', 'exponential', 'cosine', 'onecycle' or 'plateau', got '${spec.type}'`,
      );
  }
}
