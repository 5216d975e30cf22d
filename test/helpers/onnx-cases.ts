// The models the ONNX tests export: each layer nodegrad has, alone and nested, with and without
// preprocessing. test/onnx.test.ts runs each in onnxruntime; test/onnx-checker.test.ts hands
// each file to ONNX's own checker.
import * as ng from '../../lib/index.js';
import { Preprocessor } from '../../lib/data/preprocess.js';

const {
  Sequential,
  Linear,
  ReLU,
  Sigmoid,
  Tanh,
  Dropout,
  Flatten,
  LayerNorm,
  Embedding,
  Dropout2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
} = ng.nn;

export interface OnnxCase {
  name: string;
  /** A fresh model (seeded, so every file sees the same weights). */
  build(): ng.nn.Module & { preprocessor?: Preprocessor };
  /** One sample's shape. */
  inputShape: number[];
  /** Passed to the exporter; the default when absent. */
  options?: ng.onnx.OnnxExportOptions;
  /** Integer inputs in [0, indices) (an Embedding's), instead of normal values. */
  indices?: number;
}

/** A standardiser and input scale fitted to nothing in particular: every feature moves. */
function preprocessor(features: number, inputScale: number): Preprocessor {
  const rng = new ng.Rng(7);
  const mean = Array.from({ length: features }, () => rng.uniform() * 4 - 2);
  const std = Array.from({ length: features }, () => 0.5 + rng.uniform() * 2);
  return new Preprocessor({
    features,
    inputScale,
    standardizer: { mean, std },
    classNames: ['a', 'b', 'c'],
  });
}

/** A few training-mode forwards on random batches, so the running statistics move. */
function warmBatchNorm<M extends ng.nn.Module>(m: M, shape: number[]): M {
  m.train();
  ng.noGrad(() => {
    for (let i = 0; i < 3; i++)
      m.forward(
        ng
          .randn([4, ...shape])
          .mul(2)
          .add(1),
      );
  });
  return m;
}

function seeded<M>(fn: () => M): () => M {
  return () => {
    ng.manualSeed(11);
    return fn();
  };
}

