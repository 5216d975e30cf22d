/**
 * The optimizer base: parameter groups, lazily created per-parameter state, zeroGrad and
 * PyTorch-shaped state dicts. The update rules live in optimizers.ts; their arithmetic runs in
 * the backend's fused kernels.
 *
 * Differences from torch.optim.Optimizer (1.13), on purpose:
 * - zeroGrad() sets grads to null by default (PyTorch 2's set_to_none=True; 1.13's default is
 *   False). zeroGrad(false) fills them with zeros instead.
 * - Hyper-parameters are validated for every group, not just the defaults.
 * - stateDict() returns a snapshot (copied buffers); torch returns references. loadStateDict()
 *   refuses state whose buffers do not match the params' sizes, or that names unknown params.
 * - Group options are camelCase in JS (weightDecay, initialLr); stateDict() writes torch's
 *   snake_case names (weight_decay, initial_lr) and loadStateDict() reads either.
 */

import { inspect } from 'node:util';
import { Tensor } from '../tensor/index.js';
import { releaseGrad } from '../tensor/grad-buffers.js';
import { markModified } from '../tensor/version.js';
import { checkOptions, quote } from '../options.js';

/** What an optimizer needs of a parameter: its values and (after backward) its gradient. */
export interface Param {
  /** The parameter's values, updated in place by step(). */
  data: Float32Array;
  /** Its gradient after backward(), or null when it has none (then step() skips it). */
  grad: { data: Float32Array } | null;
  /** Its shape, used only to name it in messages. */
  shape?: readonly number[];
}

/** A parameter group: its params and its hyper-parameters (schedulers change `lr`). */
export interface ParamGroup {
  /** The parameters this group's hyper-parameters apply to. */
  params: Param[];
  /** The group's learning rate (schedulers change it between steps). */
  lr: number;
  [option: string]: unknown;
}

/** What a user passes for a group: params plus any hyper-parameters to override. */
export type ParamGroupInit<H> = { params: Param[] } & Partial<H> & { [option: string]: unknown };

/** One param's optimizer state: a step count and buffers (null: not allocated yet, as in torch's SGD). */
export type ParamState = Record<string, Float32Array | number | null>;

/** torch.optim's state_dict layout: state keyed by param index (counted across groups). */
export interface OptimizerStateDict {
  /** Per-param state keyed by the param's index, counted across groups in order. */
  state: Record<number, ParamState>;
  /** Each group's hyper-parameters (snake_case) and its params' indices. */
  param_groups: Array<{ params: number[]; [option: string]: unknown }>;
}

