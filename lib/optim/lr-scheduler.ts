/**
 * Learning-rate schedulers with torch.optim.lr_scheduler's (1.13) semantics and arithmetic:
 * constructing one records each group's initialLr (torch's initial_lr) and performs the
 * initial step (lastEpoch -1 -> 0); call step() after optimizer.step(). The chainable
 * (recursive) forms of get_lr are used, as torch does when step() gets no epoch, so the
 * numbers match torch's to the last bit or within an ulp of Math.cos.
 *
 * stateDict() uses torch's key names (base_lrs, last_epoch, _step_count, _last_lr, step_size,
 * ...); it holds plain numbers and arrays, so it survives JSON (ReduceLROnPlateau's infinite
 * initial best becomes null, which loadStateDict reads back as "no best yet").
 */
import { checkOptions, optionKeys } from '../options.js';
import { Optimizer, type ParamGroup } from './optimizer.js';

/** Any optimizer: schedulers only read and write its groups' lr (and momentum / betas). */
type AnyOptimizer = Optimizer<{ lr: number }>;

const SPECIAL_KEYS: Record<string, string> = {
  stepCount: '_step_count',
  lastLr: '_last_lr',
  schedulePhases: '_schedule_phases',
};
const toSnake = (k: string): string => SPECIAL_KEYS[k] ?? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamel = (k: string): string => {
  for (const [camel, snake] of Object.entries(SPECIAL_KEYS)) if (snake === k) return camel;
  return k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
};

function checkOptimizer(optimizer: unknown): asserts optimizer is AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) throw new TypeError(`${String(optimizer)} is not an Optimizer`);
}

function perGroup(name: string, optimizer: AnyOptimizer, value: number | readonly number[]): number[] {
  const n = optimizer.paramGroups.length;
  if (typeof value === 'number') return new Array<number>(n).fill(value);
  if (!Array.isArray(value) || value.length !== n) {
    throw new RangeError(
      `expected ${n} values for ${name}, got ${Array.isArray(value) ? value.length : String(value)}`,
    );
  }
  return [...value];
}

/** Own fields in torch's snake_case, except the optimizer. */
function snapshot(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== 'optimizer') out[toSnake(k)] = structuredClone(v);
  return out;
}

/** Assigns the known fields of a snapshot (unknown keys, like torch's verbose, are ignored). */
function restore(obj: object, dict: Record<string, unknown>): void {
  if (dict === null || typeof dict !== 'object') throw new TypeError('loadStateDict: expected an object');
  const target = obj as Record<string, unknown>;
  for (const [k, v] of Object.entries(dict)) {
    const key = toCamel(k);
    if (key !== 'optimizer' && Object.hasOwn(target, key)) target[key] = structuredClone(v);
  }
}

/**
 * When a training loop calls step(): after every batch, after every epoch, or after every epoch
 * with the monitored metric (fit reads it; torch leaves it to the user's loop).
 */
export type StepOn = 'batch' | 'epoch' | 'metric';

/** Options every epoch-indexed scheduler takes. */
export interface SchedulerOptions {
  /** The index of the last epoch when resuming (groups must then hold initialLr); default -1. */
  lastEpoch?: number;
}

/** The base of the epoch-indexed schedulers (torch's _LRScheduler). */
export abstract class LRScheduler {
  /** The optimizer whose groups' lr this scheduler sets. */
  readonly optimizer: AnyOptimizer;
  /** Each group's initialLr when the scheduler was built (torch's base_lrs). */
  baseLrs: number[] = [];
  /** How many times step() has run, less one: 0 right after construction (torch's last_epoch). */
  lastEpoch = -1;
  /** Calls of step(), the constructor's initial one included (torch's _step_count). */
  stepCount = 0;
  /** The learning rates the last step() set, one per group (torch's _last_lr); read it through getLastLr(). */
  lastLr: number[] = [];

  protected constructor(optimizer: AnyOptimizer) {
    checkOptimizer(optimizer);
    this.optimizer = optimizer;
  }

  /** Called at the end of each subclass constructor, once its own fields are set. */
  protected init(lastEpoch = -1): void {
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new RangeError(`param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`);
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.stepCount = 0;
    this.step();
  }

  // A getter, not a field: stateDict() holds own fields only, in torch's key names.
  /** Stepped once per epoch, unless the subclass says otherwise. */
  get stepOn(): 'batch' | 'epoch' {
    return 'epoch';
  }

