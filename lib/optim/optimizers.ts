/**
 * SGD, Adagrad, RMSprop, Adam and AdamW with PyTorch 1.13's update rules, defaults and state
 * names (torch.optim's single-tensor path). Each step is one fused kernel call per param
 * (kernels().sgdStep, ...), so the native backend does the arithmetic when it is active; the
 * exact rules are in native/kernels/kernels.h. State buffers are allocated at a param's first
 * step, except Adagrad's, which torch creates in the constructor.
 *
 * `maximize` is supported by all five: the kernels take the negated gradient, as torch negates
 * it before anything else.
 */
import { kernels } from '../backend/index.js';
import { checkOptions, optionKeys } from '../options.js';
import {
  Optimizer,
  checkBetas,
  checkNonNegative,
  type Param,
  type ParamGroup,
  type ParamGroupInit,
} from './optimizer.js';

/**
 * defaults overridden by the options that are not undefined. A key that is not among the
 * defaults' is refused (`weight_decay` from PyTorch code, say), naming `owner`.
 */
function withDefaults<H extends object>(owner: string, defaults: H, options: object | undefined): H {
  checkOptions(owner, options, Object.keys(defaults));
  const out: Record<string, unknown> = { ...(defaults as object) };
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) out[k] = v;
  return out as unknown as H;
}

/* ---------------------------------------------------------------------------------------- */

/** Options of SGD (torch.optim.SGD); each can be overridden per parameter group. */
export interface SGDOptions {
  /** Learning rate (required: SGD has no default, as in torch). */
  lr: number;
  /** Momentum factor; 0 is plain SGD. @defaultValue 0 */
  momentum?: number;
  /** Dampening of the momentum buffer's update (g is scaled by 1 - dampening). @defaultValue 0 */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). @defaultValue false */
  nesterov?: boolean;
  /** L2 penalty: weightDecay * param is added to the gradient. @defaultValue 0 */
  weightDecay?: number;
  /** Maximize the objective instead of minimizing it (steps along +grad). @defaultValue false */
  maximize?: boolean;
}
/** SGD's options with every default filled in, as each parameter group holds them. */
export type SGDHyper = Required<SGDOptions>;

/**
 * Stochastic gradient descent, optionally with (Nesterov) momentum, torch's form:
 * buf = momentum * buf + (1 - dampening) * g, param -= lr * buf. lr has no default.
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: Param[], options: SGDOptions);
  constructor(params: ParamGroupInit<SGDHyper>[], options?: Partial<SGDOptions>);
  constructor(params: Param[] | ParamGroupInit<SGDHyper>[], options?: Partial<SGDOptions>) {
    super(
      params,
      withDefaults(
        new.target.name,
        {
          lr: undefined as unknown as number,
          momentum: 0,
          dampening: 0,
          nesterov: false,
          weightDecay: 0,
          maximize: false,
        },
        options,
      ),
    );
  }

  protected override validate(g: ParamGroup & SGDHyper): void {
    checkNonNegative('lr', g.lr);
    checkNonNegative('momentum', g.momentum);
    checkNonNegative('weightDecay', g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new RangeError(
        `nesterov momentum requires momentum > 0 and dampening = 0, got momentum ${g.momentum}, dampening ${g.dampening}`,
      );
    }
  }

  protected override update(): void {
    const k = kernels();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        const grad = this.gradOf(p, g.maximize);
        const s = this.stateOf(p);
        let buf: Float32Array | null = null;
        let first = false;
        if (g.momentum !== 0) {
          first = !(s.momentum_buffer instanceof Float32Array);
          buf = this.buffer(s, 'momentum_buffer', p.data.length);
        } else if (!('momentum_buffer' in s)) {
          s.momentum_buffer = null; // torch records a None buffer without momentum
        }
        k.sgdStep(p.data, grad, buf, p.data.length, g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov, first);
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------- */

