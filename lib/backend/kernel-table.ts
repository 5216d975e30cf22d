// Every kernel, declared once (PyTorch's native_functions.yaml is the model). From this table:
// - the `Kernels` type (types.ts, by mapped types: the doc comments below are what editors show);
// - the TS backend's argument checks (check.ts: one checker that reads the table);
// - the native binding's checks (native/binding/generated.h, written by scripts/gen-bindings.mjs
//   from the compiled table; CI fails when it is stale);
// - the loader's method list (native.ts) and the argument tests (test/kernel-args.test.ts);
// - what the wasm backend copies into the module's memory and back (wasm.ts: every array in but
//   the outputs a call overwrites, the `writes` back).
//
// It is TypeScript rather than JSON so that the types can be mapped from it (a JSON import
// widens every string to `string`) and so that the doc comments sit on the declarations.
//
// A parameter is one of:
//   bool            a boolean
//   size            a non-negative safe integer (a dimension)
//   number          any JS number (NaN and Infinity included: the kernels define what they do)
//   int             an integer in [min, max]
//   f32             a Float32Array holding at least `count` elements
//   f32?            a Float32Array or null; required (and then checked) only `when` the
//                   condition on another parameter holds; ignored (passed on as null) otherwise
//   i32             an Int32Array of at least `count` elements
// `count` is a product of sizes ('M*K', 'N*C*L', 'n'), spelled as the messages show it.
//
// Arguments are checked in this order, and every backend fails at the same first bad one:
// the count; each non-optional parameter in call order; the optional arrays (their condition
// reads a later parameter); each array's count; the `windows` rules; `sameOrDisjoint`, then `disjoint` pairs in the
// order given (out, in); the `labels` (every one in [0, classes)). Nothing is written when a
// check fails. `empty` names the count that, when 0, makes the call do nothing at all: both
// backends return before looping over the other sizes (which may then be anything).
//
// Derived sizes (`windows`): a sliding-window kernel (convolution, pooling) takes its output
// size as an argument, and the table states how it follows from the others, checked on every
// backend with a RangeError naming it: for each rule { out, in, kernel, stride, pad, dilation?,
// ceil? } the padded input must hold one window, span = dilation*(kernel-1)+1 <= in + 2*pad, and
//   out = floor((in + 2*pad - span) / stride) + 1,
// or with the `ceil` flag set, ceil instead of floor, less one when the last window would start
// in the right padding (PyTorch's pooling_output_shape). The rules are checked after the
// counts (so every size is bounded by a real buffer: the arithmetic is exact in doubles and
// int64; kernel, stride, pad and dilation are ints of at most 2^24 - 1) and are skipped when
// the call is empty.
//
// Index-like inputs (labels) are read once: each backend copies them when another thread could
// change them (a SharedArrayBuffer), checks the copy and hands the copy to the kernel.
//
// Overwritten outputs (`overwrites`): an output of `writes` that the kernel writes whole (every
// one of its `count` elements) without reading what it held before, so its old contents, NaN
// included, cannot change a result. Per output: `true` (always), { unless: flag } (only when
// the bool parameter flag is false: accumulate flags), or { whenZero: p } (only when the
// number parameter p is 0: GEMM's beta, as BLAS). A backend whose kernels run on memory of their
// own (wasm) does not copy such an output in. An output that is not listed is copied in: list
// only what the C++ and TS kernels both guarantee on every path (a wrong entry corrupts results
// silently on wasm; test/overwrites.test.ts fills each listed output with NaN to prove it). The
// generator refuses an entry whose output is not in `writes` or whose flag has the wrong kind.

export type SizeExpr = string;

export type Condition =
  | { readonly param: string; readonly is: true }
  | { readonly param: string; readonly op: '!=' | '>'; readonly value: 0 };

export type ParamSpec =
  | { readonly name: string; readonly kind: 'bool' | 'size' | 'number' }
  | { readonly name: string; readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly name: string; readonly kind: 'f32' | 'i32'; readonly count: SizeExpr }
  | { readonly name: string; readonly kind: 'f32?'; readonly count: SizeExpr; readonly when: Condition };

/**
 * When a kernel overwrites an output whole without reading it (see the top of this file):
 * always, when the bool parameter `unless` is false, or when the number parameter `whenZero` is 0.
 */
export type Overwrite = true | { readonly unless: string } | { readonly whenZero: string };

export interface KernelSpec {
  readonly params: readonly ParamSpec[];
  readonly returns: 'void' | 'number';
  /**
   * The arrays the kernel writes (outputs, and inputs it updates in place), in call order. A
   * backend whose kernels run on memory of their own (wasm) copies exactly these back.
   */
  readonly writes: readonly string[];
  /**
   * The outputs of `writes` the kernel overwrites whole without reading them, and when (see the
   * top of this file). A backend with memory of its own need not copy these in.
   */
  readonly overwrites?: { readonly [output: string]: Overwrite };
  /** Pairs (out, in) whose elements must not share a byte. */
  readonly disjoint?: readonly (readonly [string, string])[];
  /** Pairs (out, in) where out may be in itself (the same first element) but not overlap it partly. */
  readonly sameOrDisjoint?: readonly (readonly [string, string])[];
  /** Labels: every one of the first `count` in [0, classes). */
  readonly labels?: { readonly param: string; readonly count: string; readonly classes: string };
  /** When this count is 0 the call does nothing and returns at once. */
  readonly empty?: SizeExpr;
  /** Output sizes of sliding windows (see the top of this file): `out` as `in` etc. dictate. */
  readonly windows?: readonly WindowRule[];
}