  /** The learning rates for this.lastEpoch, from the groups' current ones (chainable form). */
  protected abstract getLr(): number[];

  /** Advances one epoch (or batch) and sets every group's lr. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last step() set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /**
   * A JSON-safe snapshot of the schedule's position and settings, in torch's key names (base_lrs, last_epoch, ...), as
   * torch's state_dict().
   */
  stateDict(): Record<string, unknown> {
    return snapshot(this);
  }

  /** Restores a stateDict() snapshot (torch's too); unknown keys such as torch's verbose are ignored. */
  loadStateDict(dict: Record<string, unknown>): void {
    restore(this, dict);
  }
}

/* ---------------------------------------------------------------------------------------- */

/** Options of StepLR (torch.optim.lr_scheduler.StepLR). */
export interface StepLROptions extends SchedulerOptions {
  /** Epochs between two decays (an integer >= 1). */
  stepSize: number;
  /** Factor the lr is multiplied by every stepSize epochs. @defaultValue 0.1 */
  gamma?: number;
}
const STEP_LR_KEYS = optionKeys<StepLROptions>()('stepSize', 'gamma', 'lastEpoch');

/** Multiplies each group's lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  /** Epochs between two decays (from StepLROptions.stepSize). */
  stepSize: number;
  /** Decay factor applied every stepSize epochs (default 0.1). */
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    super(optimizer);
    checkOptions('StepLR', options, STEP_LR_KEYS);
    const { stepSize, gamma = 0.1, lastEpoch = -1 } = options;
    if (!Number.isInteger(stepSize) || stepSize < 1)
      throw new RangeError(`stepSize must be an integer >= 1, got ${stepSize}`);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.init(lastEpoch);
  }

  protected override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

/** Options of MultiStepLR (torch.optim.lr_scheduler.MultiStepLR). */
export interface MultiStepLROptions extends SchedulerOptions {
  /**
   * Epoch indices at which the lr is multiplied by gamma (any order; a repeated one applies gamma once per listing).
   */
  milestones: number[];
  /** Factor applied at each milestone. @defaultValue 0.1 */
  gamma?: number;
}
const MULTI_STEP_LR_KEYS = optionKeys<MultiStepLROptions>()('milestones', 'gamma', 'lastEpoch');

/** Multiplies each group's lr by gamma at each milestone (by gamma^k for a milestone listed k times). */
export class MultiStepLR extends LRScheduler {
  /** The milestones, sorted ascending. */
  milestones: number[];
  /** Factor applied at each milestone (default 0.1). */
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: MultiStepLROptions) {
    super(optimizer);
    checkOptions('MultiStepLR', options, MULTI_STEP_LR_KEYS);
    const { milestones, gamma = 0.1, lastEpoch = -1 } = options;
    if (!Array.isArray(milestones)) throw new TypeError('milestones must be an array of epoch indices');
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
    this.init(lastEpoch);
  }

  /** Also reads torch's form of milestones, a Counter ({ epoch: times }). */
  override loadStateDict(dict: Record<string, unknown>): void {
    super.loadStateDict(dict);
    const m = this.milestones as unknown;
    if (m !== null && typeof m === 'object' && !Array.isArray(m)) {
      this.milestones = Object.entries(m as Record<string, number>)
        .flatMap(([epoch, times]) => new Array<number>(times).fill(Number(epoch)))
        .sort((a, b) => a - b);
    }
  }

  protected override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma ** count);
  }
}

/** Options of ExponentialLR (torch.optim.lr_scheduler.ExponentialLR). */
export interface ExponentialLROptions extends SchedulerOptions {
  /** Factor the lr is multiplied by every epoch (e.g. 0.95). */
  gamma: number;
}
const EXPONENTIAL_LR_KEYS = optionKeys<ExponentialLROptions>()('gamma', 'lastEpoch');

/** Multiplies each group's lr by gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  /** Factor the lr is multiplied by every epoch. */
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    super(optimizer);
    checkOptions('ExponentialLR', options, EXPONENTIAL_LR_KEYS);
    const { gamma, lastEpoch = -1 } = options;
    if (typeof gamma !== 'number') throw new TypeError(`gamma must be a number, got ${String(gamma)}`);
    this.gamma = gamma;
    this.init(lastEpoch);
  }

  protected override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

