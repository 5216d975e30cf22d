/** Models and optimizers built from the CLI's flags, and the one-line description of a model. */
import { type Dataset, nn, optim } from '../index.js';

export type ModelKind = 'softmax' | 'mlp' | 'cnn';

export function buildModel(
  kind: ModelKind,
  features: number,
  hidden: readonly number[],
  classes: number,
  shape: readonly number[] = [features],
): nn.Sequential {
  if (kind === 'cnn') return cnn(shape, classes);
  return nn.mlp(features, kind === 'softmax' ? [] : hidden, classes);
}

/**
 * The default CNN (the benchmarks' anchor CNN, ../shared/anchors/train_cnn_torch.py):
 * Conv2d(C, 32, 5, padding 2)-ReLU-MaxPool2d(2) -> Conv2d(32, 64, 5, padding 2)-ReLU-MaxPool2d(2)
 * -> Flatten -> Linear(64 * H/4 * W/4, 256)-ReLU -> Linear(256, classes), on [C, H, W] samples.
 */
export function cnn(shape: readonly number[], classes: number): nn.Sequential {
  if (shape.length !== 3 || shape[1] < 4 || shape[2] < 4) {
    throw new RangeError(`--model cnn needs image samples [C, H, W] of at least 4 x 4, got [${shape.join(', ')}]`);
  }
  const [C, H, W] = shape;
  const h = Math.floor(Math.floor(H / 2) / 2),
    w = Math.floor(Math.floor(W / 2) / 2);
  return new nn.Sequential(
    new nn.Conv2d(C, 32, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64 * h * w, 256),
    new nn.ReLU(),
    new nn.Linear(256, classes),
  );
}

/**
 * The model for `train`'s task: one output a class, or one a target value for regression, whose
 * last bias then starts at the training targets' mean.
 */
export function buildTaskModel(kind: ModelKind, hidden: readonly number[], train: Dataset): nn.Sequential {
  const regression = train.task === 'regression';
  const model = buildModel(kind, train.features, hidden, regression ? train.targetSize : train.numClasses, train.shape);
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

/** `64-128-64-10` from a Sequential of Linear and activation layers; convolutions as `c32k5`. */
export function describeModel(model: nn.Module): string {
  const parts: string[] = [];
  let linear = false;
  for (const [, p] of model.namedParameters()) {
    if (p.shape.length === 4) parts.push(`c${p.shape[0]}k${p.shape[2]}`);
    if (p.shape.length === 2) {
      if (!linear && parts.length === 0) parts.push(String(p.shape[1]));
      linear = true;
      parts.push(String(p.shape[0]));
    }
  }
  return parts.join('-');
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