/** out = floor((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1 (ceil mode: see the top). */
export interface WindowRule {
  readonly out: string;
  readonly in: string;
  readonly kernel: string;
  readonly stride: string;
  readonly pad: string;
  /** Absent: 1. */
  readonly dilation?: string;
  /** A bool parameter: when true, the ceil-mode rule. Absent: floor always. */
  readonly ceil?: string;
}

/** The output size a window rule dictates, or -1 when the padded input is shorter than one window. */
export function windowOut(
  inSize: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  ceil: boolean,
): number {
  const span = dilation * (kernel - 1) + 1;
  const room = inSize + 2 * pad - span;
  if (room < 0) return -1;
  if (!ceil) return Math.floor(room / stride) + 1;
  let out = Math.floor((room + stride - 1) / stride) + 1;
  // the last window must start inside the input or its left padding
  if ((out - 1) * stride >= inSize + pad) out--;
  return out;
}

const MAX_SAFE = 9007199254740991;

// biasAdd and biasRelu: y = f(x + bias) row by row (x, y: N x C), y may be x.
const BIAS_FORWARD = {
  params: [
    { name: 'x', kind: 'f32', count: 'N*C' },
    { name: 'bias', kind: 'f32', count: 'C' },
    { name: 'N', kind: 'size' },
    { name: 'C', kind: 'size' },
    { name: 'y', kind: 'f32', count: 'N*C' },
  ],
  returns: 'void',
  writes: ['y'],
  overwrites: { y: true },
  sameOrDisjoint: [['y', 'x']],
  disjoint: [['y', 'bias']],
  empty: 'N*C',
} as const;

// The sliding-window parameters (at most 2^24 - 1, so the window rule's arithmetic is exact).
const WIN_MAX = 0xffffff;
const win = (name: string, min: 0 | 1) => ({ name, kind: 'int', min, max: WIN_MAX }) as const;
const WINDOW_2D = [
  win('kH', 1),
  win('kW', 1),
  win('strideH', 1),
  win('strideW', 1),
  win('padH', 0),
  win('padW', 0),
] as const;
const CONV_SIZES = [
  { name: 'N', kind: 'size' },
  { name: 'G', kind: 'size' },
  { name: 'Cg', kind: 'size' },
  { name: 'H', kind: 'size' },
  { name: 'W', kind: 'size' },
  { name: 'Kg', kind: 'size' },
  { name: 'Ho', kind: 'size' },
  { name: 'Wo', kind: 'size' },
  ...WINDOW_2D,
  win('dilationH', 1),
  win('dilationW', 1),
] as const;
const CONV_WINDOWS = [
  { out: 'Ho', in: 'H', kernel: 'kH', stride: 'strideH', pad: 'padH', dilation: 'dilationH' },
  { out: 'Wo', in: 'W', kernel: 'kW', stride: 'strideW', pad: 'padW', dilation: 'dilationW' },
] as const;
const POOL_SIZES = [
  { name: 'NC', kind: 'size' },
  { name: 'H', kind: 'size' },
  { name: 'W', kind: 'size' },
  { name: 'Ho', kind: 'size' },
  { name: 'Wo', kind: 'size' },
  ...WINDOW_2D,
] as const;
const MAX_POOL_SIZES = [
  ...POOL_SIZES,
  win('dilationH', 1),
  win('dilationW', 1),
  { name: 'ceilMode', kind: 'bool' },
] as const;
const MAX_POOL_WINDOWS = [
  { out: 'Ho', in: 'H', kernel: 'kH', stride: 'strideH', pad: 'padH', dilation: 'dilationH', ceil: 'ceilMode' },
  { out: 'Wo', in: 'W', kernel: 'kW', stride: 'strideW', pad: 'padW', dilation: 'dilationW', ceil: 'ceilMode' },
] as const;
const AVG_POOL_SIZES = [
  ...POOL_SIZES,
  { name: 'ceilMode', kind: 'bool' },
  { name: 'countIncludePad', kind: 'bool' },
  win('divisor', 0),
] as const;
const AVG_POOL_WINDOWS = [
  { out: 'Ho', in: 'H', kernel: 'kH', stride: 'strideH', pad: 'padH', ceil: 'ceilMode' },
  { out: 'Wo', in: 'W', kernel: 'kW', stride: 'strideW', pad: 'padW', ceil: 'ceilMode' },
] as const;