export const CASES: OnnxCase[] = [
  { name: 'mlp-relu', build: seeded(() => ng.nn.mlp(6, [8, 5], 3)), inputShape: [6] },
  {
    name: 'mlp-sigmoid',
    build: seeded(() => new Sequential(new Linear(6, 8), new Sigmoid(), new Linear(8, 3), new Sigmoid())),
    inputShape: [6],
  },
  {
    name: 'mlp-tanh',
    build: seeded(() => new Sequential(new Linear(6, 8), new Tanh(), new Linear(8, 3))),
    inputShape: [6],
  },
  { name: 'linear-alone', build: seeded(() => new Linear(6, 3)), inputShape: [6] },
  {
    name: 'linear-no-bias',
    build: seeded(() => new Sequential(new Linear(6, 4, { bias: false }), new ReLU(), new Linear(4, 3))),
    inputShape: [6],
  },
  {
    name: 'nested',
    build: seeded(
      () =>
        new Sequential(
          new Linear(5, 7),
          new Sequential(new Tanh(), new Sequential(new Linear(7, 4), new ReLU())),
          new Linear(4, 2),
        ),
    ),
    inputShape: [5],
  },
  {
    // left in training mode: the export must drop the dropouts all the same
    name: 'dropout',
    build: seeded(() =>
      new Sequential(new Linear(6, 16), new Dropout(0.5), new ReLU(), new Dropout(0.2), new Linear(16, 3)).train(),
    ),
    inputShape: [6],
  },
  {
    name: 'flatten-8x8',
    build: seeded(() => new Sequential(new Flatten(), new Linear(64, 16), new ReLU(), new Linear(16, 10))),
    inputShape: [1, 8, 8],
  },
  {
    name: 'fold-preprocessing',
    build: seeded(() => Object.assign(ng.nn.mlp(3, [8], 3), { preprocessor: preprocessor(3, 1 / 16) })),
    inputShape: [3],
  },
  {
    name: 'fold-preprocessing-8x8',
    build: seeded(() =>
      Object.assign(new Sequential(new Flatten(), new Linear(64, 3)), { preprocessor: preprocessor(64, 1 / 255) }),
    ),
    inputShape: [1, 8, 8],
  },
  {
    name: 'metadata-preprocessing',
    build: seeded(() => Object.assign(ng.nn.mlp(3, [8], 3), { preprocessor: preprocessor(3, 1 / 16) })),
    inputShape: [3],
    options: { preprocess: 'metadata' },
  },
  { name: 'opset-13', build: seeded(() => ng.nn.mlp(6, [8], 3)), inputShape: [6], options: { opset: 13 } },
  { name: 'opset-15', build: seeded(() => ng.nn.mlp(6, [8], 3)), inputShape: [6], options: { opset: 15 } },
  {
    name: 'layernorm-opset17',
    build: seeded(() => new Sequential(new Linear(6, 8), new LayerNorm(8), new ReLU(), new Linear(8, 3))),
    inputShape: [6],
  },
  {
    // two normalised dims, no bias, decomposed below opset 17
    name: 'layernorm-decomposed',
    build: seeded(
      () => new Sequential(new LayerNorm([2, 4], { bias: false, eps: 1e-3 }), new Flatten(), new Linear(24, 3)),
    ),
    inputShape: [3, 2, 4],
    options: { opset: 15 },
  },
  {
    name: 'layernorm-no-affine',
    build: seeded(() => new Sequential(new LayerNorm(6, { elementwiseAffine: false }), new Linear(6, 2))),
    inputShape: [6],
  },
  {
    name: 'embedding',
    build: seeded(() => new Sequential(new Embedding(10, 4, { paddingIdx: 0 }), new Flatten(), new Linear(20, 3))),
    inputShape: [5],
    indices: 10,
  },
  {
    name: 'dropout2d',
    build: seeded(() => new Sequential(new Dropout2d(0.5), new Flatten(), new Linear(2 * 3 * 3, 2)).train()),
    inputShape: [2, 3, 3],
  },
  {
    // trained a few steps first, so the running statistics are not the initial 0 and 1
    name: 'batchnorm1d',
    build: seeded(() =>
      warmBatchNorm(new Sequential(new Linear(6, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 3)), [6]),
    ),
    inputShape: [6],
  },
  {
    name: 'batchnorm2d-no-affine',
    build: seeded(() =>
      warmBatchNorm(
        new Sequential(new BatchNorm2d(2, { affine: false, eps: 1e-3 }), new Flatten(), new Linear(18, 2)),
        [2, 3, 3],
      ),
    ),
    inputShape: [2, 3, 3],
  },
  {
    // the anchor CNN's shape on a small image
    name: 'cnn',
    build: seeded(
      () =>
        new Sequential(
          new Conv2d(1, 4, 5, { padding: 2 }),
          new ReLU(),
          new MaxPool2d(2),
          new Conv2d(4, 6, 3, { padding: 'same', bias: false }),
          new ReLU(),
          new MaxPool2d(2),
          new Flatten(),
          new Linear(6 * 2 * 2, 3),
        ),
    ),
    inputShape: [1, 8, 8],
  },
  {
    name: 'conv-groups-stride-dilation',
    build: seeded(
      () =>
        new Sequential(
          new Conv2d(4, 6, [3, 2], { stride: [2, 1], dilation: [1, 2], groups: 2, padding: [1, 0] }),
          new Flatten(),
        ),
    ),
    inputShape: [4, 7, 6],
  },
  {
    name: 'pools',
    build: seeded(
      () =>
        new Sequential(
          new Conv2d(2, 3, 3, { padding: 'same' }),
          new MaxPool2d(3, { stride: 2, padding: 1, dilation: 1 }),
          new AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }),
          new AdaptiveAvgPool2d([2, 7]),
          new Flatten(),
        ),
    ),
    inputShape: [2, 9, 11],
  },
  {
    name: 'global-pool-batchnorm2d',
    build: seeded(() =>
      warmBatchNorm(
        new Sequential(
          new Conv2d(3, 4, 3),
          new BatchNorm2d(4),
          new ReLU(),
          new AdaptiveAvgPool2d(1),
          new Flatten(),
          new Linear(4, 2),
        ),
        [3, 6, 6],
      ),
    ),
    inputShape: [3, 6, 6],
  },
  {
    name: 'only-dropout',
    build: seeded(() => new Sequential(new Dropout(0.3))),
    inputShape: [4],
  },
];

/** The ONNX bytes of a case. */
export function exportCase(c: OnnxCase): Uint8Array {
  return ng.onnx.toBytes(c.build(), { inputShape: c.inputShape, ...c.options });
}
