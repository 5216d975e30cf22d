/**
 * The kernel interface: one set of kernels, implemented twice (the native addon and pure
 * TypeScript). Row-major float32 throughout; labels are Int32Array.
 *
 * Conventions shared by both backends:
 * - Sizes are non-negative integers. A buffer must hold at least the elements its sizes say
 *   (pass `subarray` views to work on part of a larger buffer).
 * - Outputs may alias inputs only where a kernel says so.
 * - The native backend checks every argument and throws TypeError (wrong count or type) or
 *   RangeError (a size, length or label out of range) naming the parameter. The TS backend
 *   performs the same checks, so both fail the same way.
 */

export type BackendName = 'native' | 'wasm' | 'ts';
/** avx512: the avx2 kernels plus AVX-512F GEMM tiles, on CPUs that have AVX-512F. */
export type SimdPath = 'avx512' | 'avx2' | 'neon' | 'scalar';

export interface Kernels {
  readonly name: BackendName;

  /**
   * C = alpha * op(A) * op(B) + beta * C, op(A) is M x K, op(B) is K x N, C is M x N.
   * A is stored K x M when transA, B is stored N x K when transB. With beta = 0, C is never
   * read (it may hold NaN).
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    alpha: number, A: Float32Array, B: Float32Array, beta: number, C: Float32Array,
  ): void;

  /**
   * Writes probs = softmax(logits) row by row (N rows of C) and returns the mean over rows of
   * -ln(probs[n, labels[n]]). Stable for any finite logits.
   */
  softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, N: number, C: number, probs: Float32Array): number;
  /** dlogits = (probs - onehot(labels)) / N. dlogits may alias probs. */
  softmaxCrossEntropyBackward(probs: Float32Array, labels: Int32Array, N: number, C: number, dlogits: Float32Array): void;

  /** y[n, c] = x[n, c] + bias[c] (x, y: N x C). y may alias x. */
  biasAdd(x: Float32Array, bias: Float32Array, N: number, C: number, y: Float32Array): void;
  /** dbias[c] = sum_n dy[n, c], or dbias[c] += that sum when accumulate. */
  biasGrad(dy: Float32Array, N: number, C: number, dbias: Float32Array, accumulate: boolean): void;

  /**
   * Fused bias + ReLU (a linear layer's epilogue): y[n, c] = max(x[n, c] + bias[c], 0), the
   * same values as biasAdd then relu. y may alias x.
   */
  biasRelu(x: Float32Array, bias: Float32Array, N: number, C: number, y: Float32Array): void;
  /**
   * Fused backward of biasRelu: dx = dy where y > 0 else 0 (y is biasRelu's output), and
   * dbias[c] = sum_n dx[n, c] (or dbias[c] += it when accumulate), the same values as
   * reluBackward then biasGrad. dx may alias dy.
   */
  biasReluBackward(
    dy: Float32Array, y: Float32Array, N: number, C: number, dx: Float32Array, dbias: Float32Array, accumulate: boolean,
  ): void;

  /** y = max(x, 0) over the first n elements. y may alias x. */
  relu(x: Float32Array, n: number, y: Float32Array): void;
  /** dx = dy where y > 0 else 0 (y is relu's output). dx may alias dy. */
  reluBackward(dy: Float32Array, y: Float32Array, n: number, dx: Float32Array): void;

  /**
   * In-place SGD update with PyTorch's rule (torch.optim.SGD). buf is the momentum buffer
   * (ignored, may be null, when momentum = 0); first says it has not been initialised yet.
   */
  sgdStep(
    param: Float32Array, grad: Float32Array, buf: Float32Array | null, n: number,
    lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, first: boolean,
  ): void;
  /**
   * In-place Adam (decoupled = false) or AdamW (decoupled = true) update, PyTorch's rule.
   * step >= 1 is the step count including this one. vmax is needed only with amsgrad.
   */
  adamStep(
    param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, n: number,
    step: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
    decoupled: boolean, amsgrad: boolean,
  ): void;
  /** In-place Adagrad update; clr = lr / (1 + (step - 1) * lrDecay) is computed by the caller. */
  adagradStep(
    param: Float32Array, grad: Float32Array, sum: Float32Array, n: number,
    clr: number, eps: number, weightDecay: number,
  ): void;
  /** In-place RMSprop update, PyTorch's rule. gavg needed when centered, buf when momentum > 0. */
  rmspropStep(
    param: Float32Array, grad: Float32Array, sq: Float32Array, gavg: Float32Array | null, buf: Float32Array | null,
    n: number, lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean,
  ): void;

  /** Threads the kernels use (always 1 for the TS backend). */
  getNumThreads(): number;
  /** Sets the thread count (an integer >= 1); the TS backend accepts and ignores it. */
  setNumThreads(n: number): void;
  /** The SIMD path in use: null for the TS backend. */
  simd(): SimdPath | null;
  /** Native only: the SIMD paths this CPU and binary can run (scalar always among them). */
  supportedSimd?(): SimdPath[];
  /** Native only: switches the SIMD path (tests use it); RangeError when unsupported. */
  setSimd?(path: SimdPath): void;
}