/** Options of Adagrad (torch.optim.Adagrad); each can be overridden per parameter group. */
export interface AdagradOptions {
  /** Learning rate. @defaultValue 1e-2 */
  lr?: number;
  /** The step size is lr / (1 + (step - 1) * lrDecay). @defaultValue 0 */
  lrDecay?: number;
  /** L2 penalty added to the gradient. @defaultValue 0 */
  weightDecay?: number;
  /** Starting value of the sum of squared gradients. @defaultValue 0 */
  initialAccumulatorValue?: number;
  /** Added to the denominator for numerical stability. @defaultValue 1e-10 */
  eps?: number;
  /** Maximize the objective instead of minimizing it. @defaultValue false */
  maximize?: boolean;
}
/** Adagrad's options with every default filled in, as each parameter group holds them. */
export type AdagradHyper = Required<AdagradOptions>;

/**
 * Adagrad: sum += g^2, param -= clr * g / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) * lrDecay).
 * Its state (step 0, sum = initialAccumulatorValue) exists from construction, as in torch;
 * a group's own initialAccumulatorValue is honoured (torch uses the constructor's for all).
 */
export class Adagrad extends Optimizer<AdagradHyper> {
  constructor(params: Param[] | ParamGroupInit<AdagradHyper>[], options?: AdagradOptions) {
    super(
      params,
      withDefaults(
        new.target.name,
        { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false },
        options,
      ),
    );
    for (const g of this.paramGroups) for (const p of g.params) this.initState(p, g);
  }

  private initState(p: Param, g: AdagradHyper): { step: number; sum: Float32Array } {
    const s = this.stateOf(p);
    if (typeof s.step !== 'number') s.step = 0;
    this.buffer(s, 'sum', p.data.length, g.initialAccumulatorValue);
    return s as { step: number; sum: Float32Array };
  }

  protected override validate(g: ParamGroup & AdagradHyper): void {
    checkNonNegative('lr', g.lr);
    checkNonNegative('lrDecay', g.lrDecay);
    checkNonNegative('weightDecay', g.weightDecay);
    checkNonNegative('initialAccumulatorValue', g.initialAccumulatorValue);
    checkNonNegative('eps', g.eps);
  }

