/**
 * Numerical gradient check: the analytic gradient from backward() against centred finite
 * differences, for every input that requires grad.
 *
 * The output is reduced to a scalar f = sum_k w_k y_k with fixed random weights w (so every
 * output element matters and errors cannot cancel by symmetry). backward(w) gives df/dx
 * analytically; numerically, each element x_i is perturbed by +-h and
 * (f(x + h) - f(x - h)) / (h+ + h-) is formed in float64, h+ and h- being the perturbations
 * actually stored after float32 rounding.
 *
 * Defaults, chosen for float32 storage (unit roundoff u = 6e-8):
 * - eps = 1e-2, scaled by max(1, |x_i|): the rounding noise of f divided by h is about
 *   u |f| / h ~ 1e-5 for |f| ~ 10, while the truncation error h^2 f''' / 6 stays ~1e-5 for
 *   well-scaled functions. A smaller h (1e-6, the float64 habit) would leave only rounding
 *   noise. Keep inputs farther than h from kinks (relu at 0, max ties).
 * - atol = 1e-3, rtol = 1e-2: pass when |analytic - numeric| <= atol + rtol |numeric|, a few
 *   times above that noise, yet far below a real bug (a wrong factor, a missing term).
 */
import { Rng } from '../random.js';
import { backward } from './backward.js';
import { noGrad } from './graph.js';
import { checkTensor, type Tensor } from './tensor.js';
import { checkOptions, optionKeys } from '../options.js';

/** Options of gradcheck(); the defaults suit float32 (see the module notes). */
export interface GradcheckOptions {
  /** Relative step: h = eps * max(1, |x|). Default 1e-2. */
  eps?: number;
  /** Default 1e-3. */
  atol?: number;
  /** Default 1e-2. */
  rtol?: number;
  /** Throw a descriptive Error when the check fails. Default false. */
  throwOnFail?: boolean;
  /** Seed of the output weights. Default 0. */
  seed?: number;
}
export const GRADCHECK_KEYS = optionKeys<GradcheckOptions>()('eps', 'atol', 'rtol', 'throwOnFail', 'seed');

/** The checked element with the largest error, for the failure message. */
export interface GradcheckWorst {
  /** Position of the input in `inputs`. */
  input: number;
  /** Flat (row-major) index of the element. */
  index: number;
  /** The gradient backward() computed for this element. */
  analytic: number;
  /** The central finite-difference estimate for this element. */
  numeric: number;
}

/** What gradcheck() found. */
export interface GradcheckResult {
  /** True when every checked element passes |analytic - numeric| <= atol + rtol |numeric|. */
  ok: boolean;
  /** max |a - n| / max(|a|, |n|, atol / rtol) over all checked elements. */
  maxRelError: number;
  /** max |a - n| over all checked elements. */
  maxAbsError: number;
  /** The element farthest outside (or least inside) the tolerance; null if none was checked. */
  worst: GradcheckWorst | null;
  /** Number of elements checked. */
  checked: number;
}

/**
 * Checks the gradients backward() gives for fn against central finite differences, for every input that requires grad
 * (torch.autograd.gradcheck, with float32 tolerances). Returns the figures; with throwOnFail, throws when they fail.
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  checkOptions('gradcheck', opts, GRADCHECK_KEYS);
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  if (!(eps > 0)) throw new RangeError(`gradcheck: eps must be > 0, got ${eps}`);
  if (!(atol >= 0) || !(rtol >= 0) || atol + rtol === 0) {
    throw new RangeError(`gradcheck: atol and rtol must be >= 0 and not both 0, got ${atol}, ${rtol}`);
  }
  inputs.forEach((t, i) => {
    checkTensor(t, 'gradcheck', `inputs[${i}]`);
    if (!t.isLeaf) throw new RangeError(`gradcheck: inputs[${i}] must be a leaf tensor`);
  });
  const saved = inputs.map((t) => t.grad);
  let analytic: (Float32Array | null)[];
  let w: Float32Array;
  try {
    for (const t of inputs) t.grad = null;
    const out = fn(...inputs);
    if (!out.requiresGrad) throw new Error('gradcheck: the output does not depend on any input that requires grad');
    w = new Rng(opts.seed ?? 0).fillUniform(new Float32Array(out.data.length), -1, 1) as Float32Array;
    backward(out, w, false);
    analytic = inputs.map((t) => (t.requiresGrad ? (t.grad?.data ?? new Float32Array(t.data.length)) : null));
  } finally {
    inputs.forEach((t, i) => {
      t.grad = saved[i];
    });
  }

  const f = (): number => {
    const y = noGrad(() => fn(...inputs)).data;
    let s = 0;
    for (let k = 0; k < y.length; k++) s += w[k] * y[k];
    return s;
  };

  let ok = true;
  let maxRel = 0,
    maxAbs = 0,
    worstRatio = -1,
    checked = 0;
  let worst: GradcheckWorst | null = null;
  const floor = rtol > 0 ? atol / rtol : 0;
  for (let j = 0; j < inputs.length; j++) {
    const an = analytic[j];
    if (an === null) continue;
    const x = inputs[j].data;
    for (let i = 0; i < x.length; i++) {
      const orig = x[i];
      const h = eps * Math.max(1, Math.abs(orig));
      let fp: number, fm: number, hp: number, hm: number;
      try {
        x[i] = orig + h;
        hp = x[i] - orig;
        fp = f();
        x[i] = orig - h;
        hm = orig - x[i];
        fm = f();
      } finally {
        x[i] = orig;
      }
      const numeric = (fp - fm) / (hp + hm);
      const a = an[i];
      const diff = Math.abs(a - numeric);
      const allowed = atol + rtol * Math.abs(numeric);
      const ratio = diff / allowed;
      checked++;
      if (!(diff <= allowed)) ok = false; // NaN fails too
      const rel = diff / Math.max(Math.abs(a), Math.abs(numeric), floor, Number.MIN_VALUE);
      if (rel > maxRel || rel !== rel) maxRel = rel !== rel ? Infinity : rel;
      if (diff > maxAbs || diff !== diff) maxAbs = diff !== diff ? Infinity : diff;
      if (ratio > worstRatio || ratio !== ratio) {
        worstRatio = ratio !== ratio ? Infinity : ratio;
        worst = { input: j, index: i, analytic: a, numeric };
      }
    }
  }
  const result: GradcheckResult = { ok, maxRelError: maxRel, maxAbsError: maxAbs, worst, checked };
  if (!ok && opts.throwOnFail) {
    const wst = worst!;
    const shape = inputs[wst.input].shape;
    throw new Error(
      `gradcheck failed: input ${wst.input} (shape [${shape.join(',')}]) element ${wst.index}${unravel(wst.index, shape)}: ` +
        `analytic ${wst.analytic} vs numeric ${wst.numeric} (|diff| ${Math.abs(wst.analytic - wst.numeric).toExponential(3)} > ` +
        `atol ${atol} + rtol ${rtol} * |numeric|); max relative error ${maxRel.toExponential(3)} over ${checked} elements`,
    );
  }
  return result;
}

function unravel(index: number, shape: readonly number[]): string {
  if (shape.length < 2) return '';
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(index % shape[d]);
    index = Math.floor(index / shape[d]);
  }
  return ` (at [${idx.join(',')}])`;
}
