/**
 * Module.summary(): the layer table Keras's model.summary() and torchinfo print. Output shapes
 * are measured, not derived: every module's forward is wrapped for one pass on a batch of one
 * zero sample, so any module (a user's own included) reports what it really returns.
 */
import { type Tensor, noGrad, zeros } from '../tensor/index.js';
import { quote } from '../options.js';
import type { Module } from './module.js';

interface Row {
  module: Module;
  /** `0: Linear(64 -> 32)` under its tree prefix. */
  label: string;
}

export function summarize(root: Module, inputShape?: readonly number[]): string {
  const shape = inputShape ?? firstInFeatures(root);
  if (shape === undefined) {
    throw new TypeError(
      'summary: pass the input shape (one sample, e.g. [1, 28, 28]): the model has no Linear to take it from',
    );
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TypeError(
      `summary: inputShape must be an array of integers >= 1 (one sample's shape), got ${quote(shape)}`,
    );
  }
  const rows: Row[] = [{ module: root, label: root.describe() }];
  const walk = (m: Module, prefix: string): void => {
    const kids = m.namedChildren();
    kids.forEach(([name, child], i) => {
      const last = i === kids.length - 1;
      rows.push({ module: child, label: `${prefix}${last ? '└─' : '├─'} ${name}: ${child.describe()}` });
      walk(child, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(root, '');
  const outputs = measure(root, rows, shape);

  const table = rows.map((r) => {
    const out = outputs.get(r.module);
    const n = r.module.parameters(false).reduce((a, p) => a + p.numel, 0);
    return [r.label, out === undefined ? '--' : batched(out), n === 0 ? '--' : thousands(n)];
  });
  const head = ['Layer (type)', 'Output shape', 'Param #'];
  const widths = head.map((h, c) => Math.max(h.length, ...table.map((t) => t[c].length)));
  const line = (cells: string[]): string =>
    cells
      .map((s, c) => (c === 2 ? s.padStart(widths[c]) : s.padEnd(widths[c])))
      .join('   ')
      .trimEnd();
  const rule = '='.repeat(widths.reduce((a, b) => a + b, 0) + 6);
  const params = root.parameters();
  const total = params.reduce((a, p) => a + p.numel, 0);
  const trainable = params.filter((p) => p.requiresGrad).reduce((a, p) => a + p.numel, 0);
  return [
    line(head),
    rule,
    ...table.map(line),
    rule,
    `Total params: ${thousands(total)}`,
    `Trainable params: ${thousands(trainable)}`,
    `Non-trainable params: ${thousands(total - trainable)}`,
    `Params size: ${size(total * 4)} (float32)`,
    `Input shape: ${batched([1, ...shape])}; N is the batch size`,
  ].join('\n');
}

/**
 * [inFeatures] of the first module that has them (a Linear), for models that start with one;
 * undefined when none has. The default input shape of summary() and of the ONNX export.
 */
export function firstInFeatures(root: Module): number[] | undefined {
  const stack = [root];
  while (stack.length > 0) {
    const m = stack.shift()!;
    const n = (m as { inFeatures?: unknown }).inFeatures;
    if (typeof n === 'number') return [n];
    stack.unshift(...m.children());
  }
  return undefined;
}

/** Each row's output shape from one forward pass; modules a parent fuses or skips report none. */
function measure(root: Module, rows: Row[], shape: readonly number[]): Map<Module, number[]> {
  const outputs = new Map<Module, number[]>();
  const training = rows.map((r) => r.module.training);
  // an own `forward` also keeps Sequential from fusing the pair, so each layer reports its shape
  for (const { module } of rows) {
    const forward = module.forward;
    module.forward = (x: Tensor): Tensor => {
      const y = forward.call(module, x);
      outputs.set(module, y.shape.slice());
      return y;
    };
  }
  try {
    root.eval();
    noGrad(() => root.forward(zeros([1, ...shape])));
  } finally {
    rows.forEach(({ module }, i) => {
      delete (module as { forward?: unknown }).forward;
      module.training = training[i];
    });
  }
  return outputs;
}

/** [N, 32] for [1, 32]: the table is for any batch size. */
function batched(shape: readonly number[]): string {
  return shape.length === 0
    ? '[]'
    : `[N${shape
        .slice(1)
        .map((d) => `, ${d}`)
        .join('')}]`;
}

function thousands(n: number): string {
  return n.toLocaleString('en-US');
}

function size(bytes: number): string {
  const units: [string, number][] = [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  for (const [unit, s] of units) if (bytes >= s) return `${(bytes / s).toFixed(2)} ${unit}, ${thousands(bytes)} bytes`;
  return `${thousands(bytes)} bytes`;
}