export const KERNELS = {
  /**
   * C = alpha * op(A) * op(B) + beta * C, op(A) is M x K, op(B) is K x N, C is M x N.
   * A is stored K x M when transA, B is stored N x K when transB. With beta = 0, C is never
   * read (it may hold NaN).
   */
  gemm: {
    params: [
      { name: 'transA', kind: 'bool' },
      { name: 'transB', kind: 'bool' },
      { name: 'M', kind: 'size' },
      { name: 'N', kind: 'size' },
      { name: 'K', kind: 'size' },
      { name: 'alpha', kind: 'number' },
      { name: 'A', kind: 'f32', count: 'M*K' },
      { name: 'B', kind: 'f32', count: 'K*N' },
      { name: 'beta', kind: 'number' },
      { name: 'C', kind: 'f32', count: 'M*N' },
    ],
    returns: 'void',
    writes: ['C'],
    overwrites: { C: { whenZero: 'beta' } },
    disjoint: [
      ['C', 'A'],
      ['C', 'B'],
    ],
    empty: 'M*N',
  },

  /**
   * Writes probs = softmax(logits) row by row (N rows of C) and returns the mean over rows of
   * -ln(probs[n, labels[n]]). Stable for any finite logits.
   */
  softmaxCrossEntropy: {
    params: [
      { name: 'logits', kind: 'f32', count: 'N*C' },
      { name: 'labels', kind: 'i32', count: 'N' },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'probs', kind: 'f32', count: 'N*C' },
    ],
    returns: 'number',
    writes: ['probs'],
    overwrites: { probs: true },
    disjoint: [
      ['probs', 'logits'],
      ['probs', 'labels'],
    ],
    labels: { param: 'labels', count: 'N', classes: 'C' },
  },

  /** dlogits = (probs - onehot(labels)) / N. dlogits may alias probs. */
  softmaxCrossEntropyBackward: {
    params: [
      { name: 'probs', kind: 'f32', count: 'N*C' },
      { name: 'labels', kind: 'i32', count: 'N' },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'dlogits', kind: 'f32', count: 'N*C' },
    ],
    returns: 'void',
    writes: ['dlogits'],
    overwrites: { dlogits: true },
    sameOrDisjoint: [['dlogits', 'probs']],
    disjoint: [['dlogits', 'labels']],
    labels: { param: 'labels', count: 'N', classes: 'C' },
  },

  /** y[n, c] = x[n, c] + bias[c] (x, y: N x C). y may alias x. */
  biasAdd: BIAS_FORWARD,

  /** dbias[c] = sum_n dy[n, c], or dbias[c] += that sum when accumulate. */
  biasGrad: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*C' },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'dbias', kind: 'f32', count: 'C' },
      { name: 'accumulate', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['dbias'],
    overwrites: { dbias: { unless: 'accumulate' } },
    disjoint: [['dbias', 'dy']],
    empty: 'C',
  },

  /**
   * Fused bias + ReLU (a linear layer's epilogue): y[n, c] = max(x[n, c] + bias[c], 0), the
   * same values as biasAdd then relu. y may alias x.
   */
  biasRelu: BIAS_FORWARD,

  /**
   * Fused backward of biasRelu: dx = dy where y > 0 else 0 (y is biasRelu's output), and
   * dbias[c] = sum_n dx[n, c] (or dbias[c] += it when accumulate), the same values as
   * reluBackward then biasGrad. dx may alias dy.
   */
  biasReluBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*C' },
      { name: 'y', kind: 'f32', count: 'N*C' },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'dx', kind: 'f32', count: 'N*C' },
      { name: 'dbias', kind: 'f32', count: 'C' },
      { name: 'accumulate', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['dx', 'dbias'],
    overwrites: { dx: true, dbias: { unless: 'accumulate' } },
    sameOrDisjoint: [['dx', 'dy']],
    disjoint: [
      ['dx', 'y'],
      ['dbias', 'dy'],
      ['dbias', 'y'],
      ['dbias', 'dx'],
    ],
    empty: 'C',
  },

  /** y = max(x, 0) over the first n elements. y may alias x. */
  relu: {
    params: [
      { name: 'x', kind: 'f32', count: 'n' },
      { name: 'n', kind: 'size' },
      { name: 'y', kind: 'f32', count: 'n' },
    ],
    returns: 'void',
    writes: ['y'],
    overwrites: { y: true },
    sameOrDisjoint: [['y', 'x']],
  },

  /** dx = dy where y > 0 else 0 (y is relu's output). dx may alias dy. */
  reluBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'n' },
      { name: 'y', kind: 'f32', count: 'n' },
      { name: 'n', kind: 'size' },
      { name: 'dx', kind: 'f32', count: 'n' },
    ],
    returns: 'void',
    writes: ['dx'],
    overwrites: { dx: true },
    sameOrDisjoint: [['dx', 'dy']],
    disjoint: [['dx', 'y']],
  },

  /**
   * In-place SGD update with PyTorch's rule (torch.optim.SGD). buf is the momentum buffer
   * (ignored, may be null, when momentum = 0); first says it has not been initialised yet.
   */
  sgdStep: {
    params: [
      { name: 'param', kind: 'f32', count: 'n' },
      { name: 'grad', kind: 'f32', count: 'n' },
      { name: 'buf', kind: 'f32?', count: 'n', when: { param: 'momentum', op: '!=', value: 0 } },
      { name: 'n', kind: 'size' },
      { name: 'lr', kind: 'number' },
      { name: 'momentum', kind: 'number' },
      { name: 'dampening', kind: 'number' },
      { name: 'weightDecay', kind: 'number' },
      { name: 'nesterov', kind: 'bool' },
      { name: 'first', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['param', 'buf'],
    disjoint: [
      ['param', 'grad'],
      ['buf', 'param'],
      ['buf', 'grad'],
    ],
  },

  /**
   * In-place Adam (decoupled = false) or AdamW (decoupled = true) update, PyTorch's rule.
   * step >= 1 is the step count including this one. vmax is needed only with amsgrad.
   */
  adamStep: {
    params: [
      { name: 'param', kind: 'f32', count: 'n' },
      { name: 'grad', kind: 'f32', count: 'n' },
      { name: 'm', kind: 'f32', count: 'n' },
      { name: 'v', kind: 'f32', count: 'n' },
      { name: 'vmax', kind: 'f32?', count: 'n', when: { param: 'amsgrad', is: true } },
      { name: 'n', kind: 'size' },
      { name: 'step', kind: 'int', min: 1, max: MAX_SAFE },
      { name: 'lr', kind: 'number' },
      { name: 'beta1', kind: 'number' },
      { name: 'beta2', kind: 'number' },
      { name: 'eps', kind: 'number' },
      { name: 'weightDecay', kind: 'number' },
      { name: 'decoupled', kind: 'bool' },
      { name: 'amsgrad', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['param', 'm', 'v', 'vmax'],
    disjoint: [
      ['param', 'grad'],
      ['m', 'param'],
      ['m', 'grad'],
      ['v', 'param'],
      ['v', 'grad'],
      ['v', 'm'],
      ['vmax', 'param'],
      ['vmax', 'grad'],
      ['vmax', 'm'],
      ['vmax', 'v'],
    ],
  },

  /** In-place Adagrad update; clr = lr / (1 + (step - 1) * lrDecay) is computed by the caller. */
  adagradStep: {
    params: [
      { name: 'param', kind: 'f32', count: 'n' },
      { name: 'grad', kind: 'f32', count: 'n' },
      { name: 'sum', kind: 'f32', count: 'n' },
      { name: 'n', kind: 'size' },
      { name: 'clr', kind: 'number' },
      { name: 'eps', kind: 'number' },
      { name: 'weightDecay', kind: 'number' },
    ],
    returns: 'void',
    writes: ['param', 'sum'],
    disjoint: [
      ['param', 'grad'],
      ['sum', 'param'],
      ['sum', 'grad'],
    ],
  },

  /** In-place RMSprop update, PyTorch's rule. gavg needed when centered, buf when momentum > 0. */
  rmspropStep: {
    params: [
      { name: 'param', kind: 'f32', count: 'n' },
      { name: 'grad', kind: 'f32', count: 'n' },
      { name: 'sq', kind: 'f32', count: 'n' },
      { name: 'gavg', kind: 'f32?', count: 'n', when: { param: 'centered', is: true } },
      { name: 'buf', kind: 'f32?', count: 'n', when: { param: 'momentum', op: '>', value: 0 } },
      { name: 'n', kind: 'size' },
      { name: 'lr', kind: 'number' },
      { name: 'alpha', kind: 'number' },
      { name: 'eps', kind: 'number' },
      { name: 'weightDecay', kind: 'number' },
      { name: 'momentum', kind: 'number' },
      { name: 'centered', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['param', 'sq', 'gavg', 'buf'],
    disjoint: [
      ['param', 'grad'],
      ['sq', 'param'],
      ['sq', 'grad'],
      ['gavg', 'param'],
      ['gavg', 'grad'],
      ['gavg', 'sq'],
      ['buf', 'param'],
      ['buf', 'grad'],
      ['buf', 'sq'],
      ['buf', 'gavg'],
    ],
  },

  /**
   * Layer normalisation of N rows of D: y = (x - mean) * rstd * weight + bias per row, with the
   * row's mean and rstd = 1 / sqrt(var + eps) (biased variance) written for the backward.
   * weight is used when affine, bias when hasBias. y may alias x.
   */
  layerNorm: {
    params: [
      { name: 'x', kind: 'f32', count: 'N*D' },
      { name: 'weight', kind: 'f32?', count: 'D', when: { param: 'affine', is: true } },
      { name: 'bias', kind: 'f32?', count: 'D', when: { param: 'hasBias', is: true } },
      { name: 'N', kind: 'size' },
      { name: 'D', kind: 'size' },
      { name: 'eps', kind: 'number' },
      { name: 'affine', kind: 'bool' },
      { name: 'hasBias', kind: 'bool' },
      { name: 'y', kind: 'f32', count: 'N*D' },
      { name: 'mean', kind: 'f32', count: 'N' },
      { name: 'rstd', kind: 'f32', count: 'N' },
    ],
    returns: 'void',
    writes: ['y', 'mean', 'rstd'],
    overwrites: { y: true, mean: true, rstd: true },
    sameOrDisjoint: [['y', 'x']],
    disjoint: [
      ['y', 'weight'],
      ['y', 'bias'],
      ['y', 'mean'],
      ['y', 'rstd'],
      ['mean', 'x'],
      ['mean', 'weight'],
      ['mean', 'bias'],
      ['rstd', 'x'],
      ['rstd', 'weight'],
      ['rstd', 'bias'],
      ['rstd', 'mean'],
    ],
  },

  /**
   * Backward of layerNorm (mean, rstd: its outputs for x): dx per row; dweight[d] = sum_n dy *
   * xhat (when affine) and dbias[d] = sum_n dy (when hasBias), each added to what the buffer
   * holds when accumulate. dx may alias dy.
   */
  layerNormBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*D' },
      { name: 'x', kind: 'f32', count: 'N*D' },
      { name: 'mean', kind: 'f32', count: 'N' },
      { name: 'rstd', kind: 'f32', count: 'N' },
      { name: 'weight', kind: 'f32?', count: 'D', when: { param: 'affine', is: true } },
      { name: 'N', kind: 'size' },
      { name: 'D', kind: 'size' },
      { name: 'affine', kind: 'bool' },
      { name: 'hasBias', kind: 'bool' },
      { name: 'dx', kind: 'f32', count: 'N*D' },
      { name: 'dweight', kind: 'f32?', count: 'D', when: { param: 'affine', is: true } },
      { name: 'dbias', kind: 'f32?', count: 'D', when: { param: 'hasBias', is: true } },
      { name: 'accumulate', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['dx', 'dweight', 'dbias'],
    overwrites: { dx: true, dweight: { unless: 'accumulate' }, dbias: { unless: 'accumulate' } },
    sameOrDisjoint: [['dx', 'dy']],
    disjoint: [
      ['dx', 'x'],
      ['dx', 'mean'],
      ['dx', 'rstd'],
      ['dx', 'weight'],
      ['dweight', 'dy'],
      ['dweight', 'x'],
      ['dweight', 'mean'],
      ['dweight', 'rstd'],
      ['dweight', 'weight'],
      ['dweight', 'dx'],
      ['dbias', 'dy'],
      ['dbias', 'x'],
      ['dbias', 'mean'],
      ['dbias', 'rstd'],
      ['dbias', 'weight'],
      ['dbias', 'dx'],
      ['dbias', 'dweight'],
    ],
  },

  /** Embedding lookup: y[n, :] = weight[indices[n], :] (weight: V x D, y: N x D). */
  embedding: {
    params: [
      { name: 'weight', kind: 'f32', count: 'V*D' },
      { name: 'indices', kind: 'i32', count: 'N' },
      { name: 'N', kind: 'size' },
      { name: 'V', kind: 'size' },
      { name: 'D', kind: 'size' },
      { name: 'y', kind: 'f32', count: 'N*D' },
    ],
    returns: 'void',
    writes: ['y'],
    overwrites: { y: true },
    disjoint: [
      ['y', 'weight'],
      ['y', 'indices'],
    ],
    labels: { param: 'indices', count: 'N', classes: 'V' },
    empty: 'N*D',
  },

  /**
   * Backward of embedding, a scatter-add: dweight[indices[n], :] += dy[n, :] in n order, except
   * the rows of paddingIdx (-1: none), which get no gradient. dweight is zeroed first unless
   * accumulate.
   */
  embeddingBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*D' },
      { name: 'indices', kind: 'i32', count: 'N' },
      { name: 'N', kind: 'size' },
      { name: 'V', kind: 'size' },
      { name: 'D', kind: 'size' },
      { name: 'paddingIdx', kind: 'int', min: -1, max: MAX_SAFE },
      { name: 'dweight', kind: 'f32', count: 'V*D' },
      { name: 'accumulate', kind: 'bool' },
    ],
    returns: 'void',
    writes: ['dweight'],
    overwrites: { dweight: { unless: 'accumulate' } },
    disjoint: [
      ['dweight', 'dy'],
      ['dweight', 'indices'],
    ],
    labels: { param: 'indices', count: 'N', classes: 'V' },
    empty: 'V*D',
  },
  /**
   * Batch normalisation in training mode over x of shape [N, C, L] (L = 1 for [N, C] input,
   * H*W for images), as torch.nn.functional.batch_norm(training=True): per channel c, the mean
   * and the biased variance over N and L (in double), saveMean[c] = mean, saveInvstd[c] =
   * 1 / sqrt(var + eps), y = (x - mean) * saveInvstd * weight + bias (weight 1, bias 0 unless
   * affine). When trackRunningStats, runningMean and runningVar move towards the batch's mean
   * and unbiased variance: r = (1 - momentum) * r + momentum * batch. y may alias x. With no
   * values (N * C * L = 0) nothing is written.
   */
  batchNormTrain: {
    params: [
      { name: 'x', kind: 'f32', count: 'N*C*L' },
      { name: 'weight', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
      { name: 'bias', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
      { name: 'runningMean', kind: 'f32?', count: 'C', when: { param: 'trackRunningStats', is: true } },
      { name: 'runningVar', kind: 'f32?', count: 'C', when: { param: 'trackRunningStats', is: true } },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'L', kind: 'size' },
      { name: 'momentum', kind: 'number' },
      { name: 'eps', kind: 'number' },
      { name: 'affine', kind: 'bool' },
      { name: 'trackRunningStats', kind: 'bool' },
      { name: 'y', kind: 'f32', count: 'N*C*L' },
      { name: 'saveMean', kind: 'f32', count: 'C' },
      { name: 'saveInvstd', kind: 'f32', count: 'C' },
    ],
    returns: 'void',
    writes: ['runningMean', 'runningVar', 'y', 'saveMean', 'saveInvstd'],
    overwrites: { y: true, saveMean: true, saveInvstd: true },
    sameOrDisjoint: [['y', 'x']],
    disjoint: [
      ['runningMean', 'x'],
      ['runningVar', 'x'],
      ['runningVar', 'runningMean'],
      ['y', 'weight'],
      ['y', 'bias'],
      ['y', 'runningMean'],
      ['y', 'runningVar'],
      ['saveMean', 'x'],
      ['saveMean', 'weight'],
      ['saveMean', 'bias'],
      ['saveMean', 'runningMean'],
      ['saveMean', 'runningVar'],
      ['saveMean', 'y'],
      ['saveInvstd', 'x'],
      ['saveInvstd', 'weight'],
      ['saveInvstd', 'bias'],
      ['saveInvstd', 'runningMean'],
      ['saveInvstd', 'runningVar'],
      ['saveInvstd', 'y'],
      ['saveInvstd', 'saveMean'],
    ],
    empty: 'N*C*L',
  },

  /**
   * Batch normalisation in eval mode over x of shape [N, C, L] with the running statistics:
   * saveInvstd[c] = 1 / sqrt(runningVar[c] + eps), y = (x - runningMean) * saveInvstd * weight
   * + bias (weight 1, bias 0 unless affine). y may alias x. With no values nothing is written.
   */
  batchNormEval: {
    params: [
      { name: 'x', kind: 'f32', count: 'N*C*L' },
      { name: 'runningMean', kind: 'f32', count: 'C' },
      { name: 'runningVar', kind: 'f32', count: 'C' },
      { name: 'weight', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
      { name: 'bias', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'L', kind: 'size' },
      { name: 'eps', kind: 'number' },
      { name: 'affine', kind: 'bool' },
      { name: 'y', kind: 'f32', count: 'N*C*L' },
      { name: 'saveInvstd', kind: 'f32', count: 'C' },
    ],
    returns: 'void',
    writes: ['y', 'saveInvstd'],
    overwrites: { y: true, saveInvstd: true },
    sameOrDisjoint: [['y', 'x']],
    disjoint: [
      ['y', 'runningMean'],
      ['y', 'runningVar'],
      ['y', 'weight'],
      ['y', 'bias'],
      ['saveInvstd', 'x'],
      ['saveInvstd', 'runningMean'],
      ['saveInvstd', 'runningVar'],
      ['saveInvstd', 'weight'],
      ['saveInvstd', 'bias'],
      ['saveInvstd', 'y'],
    ],
    empty: 'N*C*L',
  },

  /**
   * Backward of batchNormTrain (training true: mean and invstd are the batch's, which depend on
   * x) or of batchNormEval (training false: constants). With M = N * L, xhat = (x - mean) *
   * invstd, w = weight (1 unless affine): training dx = w * invstd * (dy - sum(dy) / M - xhat *
   * sum(dy * xhat) / M), eval dx = w * invstd * dy; when affine, dweight[c] = sum(dy * xhat)
   * and dbias[c] = sum(dy) over N and L. dx may alias dy. With no values nothing is written
   * (the caller's dweight and dbias keep their zeros).
   */
  batchNormBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*C*L' },
      { name: 'x', kind: 'f32', count: 'N*C*L' },
      { name: 'weight', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
      { name: 'mean', kind: 'f32', count: 'C' },
      { name: 'invstd', kind: 'f32', count: 'C' },
      { name: 'N', kind: 'size' },
      { name: 'C', kind: 'size' },
      { name: 'L', kind: 'size' },
      { name: 'affine', kind: 'bool' },
      { name: 'training', kind: 'bool' },
      { name: 'dx', kind: 'f32', count: 'N*C*L' },
      { name: 'dweight', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
      { name: 'dbias', kind: 'f32?', count: 'C', when: { param: 'affine', is: true } },
    ],
    returns: 'void',
    writes: ['dx', 'dweight', 'dbias'],
    overwrites: { dx: true, dweight: true, dbias: true },
    sameOrDisjoint: [['dx', 'dy']],
    disjoint: [
      ['dx', 'x'],
      ['dx', 'weight'],
      ['dx', 'mean'],
      ['dx', 'invstd'],
      ['dweight', 'dy'],
      ['dweight', 'x'],
      ['dweight', 'weight'],
      ['dweight', 'mean'],
      ['dweight', 'invstd'],
      ['dweight', 'dx'],
      ['dbias', 'dy'],
      ['dbias', 'x'],
      ['dbias', 'weight'],
      ['dbias', 'mean'],
      ['dbias', 'invstd'],
      ['dbias', 'dx'],
      ['dbias', 'dweight'],
    ],
    empty: 'N*C*L',
  },
  // ---- convolution and pooling (NCHW). Convolution: x is N x (G*Cg) x H x W, weight is
  // (G*Kg) x Cg x kH x kW (PyTorch's layout: group g's Kg filters see its Cg channels), y is
  // N x (G*Kg) x Ho x Wo; the input is zero-padded by padH/padW on each side.

  /**
   * y[n, g*Kg+k, oh, ow] = bias[g*Kg+k] + sum over c, i, j of weight[g*Kg+k, c, i, j] *
   * x[n, g*Cg+c, oh*strideH - padH + i*dilationH, ow*strideW - padW + j*dilationW] (0 outside),
   * then max(., 0) when relu (a convolution followed by ReLU, fused).
   */
  conv2d: {
    params: [
      { name: 'x', kind: 'f32', count: 'N*G*Cg*H*W' },
      { name: 'weight', kind: 'f32', count: 'G*Kg*Cg*kH*kW' },
      { name: 'bias', kind: 'f32?', count: 'G*Kg', when: { param: 'hasBias', is: true } },
      ...CONV_SIZES,
      { name: 'hasBias', kind: 'bool' },
      { name: 'relu', kind: 'bool' },
      { name: 'y', kind: 'f32', count: 'N*G*Kg*Ho*Wo' },
    ],
    returns: 'void',
    writes: ['y'],
    overwrites: { y: true },
    disjoint: [
      ['y', 'x'],
      ['y', 'weight'],
      ['y', 'bias'],
    ],
    empty: 'N*G*Kg*Ho*Wo',
    windows: CONV_WINDOWS,
  },

  /**
   * conv2d's input gradient: dx = sum over the windows that read x of weight * dy (the
   * transposed convolution), written (or added, when accumulate) into dx.
   */
  conv2dBackwardInput: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*G*Kg*Ho*Wo' },
      { name: 'weight', kind: 'f32', count: 'G*Kg*Cg*kH*kW' },
      ...CONV_SIZES,
      { name: 'accumulate', kind: 'bool' },
      { name: 'dx', kind: 'f32', count: 'N*G*Cg*H*W' },
    ],
    returns: 'void',
    writes: ['dx'],
    overwrites: { dx: { unless: 'accumulate' } },
    disjoint: [
      ['dx', 'dy'],
      ['dx', 'weight'],
    ],
    empty: 'N*G*Cg*H*W',
    windows: CONV_WINDOWS,
  },

  /**
   * conv2d's parameter gradients: dweight[g*Kg+k, c, i, j] = sum over n, oh, ow of dy * the x
   * that weight multiplied, and dbias[g*Kg+k] = sum over n, oh, ow of dy (when hasBias). Each is
   * written, or added when its accumulate flag is set. The sums' order is fixed (it does not
   * depend on the thread count).
   */
  conv2dBackwardParams: {
    params: [
      { name: 'dy', kind: 'f32', count: 'N*G*Kg*Ho*Wo' },
      { name: 'x', kind: 'f32', count: 'N*G*Cg*H*W' },
      ...CONV_SIZES,
      { name: 'hasBias', kind: 'bool' },
      { name: 'accumulate', kind: 'bool' },
      { name: 'accumulateBias', kind: 'bool' },
      { name: 'dweight', kind: 'f32', count: 'G*Kg*Cg*kH*kW' },
      { name: 'dbias', kind: 'f32?', count: 'G*Kg', when: { param: 'hasBias', is: true } },
    ],
    returns: 'void',
    writes: ['dweight', 'dbias'],
    overwrites: { dweight: { unless: 'accumulate' }, dbias: { unless: 'accumulateBias' } },
    disjoint: [
      ['dweight', 'dy'],
      ['dweight', 'x'],
      ['dbias', 'dy'],
      ['dbias', 'x'],
      ['dbias', 'dweight'],
    ],
    windows: CONV_WINDOWS,
  },

  /**
   * Max pooling over NC planes of H x W: y[p, oh, ow] = the max of x[p, oh*strideH - padH +
   * i*dilationH, ow*strideW - padW + j*dilationW] over the window's elements inside the input
   * (-Infinity when there are none); NaN wins, as in PyTorch (the last NaN of the window).
   */
  maxPool2d: {
    params: [
      { name: 'x', kind: 'f32', count: 'NC*H*W' },
      ...MAX_POOL_SIZES,
      { name: 'y', kind: 'f32', count: 'NC*Ho*Wo' },
    ],
    returns: 'void',
    writes: ['y'],
    overwrites: { y: true },
    disjoint: [['y', 'x']],
    empty: 'NC*Ho*Wo',
    windows: MAX_POOL_WINDOWS,
  },

  /**
   * maxPool2d's input gradient: each dy goes to the element maxPool2d chose (recomputed from x:
   * the first maximum of the window in row-major order, or its last NaN; none when the window
   * holds no input element), written (or added, when accumulate) into dx.
   */
  maxPool2dBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'NC*Ho*Wo' },
      { name: 'x', kind: 'f32', count: 'NC*H*W' },
      ...MAX_POOL_SIZES,
      { name: 'accumulate', kind: 'bool' },
      { name: 'dx', kind: 'f32', count: 'NC*H*W' },
    ],
    returns: 'void',
    writes: ['dx'],
    overwrites: { dx: { unless: 'accumulate' } },
    disjoint: [
      ['dx', 'dy'],
      ['dx', 'x'],
    ],
    empty: 'NC*H*W',
    windows: MAX_POOL_WINDOWS,
  },

  /**
   * Average pooling, PyTorch's rule: y = (sum of the window's input elements) / d, where d is
   * divisor when it is not 0, else the window's size clipped to the padded input when
   * countIncludePad, else the number of input elements in it (a window with none gives 0).
   */
  avgPool2d: {
    params: [
      { name: 'x', kind: 'f32', count: 'NC*H*W' },
      ...AVG_POOL_SIZES,
      { name: 'y', kind: 'f32', count: 'NC*Ho*Wo' },
    ],
    returns: 'void',
    writes: ['y'],
    overwrites: { y: true },
    disjoint: [['y', 'x']],
    empty: 'NC*Ho*Wo',
    windows: AVG_POOL_WINDOWS,
  },

  /** avgPool2d's input gradient: each dy / d spread over its window's input elements, written (or added) into dx. */
  avgPool2dBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'NC*Ho*Wo' },
      ...AVG_POOL_SIZES,
      { name: 'accumulate', kind: 'bool' },
      { name: 'dx', kind: 'f32', count: 'NC*H*W' },
    ],
    returns: 'void',
    writes: ['dx'],
    overwrites: { dx: { unless: 'accumulate' } },
    disjoint: [['dx', 'dy']],
    empty: 'NC*H*W',
    windows: AVG_POOL_WINDOWS,
  },

  /**
   * Adaptive average pooling: y[p, oh, ow] = the mean of x[p, h, w] over h in
   * [floor(oh*H/Ho), ceil((oh+1)*H/Ho)) and w likewise (PyTorch's windows; NaN for an empty one).
   */
  adaptiveAvgPool2d: {
    params: [
      { name: 'x', kind: 'f32', count: 'NC*H*W' },
      { name: 'NC', kind: 'size' },
      { name: 'H', kind: 'size' },
      { name: 'W', kind: 'size' },
      { name: 'Ho', kind: 'size' },
      { name: 'Wo', kind: 'size' },
      { name: 'y', kind: 'f32', count: 'NC*Ho*Wo' },
    ],
    returns: 'void',
    writes: ['y'],
    overwrites: { y: true },
    disjoint: [['y', 'x']],
    empty: 'NC*Ho*Wo',
  },

  /** adaptiveAvgPool2d's input gradient, written (or added, when accumulate) into dx. */
  adaptiveAvgPool2dBackward: {
    params: [
      { name: 'dy', kind: 'f32', count: 'NC*Ho*Wo' },
      { name: 'NC', kind: 'size' },
      { name: 'H', kind: 'size' },
      { name: 'W', kind: 'size' },
      { name: 'Ho', kind: 'size' },
      { name: 'Wo', kind: 'size' },
      { name: 'accumulate', kind: 'bool' },
      { name: 'dx', kind: 'f32', count: 'NC*H*W' },
    ],
    returns: 'void',
    writes: ['dx'],
    overwrites: { dx: { unless: 'accumulate' } },
    disjoint: [['dx', 'dy']],
    empty: 'NC*H*W',
  },
} as const satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;
/** The kernels' names, in table order. */
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/**
 * The SIMD paths a native or wasm build may have (avx512: the avx2 kernels plus AVX-512F GEMM
 * tiles; simd128: WebAssembly's, the wasm build's only one besides scalar), in the order of
 * native/kernels/cpu.h's kSimdPaths (the wasm backend maps the module's path indices by it).
 */
