/** Models and optimizers built from the CLI's flags, and the one-line description of a model. */
import { type Dataset, nn, optim } from '../index.js';

export function buildModel(
  kind: 'softmax' | 'mlp',
  features: number,
  hidden: readonly number[],
  classes: number,
): nn.Sequential {
  return nn.mlp(features, kind === 'softmax' ? [] : hidden, classes);
}

/**
 * The model for `train`'s task: one output a class, or one a target value for regression, whose
 * last bias then starts at the training targets' mean.
 */
export function buildTaskModel(kind: 'softmax' | 'mlp', hidden: readonly number[], train: Dataset): nn.Sequential {
  const regression = train.task === 'regression';
  const model = buildModel(kind, train.features, hidden, regression ? train.targetSize : train.numClasses);
  if (regression) startAtMeanTarget(model, train);
  return model;
}

/**
 * Starts the last layer's bias at the training targets' mean, so the first steps fit the slopes
 * rather than the offset (diabetes targets average 150 against standardised features).
 */
function startAtMeanTarget(model: nn.Sequential, train: Dataset): void {
  const k = train.targetSize;
  const mean = new Float64Array(k);
  const t = train.targets!;
  for (let i = 0; i < t.length; i++) mean[i % k] += t[i] / train.length;
  const params = model.parameters();
  const bias = params[params.length - 1];
  if (bias.shape.length === 1 && bias.shape[0] === k) bias.data.set(mean);
}

/** `64-128-64-10` from a Sequential of Linear and activation layers. */
export function describeModel(model: nn.Module): string {
  const sizes: number[] = [];
  for (const [, p] of model.namedParameters()) {
    if (p.shape.length === 2) {
      if (sizes.length === 0) sizes.push(p.shape[1]);
      sizes.push(p.shape[0]);
    }
  }
  return sizes.join('-');
}

export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Learning rates that work on standardised data with the default batch sizes. */
export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.1,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  rmsprop: 1e-3,
  adam: 1e-3,
  adamw: 1e-3,
};

export function buildOptimizer(
  name: OptimizerName,
  params: ReturnType<nn.Module['parameters']>,
  lr: number,
  weightDecay?: number,
): optim.Optimizer<{ lr: number }> {
  const wd = weightDecay === undefined ? {} : { weightDecay };
  // the CLI's momentum and nesterov are SGD with torch's customary momentum 0.9
  const spec: optim.OptimizerSpec =
    name === 'momentum'
      ? { type: 'sgd', lr, momentum: 0.9, ...wd }
      : name === 'nesterov'
        ? { type: 'sgd', lr, momentum: 0.9, nesterov: true, ...wd }
        : { type: name, lr, ...wd };
  return optim.optimizerFromSpec(spec, params);
}