  protected override update(): void {
    const k = kernels();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        const grad = this.gradOf(p, g.maximize);
        const s = this.initState(p, g);
        s.step += 1;
        const clr = g.lr / (1 + (s.step - 1) * g.lrDecay);
        k.adagradStep(p.data, grad, s.sum, p.data.length, clr, g.eps, g.weightDecay);
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------- */

/** Options of RMSprop (torch.optim.RMSprop); each can be overridden per parameter group. */
export interface RMSpropOptions {
  /** Learning rate. @defaultValue 1e-2 */
  lr?: number;
  /** Smoothing constant of the running average of squared gradients. @defaultValue 0.99 */
  alpha?: number;
  /** Added to the denominator for numerical stability. @defaultValue 1e-8 */
  eps?: number;
  /** L2 penalty added to the gradient. @defaultValue 0 */
  weightDecay?: number;
  /** Momentum factor. @defaultValue 0 */
  momentum?: number;
  /**
   * Normalize by the estimated variance of the gradient (subtracting its running mean) instead of its raw second
   * moment. @defaultValue false
   */
  centered?: boolean;
  /** Maximize the objective instead of minimizing it. @defaultValue false */
  maximize?: boolean;
}
/** RMSprop's options with every default filled in, as each parameter group holds them. */
export type RMSpropHyper = Required<RMSpropOptions>;

/**
 * RMSprop, torch's form: eps is added after the square root, momentum accumulates g / avg,
 * centered subtracts the squared running mean of g.
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: Param[] | ParamGroupInit<RMSpropHyper>[], options?: RMSpropOptions) {
    super(
      params,
      withDefaults(
        new.target.name,
        { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
        options,
      ),
    );
  }

  protected override validate(g: ParamGroup & RMSpropHyper): void {
    checkNonNegative('lr', g.lr);
    checkNonNegative('eps', g.eps);
    checkNonNegative('momentum', g.momentum);
    checkNonNegative('weightDecay', g.weightDecay);
    checkNonNegative('alpha', g.alpha);
  }

  protected override update(): void {
    const k = kernels();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        const grad = this.gradOf(p, g.maximize);
        const n = p.data.length;
        const s = this.stateOf(p);
        s.step = (typeof s.step === 'number' ? s.step : 0) + 1;
        const sq = this.buffer(s, 'square_avg', n);
        const buf = g.momentum > 0 ? this.buffer(s, 'momentum_buffer', n) : null;
        const gavg = g.centered ? this.buffer(s, 'grad_avg', n) : null;
        k.rmspropStep(p.data, grad, sq, gavg, buf, n, g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, g.centered);
      }
    }
  }
}

/* ---------------------------------------------------------------------------------------- */

/** Options of Adam and AdamW (torch.optim.Adam / AdamW); each can be overridden per parameter group. */
export interface AdamOptions {
  /** Learning rate. @defaultValue 1e-3 */
  lr?: number;
  /** Decay rates of the running averages of the gradient and of its square. @defaultValue [0.9, 0.999] */
  betas?: [number, number];
  /** Added to the denominator for numerical stability. @defaultValue 1e-8 */
  eps?: number;
  /**
   * Adam: L2 penalty added to the gradient; AdamW: decoupled decay, param *= 1 - lr * weightDecay. @defaultValue 0 for
   * Adam, 1e-2 for AdamW
   */
  weightDecay?: number;
  /** Use the AMSGrad variant (keeps the maximum of the second-moment estimates). @defaultValue false */
  amsgrad?: boolean;
  /** Maximize the objective instead of minimizing it. @defaultValue false */
  maximize?: boolean;
}
const ADAM_KEYS = optionKeys<AdamOptions>()('lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize');
/** Adam's options with every default filled in, as each parameter group holds them. */
export type AdamHyper = Required<AdamOptions>;

/** Adam; weightDecay is the L2 penalty added to the gradient (AdamW decouples it). */
export class Adam extends Optimizer<AdamHyper> {
  /** AdamW: param *= 1 - lr * weightDecay instead of g += weightDecay * param. */
  protected readonly decoupled: boolean = false;

  constructor(params: Param[] | ParamGroupInit<AdamHyper>[], options?: AdamOptions) {
    super(
      params,
      withDefaults(
        new.target.name,
        {
          lr: 1e-3,
          betas: [0.9, 0.999] as [number, number],
          eps: 1e-8,
          weightDecay: 0,
          amsgrad: false,
          maximize: false,
        },
        options,
      ),
    );
  }

  protected override validate(g: ParamGroup & AdamHyper): void {
    checkNonNegative('lr', g.lr);
    checkNonNegative('eps', g.eps);
    checkBetas(g.betas);
    checkNonNegative('weightDecay', g.weightDecay);
  }

  protected override update(): void {
    const k = kernels();
    for (const g of this.paramGroups) {
      const [beta1, beta2] = g.betas;
      for (const p of g.params) {
        if (p.grad === null) continue;
        const grad = this.gradOf(p, g.maximize);
        const n = p.data.length;
        const s = this.stateOf(p);
        const step = (typeof s.step === 'number' ? s.step : 0) + 1;
        s.step = step;
        const m = this.buffer(s, 'exp_avg', n);
        const v = this.buffer(s, 'exp_avg_sq', n);
        const vmax = g.amsgrad ? this.buffer(s, 'max_exp_avg_sq', n) : null;
        k.adamStep(
          p.data,
          grad,
          m,
          v,
          vmax,
          n,
          step,
          g.lr,
          beta1,
          beta2,
          g.eps,
          g.weightDecay,
          this.decoupled,
          g.amsgrad,
        );
      }
    }
  }
}

/** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, default weightDecay 1e-2. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: Param[] | ParamGroupInit<AdamHyper>[], options?: AdamOptions) {
    // AdamW differs from Adam only in its default weight decay (torch's 1e-2)
    checkOptions('AdamW', options, ADAM_KEYS);
    super(params, { ...options, weightDecay: options?.weightDecay ?? 1e-2 });
  }
}