/** Options of CosineAnnealingLR (torch.optim.lr_scheduler.CosineAnnealingLR). */
export interface CosineAnnealingLROptions extends SchedulerOptions {
  /** Epochs of a half cosine period: the lr reaches etaMin after tMax steps, then rises again. */
  tMax: number;
  /** The lowest learning rate of the schedule. @defaultValue 0 */
  etaMin?: number;
}
const COSINE_LR_KEYS = optionKeys<CosineAnnealingLROptions>()('tMax', 'etaMin', 'lastEpoch');

/**
 * Cosine annealing from the initial lr to etaMin over tMax epochs, then back up (SGDR without
 * restarts), in torch's recursive form: each lr is computed from the previous one.
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Epochs of a half cosine period. */
  tMax: number;
  /** The lowest learning rate (default 0). */
  etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer);
    checkOptions('CosineAnnealingLR', options, COSINE_LR_KEYS);
    const { tMax, etaMin = 0, lastEpoch = -1 } = options;
    if (!(tMax > 0)) throw new RangeError(`tMax must be > 0, got ${tMax}`);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.init(lastEpoch);
  }

  protected override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if ((e - 1 - T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }
}

/* ---------------------------------------------------------------------------------------- */

/** Options of OneCycleLR (torch.optim.lr_scheduler.OneCycleLR). Give totalSteps, or epochs and stepsPerEpoch. */
export interface OneCycleLROptions extends SchedulerOptions {
  /** The peak learning rate, one for all groups or one per group. */
  maxLr: number | number[];
  /** Batches in the whole schedule; if left out, epochs * stepsPerEpoch. */
  totalSteps?: number;
  /** Epochs of training, used with stepsPerEpoch when totalSteps is left out. */
  epochs?: number;
  /** Batches per epoch (e.g. Math.ceil(n / batchSize)), used with epochs when totalSteps is left out. */
  stepsPerEpoch?: number;
  /** Fraction of the steps spent raising the lr. @defaultValue 0.3 */
  pctStart?: number;
  /** How the lr moves between its end points: a half cosine or a straight line. @defaultValue 'cos' */
  annealStrategy?: 'cos' | 'linear';
  /** Whether momentum (SGD, RMSprop) or beta1 (Adam, AdamW) moves inversely to the lr. @defaultValue true */
  cycleMomentum?: boolean;
  /** The lowest momentum, reached at the lr's peak. @defaultValue 0.85 */
  baseMomentum?: number | number[];
  /** The highest momentum, at the start and the end of the cycle. @defaultValue 0.95 */
  maxMomentum?: number | number[];
  /** The starting lr is maxLr / divFactor. @defaultValue 25 */
  divFactor?: number;
  /** The final lr is the starting lr / finalDivFactor. @defaultValue 1e4 */
  finalDivFactor?: number;
  /**
   * Add a third phase that anneals to the final lr after a symmetric rise and fall. @defaultValue
   * false
   */
  threePhase?: boolean;
}
const ONE_CYCLE_LR_KEYS = optionKeys<OneCycleLROptions>()(
  'maxLr',
  'totalSteps',
  'epochs',
  'stepsPerEpoch',
  'pctStart',
  'annealStrategy',
  'cycleMomentum',
  'baseMomentum',
  'maxMomentum',
  'divFactor',
  'finalDivFactor',
  'threePhase',
  'lastEpoch',
);

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin): lr rises from maxLr / divFactor to maxLr over pctStart of
 * totalSteps, then falls to initialLr / finalDivFactor; momentum (SGD, RMSprop) or beta1
 * (Adam, AdamW) moves the opposite way between maxMomentum and baseMomentum. Step it once per
 * batch. Sets the groups' initialLr, maxLr, minLr, maxMomentum and baseMomentum.
 */