export const SIMD_PATHS = ['scalar', 'avx2', 'avx512', 'neon', 'simd128'] as const;

// ---- the kernel function types, mapped from the table ----

type ParamType<P> = P extends { kind: 'f32' }
  ? Float32Array
  : P extends { kind: 'i32' }
    ? Int32Array
    : P extends { kind: 'f32?' }
      ? Float32Array | null
      : P extends { kind: 'bool' }
        ? boolean
        : number;

/** The argument tuple of a kernel, in call order (names: the table's `params`). */
export type KernelArgs<K extends KernelName> = ParamTypes<(typeof KERNELS)[K]['params']>;
// Mapping over a type parameter that is a tuple gives a tuple (what a rest parameter needs).
type ParamTypes<T extends readonly unknown[]> = { -readonly [I in keyof T]: ParamType<T[I]> };
export type KernelResult<K extends KernelName> = (typeof KERNELS)[K]['returns'] extends 'number' ? number : void;

/** One function per kernel; each keeps its table entry's doc comment. */
export type KernelFunctions = {
  [K in keyof typeof KERNELS]: (...args: KernelArgs<K>) => KernelResult<K>;
};

/** The condition under which an optional buffer is required, as the messages say it. */
export function conditionText(c: Condition): string {
  return 'is' in c ? `${c.param} is true` : `${c.param} ${c.op} ${c.value}`;
}

/**
 * An `overwrites` entry as a test of a call's (checked) arguments: true when this call
 * overwrites the output whole. `at` gives a parameter's index by name.
 */
export function overwriteTest(rule: Overwrite, at: (name: string) => number): (args: readonly unknown[]) => boolean {
  if (rule === true) return () => true;
  if ('unless' in rule) {
    const i = at(rule.unless);
    return (args) => args[i] === false;
  }
  const i = at(rule.whenZero);
  return (args) => args[i] === 0;
}

/** The size names a count multiplies ('N*C' -> ['N', 'C']). */
export function factors(expr: SizeExpr): string[] {
  return expr.split('*');
}
