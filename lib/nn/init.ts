/**
 * Parameter initialisation, after torch.nn.init: the same distributions and the same gain and
 * fan conventions (fan_in = size(1) * receptive field, fan_out = size(0) * receptive field).
 * Every function fills the tensor in place from the global generator (or opts.rng) and
 * returns it. Values differ from PyTorch's (a different generator); distributions do not.
 */
import { globalRng, type Rng } from '../random.js';
import type { Tensor } from '../tensor/index.js';
import { checkChoice, checkOptions, optionKeys, quote } from '../options.js';

/** The activations calculateGain knows, by torch.nn.init's names. */
export type Nonlinearity = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
/** Which random generator an initializer draws from. */
export interface RngOption {
  /** The generator to draw from. @defaultValue globalRng (seeded by manualSeed) */
  rng?: Rng;
}
const RNG_KEYS = optionKeys<RngOption>()('rng');

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain: unknown nonlinearity, got ${quote(nonlinearity)}`);
  }
}

/** [fanIn, fanOut] of a weight of shape [out, in, ...receptive field]. */
export function fans(t: Tensor): [number, number] {
  if (t.shape.length < 2) {
    throw new RangeError(
      `fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape [${t.shape}])`,
    );
  }
  let receptive = 1;
  for (let i = 2; i < t.shape.length; i++) receptive *= t.shape[i];
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

/** Fills t in place with values drawn from U(a, b) and returns it (torch.nn.init.uniform_). Defaults a = 0, b = 1. */
export function uniform_(t: Tensor, a = 0, b = 1, opts: RngOption = {}): Tensor {
  checkOptions('uniform_', opts, RNG_KEYS);
  if (typeof a !== 'number' || typeof b !== 'number' || !(a <= b)) {
    const E = typeof a !== 'number' || typeof b !== 'number' ? TypeError : RangeError;
    throw new E(`uniform_: need numbers a <= b, got a = ${quote(a)}, b = ${quote(b)}`);
  }
  const rng = opts.rng ?? globalRng;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = a + (b - a) * rng.uniform();
  return t;
}

/**
 * Fills t in place with values drawn from N(mean, std^2) and returns it (torch.nn.init.normal_). Defaults mean = 0, std
 * = 1.
 */
export function normal_(t: Tensor, mean = 0, std = 1, opts: RngOption = {}): Tensor {
  checkOptions('normal_', opts, RNG_KEYS);
  if (typeof std !== 'number' || !(std >= 0))
    throw new (typeof std !== 'number' ? TypeError : RangeError)(
      `normal_: std must be a number >= 0, got ${quote(std)}`,
    );
  const rng = opts.rng ?? globalRng;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
  return t;
}

/** Fills t in place with value and returns it (torch.nn.init.constant_). */
export function constant_(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

/** Fills t in place with zeros and returns it (torch.nn.init.zeros_). */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills t in place with ones and returns it (torch.nn.init.ones_). */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)) (Glorot and Bengio, 2010). */
export function xavierUniform_(t: Tensor, gain = 1, opts: RngOption = {}): Tensor {
  checkOptions('xavierUniform_', opts, RNG_KEYS);
  const [fanIn, fanOut] = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, opts);
}

/** N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1, opts: RngOption = {}): Tensor {
  checkOptions('xavierNormal_', opts, RNG_KEYS);
  const [fanIn, fanOut] = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

/** Options of kaimingUniform_ and kaimingNormal_ (torch.nn.init.kaiming_*), plus the generator. */
export interface KaimingOptions extends RngOption {
  /** The negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  /** 'fanIn' keeps the variance of the forward pass, 'fanOut' that of the backward pass. @defaultValue 'fanIn' */
  mode?: 'fanIn' | 'fanOut';
  /**
   * The activation after this layer, which sets the gain (see calculateGain). @defaultValue 'leaky_relu' (with a = 0
   * that is ReLU's gain, sqrt(2))
   */
  nonlinearity?: Nonlinearity;
}
const KAIMING_KEYS = optionKeys<KaimingOptions>()('rng', 'a', 'mode', 'nonlinearity');

function kaimingStd(owner: string, t: Tensor, opts: KaimingOptions): number {
  checkOptions(owner, opts, KAIMING_KEYS);
  // torch's 'fan_in' would otherwise count as 'fanOut'
  const mode = checkChoice(owner, 'mode', opts.mode ?? 'fanIn', ['fanIn', 'fanOut']);
  const [fanIn, fanOut] = fans(t);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

/** U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  return uniform_(t, -bound, bound, { rng: opts.rng });
}

/** N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, opts), { rng: opts.rng });
}