/** Hyper-parameter checks shared by the optimizers; messages follow torch's ValueErrors. */
export function checkNonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${quote(value)}`);
  if (!(value >= 0)) throw new RangeError(`${name} must be >= 0, got ${quote(value)}`);
}

export function checkBetas(betas: unknown): void {
  if (!Array.isArray(betas) || betas.length !== 2 || betas.some((b) => typeof b !== 'number')) {
    throw new TypeError(
      `betas must be a pair of numbers, got ${Array.isArray(betas) ? `[${betas.map(quote).join(', ')}]` : quote(betas)}`,
    );
  }
  for (let i = 0; i < 2; i++) {
    const b = betas[i] as number;
    if (!(b >= 0 && b < 1)) throw new RangeError(`betas[${i}] must be in [0, 1), got ${b}`);
  }
}

const camelToSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const snakeToCamel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function copyValue(v: unknown): unknown {
  if (v instanceof Float32Array) return v.slice();
  if (Array.isArray(v)) return v.map(copyValue);
  return v;
}

/**
 * The base of every optimizer (torch.optim.Optimizer): parameter groups, per-param state, zeroGrad and state dicts. H
 * holds the hyper-parameters (at least lr).
 */
export abstract class Optimizer<H extends { lr: number } = { lr: number }> {
  /** The constructor's options with every default filled in; groups fall back to these. */
  readonly defaults: H;
  /** Public and mutable: schedulers (and users) change group.lr and friends between steps. */
  paramGroups: Array<ParamGroup & H> = [];
  /** Per-param state, created at a param's first step. */
  readonly state = new Map<Param, ParamState>();

  protected constructor(params: ReadonlyArray<Param | ParamGroupInit<H>>, defaults: H) {
    this.defaults = defaults;
    // torch checks the constructor's options even where every group overrides them
    if (defaults.lr !== undefined) this.validate({ ...defaults, params: [] } as ParamGroup & H);
    if (!Array.isArray(params)) throw new TypeError('params must be an array of params or of parameter groups');
    if (params.length === 0) throw new RangeError('optimizer got an empty parameter list');
    const groups = isGroup(params[0])
      ? (params as ParamGroupInit<H>[])
      : [{ params: params as Param[] } as ParamGroupInit<H>];
    for (const g of groups) this.addParamGroup(g);
  }

  /** Checks a group's hyper-parameters (throws RangeError / TypeError). */
  protected abstract validate(group: ParamGroup & H): void;

  /** Updates every param that has a gradient; one fused kernel call per param. */
  protected abstract update(): void;

  /**
   * One optimization step. With a closure, calls it first (it should recompute the loss and
   * the gradients) and returns its loss.
   */
  step(closure?: () => number): number | undefined {
    const loss = closure?.();
    this.update();
    // the update wrote the parameters in place: a graph built before it cannot backpropagate
    for (const g of this.paramGroups) for (const p of g.params) if (p.grad !== null) markModified(p.data);
    return loss;
  }

  /** Adds a group (fine-tuning: unfreezing layers); missing options come from the defaults. */
  addParamGroup(init: ParamGroupInit<H>): void {
    if (init === null || typeof init !== 'object' || !Array.isArray(init.params)) {
      throw new TypeError('a parameter group must be an object with a params array');
    }
    checkOptions(`${this.constructor.name} parameter group`, init, ['params', ...Object.keys(this.defaults)]);
    for (const p of init.params) {
      if (!isParam(p)) throw new TypeError('optimizer can only optimize params with a Float32Array data');
    }
    const fields: Record<string, unknown> = { ...(this.defaults as object) };
    for (const [k, v] of Object.entries(init)) if (v !== undefined) fields[k] = v;
    for (const k of Object.keys(fields)) fields[k] = copyValue(fields[k]);
    const group = fields as ParamGroup & H;
    group.params = [...init.params];
    if (group.lr === undefined) {
      throw new TypeError(`${this.constructor.name}: lr is required (in the options or in every parameter group)`);
    }
    if (new Set(group.params).size !== group.params.length) {
      throw new RangeError('a parameter group contains the same param twice');
    }
    for (const g of this.paramGroups) {
      if (g.params.some((p) => group.params.includes(p))) {
        throw new RangeError('some parameters appear in more than one parameter group');
      }
    }
    this.validate(group);
    this.paramGroups.push(group);
  }

  /**
   * Clears gradients: sets them to null (default, like PyTorch 2) or fills them with zeros.
   * Setting to null keeps each tensor's old gradient buffer for its next backward to overwrite
   * (no allocation per step), so clone a gradient that must outlive the next backward.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (setToNone) {
          if (p instanceof Tensor) releaseGrad(p);
          else p.grad = null;
        } else {
          p.grad.data.fill(0);
        }
      }
    }
  }

  /** The param's state, created empty on first use. */
  protected stateOf(p: Param): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /** The named buffer in a param's state, allocated (filled with `init`) the first time. */
  protected buffer(state: ParamState, key: string, n: number, init = 0): Float32Array {
    let b = state[key];
    if (!(b instanceof Float32Array)) {
      b = new Float32Array(n);
      if (init !== 0) b.fill(init);
      state[key] = b;
    }
    return b;
  }

  /**
   * The gradient to feed the kernel: the param's own, or a negated copy when maximizing
   * (torch negates the gradient before anything else). Checks its size.
   */
  protected gradOf(p: Param, maximize: unknown): Float32Array {
    const g = p.grad!.data;
    if (g.length !== p.data.length) {
      throw new RangeError(`a param has ${p.data.length} elements but its grad has ${g.length}`);
    }
    if (!maximize) return g;
    const neg = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) neg[i] = -g[i];
    return neg;
  }

  /** A snapshot of the optimizer in torch's layout (state tensors as Float32Array copies). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Param, number>();
    const param_groups = this.paramGroups.map((group) => {
      const packed: { params: number[]; [option: string]: unknown } = { params: [] };
      for (const [k, v] of Object.entries(group)) {
        if (k !== 'params') packed[camelToSnake(k)] = copyValue(v);
      }
      for (const p of group.params) {
        if (!index.has(p)) index.set(p, index.size);
        packed.params.push(index.get(p)!);
      }
      return packed;
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) copy[k] = v instanceof Float32Array ? v.slice() : v;
      state[i] = copy;
    }
    return { state, param_groups };
  }

  /** torch's repr: each group's hyper-parameters, sorted by name (ours, camelCase). */
  toString(): string {
    const groups = this.paramGroups.map((g, i) => {
      const keys = Object.keys(g)
        .filter((k) => k !== 'params')
        .sort();
      return `\nParameter Group ${i}\n${keys.map((k) => `    ${k}: ${showOption(g[k])}\n`).join('')}`;
    });
    return `${this.constructor.name} (${groups.join('')})`;
  }

  /** What `console.log(optimizer)` prints: the same as toString(), PyTorch's layout. */
  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * Restores a stateDict() (this optimizer's or torch's, with tensors as Float32Array or
   * number arrays). Group hyper-parameters come from the dict; params stay this optimizer's.
   * Refuses a dict whose groups or buffers do not match the params, without changing anything.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    if (
      dict === null ||
      typeof dict !== 'object' ||
      !Array.isArray(dict.param_groups) ||
      typeof dict.state !== 'object'
    ) {
      throw new TypeError('loadStateDict: expected { state, param_groups }');
    }
    const saved = dict.param_groups;
    if (saved.length !== this.paramGroups.length) {
      throw new RangeError(
        `loadStateDict: the state dict has ${saved.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, Param>();
    const groups = saved.map((sg, gi) => {
      const current = this.paramGroups[gi];
      if (!Array.isArray(sg.params) || sg.params.length !== current.params.length) {
        throw new RangeError(
          `loadStateDict: parameter group ${gi} has ${sg.params?.length} params in the state dict, ` +
            `${current.params.length} in the optimizer`,
        );
      }
      sg.params.forEach((idx, j) => byIndex.set(idx, current.params[j]));
      const fields: Record<string, unknown> = { ...(this.defaults as object) };
      for (const [k, v] of Object.entries(sg)) {
        if (k !== 'params') fields[snakeToCamel(k)] = copyValue(v);
      }
      const group = fields as ParamGroup & H;
      group.params = current.params;
      this.validate(group);
      return group;
    });

    const state = new Map<Param, ParamState>();
    for (const [key, entry] of Object.entries(dict.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined)
        throw new RangeError(`loadStateDict: state for param ${key}, which no parameter group holds`);
      const s: ParamState = {};
      for (const [name, v] of Object.entries(entry)) {
        if (v === null || typeof v === 'number') {
          s[name] = v;
        } else if (name === 'step' && ArrayBuffer.isView(v) && (v as Float32Array).length === 1) {
          s[name] = (v as Float32Array)[0]; // torch keeps step as a one-element tensor
        } else if (v instanceof Float32Array || Array.isArray(v) || ArrayBuffer.isView(v)) {
          const arr = Float32Array.from(v as ArrayLike<number>);
          if (arr.length !== p.data.length) {
            throw new RangeError(
              `loadStateDict: state ${key}.${name} has ${arr.length} elements, but param ${key} has ${p.data.length}`,
            );
          }
          s[name] = arr;
        } else {
          throw new TypeError(`loadStateDict: state ${key}.${name} must be a number, null or a Float32Array`);
        }
      }
      state.set(p, s);
    }

    this.paramGroups = groups;
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
  }
}

/** A hyper-parameter as the optimizer's repr shows it: numbers and booleans bare, arrays bracketed. */
function showOption(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(showOption).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object' && v !== null) return inspect(v, { depth: 0, breakLength: Infinity });
  return String(v);
}

function isParam(x: unknown): x is Param {
  return typeof x === 'object' && x !== null && (x as Param).data instanceof Float32Array;
}

function isGroup(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !isParam(x) && Array.isArray((x as { params?: unknown }).params);
}
