// Float64 references for the kernel parity tests: plain loops that read like the documented
// semantics (lib/backend/types.ts, native/kernels/kernels.h), with no blocking and no float32
// rounding, plus a seeded random source so every run sees the same inputs.

/** float32 unit roundoff, 2^-24. */
export const U32 = 2 ** -24;

/** A seeded generator (mulberry32): uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi), as float32. */
export function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** n standard normal values (Box-Muller), as float32. */
export function normal(rand: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rand(),
      v = rand();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export interface GemmRef {
  /** alpha * op(A) * op(B) + beta * C in float64 (C not read when beta = 0). */
  value: Float64Array;
  /** sum_k |alpha * a * b| + |beta * c|: the scale of each element's rounding error. */
  scale: Float64Array;
}

/** The float64 reference product, a plain triple loop. alpha and beta are used as float32. */
export function gemmRef(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  B: Float32Array,
  beta: number,
  C: Float32Array,
): GemmRef {
  // op(A) as M rows of K, op(B) as N columns of K: the inner loop then reads both in order.
  const a = new Float64Array(M * K),
    bt = new Float64Array(N * K);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a[i * K + k] = transA ? A[k * M + i] : A[i * K + k];
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bt[j * K + k] = transB ? B[j * K + k] : B[k * N + j];
  const value = new Float64Array(M * N),
    scale = new Float64Array(M * N);
  const al = Math.fround(alpha),
    be = Math.fround(beta);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0,
        abs = 0;
      for (let k = 0, x = i * K, y = j * K; k < K; k++, x++, y++) {
        const p = a[x] * bt[y];
        s += p;
        abs += Math.abs(p);
      }
      const c = be === 0 ? 0 : be * C[i * N + j];
      value[i * N + j] = al * s + c;
      scale[i * N + j] = Math.abs(al) * abs + Math.abs(c);
    }
  }
  return { value, scale };
}

/**
 * The largest err / tol over the elements (<= 1 passes) and where it is. tol(i) is given per
 * element; a NaN anywhere in `got` (and not in `want`) counts as Infinity.
 */
export function worstRatio(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: (i: number) => number,
): { ratio: number; index: number; got: number; want: number } {
  let ratio = 0,
    index = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i],
      g = got[i];
    let r: number;
    if (Number.isNaN(w) && Number.isNaN(g)) r = 0;
    else if (g === w) r = 0;
    else {
      const err = Math.abs(g - w);
      r = Number.isNaN(err) ? Infinity : err / tol(i);
    }
    if (r > ratio) {
      ratio = r;
      index = i;
    }
  }
  return { ratio, index, got: got[index], want: want[index] };
}

/** Row-wise softmax and mean cross-entropy in float64 (log-sum-exp with the row max). */
export function softmaxRef(
  logits: Float32Array,
  labels: Int32Array,
  N: number,
  C: number,
): { probs: Float64Array; loss: number } {
  const probs = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[n * C + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[n * C + c] - mx);
    for (let c = 0; c < C; c++) probs[n * C + c] = Math.exp(logits[n * C + c] - mx) / sum;
    loss += Math.log(sum) + mx - logits[n * C + labels[n]];
  }
  return { probs, loss: N > 0 ? loss / N : 0 };
}

// ---------------------------------------------------------------------------------------------
// Optimizer rules, torch.optim 1.13 single-tensor form, in float64. State arrays are mutated.

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export function sgdRef(p: Float64Array, g32: Float32Array, buf: Float64Array, h: SgdHyper, first: boolean): void {
  for (let i = 0; i < p.length; i++) {
    let g = g32[i] + h.weightDecay * p[i];
    if (h.momentum !== 0) {
      buf[i] = first ? g : h.momentum * buf[i] + (1 - h.dampening) * g;
      g = h.nesterov ? g + h.momentum * buf[i] : buf[i];
    }
    p[i] -= h.lr * g;
  }
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  amsgrad: boolean;
}

export function adamRef(
  p: Float64Array,
  g32: Float32Array,
  m: Float64Array,
  v: Float64Array,
  vmax: Float64Array,
  step: number,
  h: AdamHyper,
): void {
  const bc1 = 1 - h.beta1 ** step,
    bc2 = 1 - h.beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    let g = g32[i];
    if (h.decoupled) p[i] *= 1 - h.lr * h.weightDecay;
    else g += h.weightDecay * p[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    let vv = v[i];
    if (h.amsgrad) vv = vmax[i] = Math.max(vmax[i], v[i]);
    const denom = Math.sqrt(vv) / Math.sqrt(bc2) + h.eps;
    p[i] -= ((h.lr / bc1) * m[i]) / denom;
  }
}

export function adagradRef(
  p: Float64Array,
  g32: Float32Array,
  sum: Float64Array,
  clr: number,
  eps: number,
  weightDecay: number,
): void {
  for (let i = 0; i < p.length; i++) {
    const g = g32[i] + weightDecay * p[i];
    sum[i] += g * g;
    p[i] -= (clr * g) / (Math.sqrt(sum[i]) + eps);
  }
}

export interface RmspropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export function rmspropRef(
  p: Float64Array,
  g32: Float32Array,
  sq: Float64Array,
  gavg: Float64Array,
  buf: Float64Array,
  h: RmspropHyper,
): void {
  for (let i = 0; i < p.length; i++) {
    const g = g32[i] + h.weightDecay * p[i];
    sq[i] = h.alpha * sq[i] + (1 - h.alpha) * g * g;
    let avg: number;
    if (h.centered) {
      gavg[i] = h.alpha * gavg[i] + (1 - h.alpha) * g;
      avg = Math.sqrt(sq[i] - gavg[i] * gavg[i]) + h.eps;
    } else {
      avg = Math.sqrt(sq[i]) + h.eps;
    }
    if (h.momentum > 0) {
      buf[i] = h.momentum * buf[i] + g / avg;
      p[i] -= h.lr * buf[i];
    } else {
      p[i] -= (h.lr * g) / avg;
    }
  }
}