export class OneCycleLR extends LRScheduler {
  /** Batches in the whole schedule. */
  totalSteps: number;
  /**
   * The phases of the cycle: where each ends and which group fields its lr and momentum move between (torch's
   * _schedule_phases).
   */
  schedulePhases: Phase[];
  /** How the lr moves within a phase: half cosine or straight line (default 'cos'). */
  annealStrategy: 'cos' | 'linear';
  /** Whether momentum or beta1 moves inversely to the lr (default true). */
  cycleMomentum: boolean;
  /** True when the optimizer has betas (Adam, AdamW), so beta1 plays momentum's part. */
  useBeta1: boolean;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    super(optimizer);
    checkOptions('OneCycleLR', options, ONE_CYCLE_LR_KEYS);
    const {
      maxLr,
      totalSteps,
      epochs,
      stepsPerEpoch,
      pctStart = 0.3,
      annealStrategy = 'cos',
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
      divFactor = 25,
      finalDivFactor = 1e4,
      threePhase = false,
      lastEpoch = -1,
    } = options;
    if (totalSteps === undefined && epochs === undefined && stepsPerEpoch === undefined) {
      throw new TypeError('You must define either totalSteps OR (epochs AND stepsPerEpoch)');
    } else if (totalSteps !== undefined) {
      if (!Number.isInteger(totalSteps) || totalSteps <= 0) {
        throw new RangeError(`Expected positive integer totalSteps, but got ${totalSteps}`);
      }
      this.totalSteps = totalSteps;
    } else {
      if (!Number.isInteger(epochs) || epochs! <= 0)
        throw new RangeError(`Expected positive integer epochs, but got ${epochs}`);
      if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch! <= 0) {
        throw new RangeError(`Expected positive integer stepsPerEpoch, but got ${stepsPerEpoch}`);
      }
      this.totalSteps = epochs! * stepsPerEpoch!;
    }
    const T = this.totalSteps;
    this.schedulePhases = threePhase
      ? [
          {
            endStep: pctStart * T - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: 2 * pctStart * T - 2,
            startLr: 'maxLr',
            endLr: 'initialLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
          {
            endStep: T - 1,
            startLr: 'initialLr',
            endLr: 'minLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'maxMomentum',
          },
        ]
      : [
          {
            endStep: pctStart * T - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: T - 1,
            startLr: 'maxLr',
            endLr: 'minLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
        ];
    if (!(pctStart >= 0 && pctStart <= 1))
      throw new RangeError(`Expected pctStart between 0 and 1, but got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new RangeError(`annealStrategy must be one of 'cos' or 'linear', got ${String(annealStrategy)}`);
    }
    this.annealStrategy = annealStrategy;

    const groups = optimizer.paramGroups;
    const maxLrs = perGroup('maxLr', optimizer, maxLr);
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
    }
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = 'betas' in optimizer.defaults;
    if (cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !this.useBeta1) {
        throw new RangeError('optimizer must support momentum (or betas) with the cycleMomentum option enabled');
      }
      const maxMs = perGroup('maxMomentum', optimizer, maxMomentum);
      const baseMs = perGroup('baseMomentum', optimizer, baseMomentum);
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          this.setMomentum(g, maxMs[i]);
          g.maxMomentum = maxMs[i];
          g.baseMomentum = baseMs[i];
        });
      }
    }
    this.init(lastEpoch);
  }

  /** The 1cycle schedule counts batches, not epochs. */
  override get stepOn(): 'batch' {
    return 'batch';
  }

  private setMomentum(g: ParamGroup, m: number): void {
    if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected override getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(
        `Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`,
      );
    }
    const phases = this.schedulePhases;
    return this.optimizer.paramGroups.map((g) => {
      let startStep = 0;
      let lr = NaN;
      for (let i = 0; i < phases.length; i++) {
        const p = phases[i];
        if (stepNum <= p.endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (p.endStep - startStep);
          lr = this.anneal(g[p.startLr] as number, g[p.endLr] as number, pct);
          if (this.cycleMomentum) {
            this.setMomentum(g, this.anneal(g[p.startMomentum] as number, g[p.endMomentum] as number, pct));
          }
          break;
        }
        startStep = p.endStep;
      }
      return lr;
    });
  }
}

/* ---------------------------------------------------------------------------------------- */

/** Options of ReduceLROnPlateau (torch.optim.lr_scheduler.ReduceLROnPlateau). */
export interface ReduceLROnPlateauOptions {
  /** 'min': lower is better (a loss); 'max': higher is better (an accuracy). @defaultValue 'min' */
  mode?: 'min' | 'max';
  /** Factor the lr is multiplied by on a plateau (must be < 1). @defaultValue 0.1 */
  factor?: number;
  /** Epochs without improvement tolerated before the lr is reduced. @defaultValue 10 */
  patience?: number;
  /** How much better a value must be to count as an improvement (see thresholdMode). @defaultValue 1e-4 */
  threshold?: number;
  /** 'rel': better than best * (1 -/+ threshold); 'abs': better than best -/+ threshold. @defaultValue 'rel' */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again. @defaultValue 0 */
  cooldown?: number;
  /** Lower bound of the lr, one for all groups or one per group. @defaultValue 0 */
  minLr?: number | number[];
  /** A reduction smaller than this is skipped. @defaultValue 1e-8 */
  eps?: number;
}
const PLATEAU_KEYS = optionKeys<ReduceLROnPlateauOptions>()(
  'mode',
  'factor',
  'patience',
  'threshold',
  'thresholdMode',
  'cooldown',
  'minLr',
  'eps',
);

/**
 * Multiplies the lr by factor once the metric passed to step(metric) has not improved (by more
 * than threshold) for more than patience steps; then waits cooldown steps. Changes smaller than
 * eps are skipped. Not an LRScheduler: it makes no initial step and sets no initialLr.
 */
export class ReduceLROnPlateau {
  /** The optimizer whose groups' lr this scheduler reduces. */
  readonly optimizer: AnyOptimizer;
  /** Factor applied on a plateau (default 0.1). */
  factor: number;
  /** Lower bound of each group's lr (default 0). */
  minLrs: number[];
  /** Epochs without improvement tolerated (default 10). */
  patience: number;
  /** Epochs to wait after a reduction (default 0). */
  cooldown: number;
  /** Cooldown epochs still to wait (torch's cooldown_counter). */
  cooldownCounter = 0;
  /** Whether lower ('min', the default) or higher ('max') values are better. */
  mode: 'min' | 'max';
  /** Least improvement that counts (default 1e-4, see thresholdMode). */
  threshold: number;
  /** Whether threshold is relative ('rel', the default) or absolute ('abs'). */
  thresholdMode: 'rel' | 'abs';
  /** The best metric seen so far (the worst possible value before the first step). */
  best = Infinity;
  /** Consecutive epochs without improvement (torch's num_bad_epochs). */
  numBadEpochs = 0;
  /** The worst possible value for mode: Infinity for 'min', -Infinity for 'max' (torch's mode_worse). */
  modeWorse = Infinity;
  /** Smallest reduction applied (default 1e-8). */
  eps: number;
  /** Calls of step(metric) so far. */
  lastEpoch = 0;
  /** The learning rates after the last step(), one per group; read it through getLastLr(). */
  lastLr: number[];

  constructor(optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    checkOptimizer(optimizer);
    checkOptions('ReduceLROnPlateau', options, PLATEAU_KEYS);
    const {
      mode = 'min',
      factor = 0.1,
      patience = 10,
      threshold = 1e-4,
      thresholdMode = 'rel',
      cooldown = 0,
      minLr = 0,
      eps = 1e-8,
    } = options;
    if (!(factor < 1)) throw new RangeError(`factor must be < 1, got ${factor}`);
    this.optimizer = optimizer;
    this.factor = factor;
    this.minLrs = perGroup('minLr', optimizer, minLr);
    this.patience = patience;
    this.cooldown = cooldown;
    this.mode = mode;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.eps = eps;
    this.initIsBetter();
    this.best = this.modeWorse;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private initIsBetter(): void {
    if (this.mode !== 'min' && this.mode !== 'max')
      throw new RangeError(`mode must be 'min' or 'max', got ${String(this.mode)}`);
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') {
      throw new RangeError(`thresholdMode must be 'rel' or 'abs', got ${String(this.thresholdMode)}`);
    }
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** Stepped once per epoch with the monitored value (fit: the validation loss, else the training loss). */
  get stepOn(): 'metric' {
    return 'metric';
  }

  /** True while the scheduler waits after a reduction and counts no bad epochs. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Records this epoch's metric (e.g. the validation loss) and reduces the lr if it plateaued. */
  step(metric: number): void {
    const current = Number(metric);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const oldLr = g.lr;
        const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
        if (oldLr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last step() left, one per group (torch's get_last_lr()). */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** A JSON-safe snapshot of the scheduler's state in torch's key names; the initial infinite best becomes null. */
  stateDict(): Record<string, unknown> {
    return snapshot(this);
  }

  /** Restores a stateDict() snapshot (torch's too); a null best reads back as "no best yet". */
  loadStateDict(dict: Record<string, unknown>): void {
    restore(this, dict);
    this.initIsBetter();
    if (this.best === null) this.best = this.modeWorse; // JSON turned the initial infinity into null
  }
}

/** Every scheduler fit can step; `stepOn` tells which kind it is. */
export type Scheduler = LRScheduler | ReduceLROnPlateau;
