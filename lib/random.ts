/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman and Vigna), 128 bits of state in four
 * uint32 words, period 2^128 - 1. Every draw is defined bit for bit by the state, so a run
 * seeded the same way, or resumed from a saved `getState()`, draws the same numbers.
 *
 * - uniform(): a double in [0, 1) from 53 random bits (two 32-bit draws).
 * - normal(): Box-Muller on two uniforms; the second value of each pair is kept in the state
 *   (`spare`) and returned by the next call. Math.log/cos/sin are V8's fdlibm ports, so the
 *   values are the same on every platform for a given Node version.
 * - int(n): unbiased integer in [0, n) by rejection.
 *
 * The global generator (`globalRng`) starts from a fixed seed, so a program that never seeds
 * is still reproducible; `manualSeed(n)` re-seeds it in place.
 */

const TWO32 = 4294967296;
const TWO53 = 9007199254740992;
const TWO_PI = 2 * Math.PI;
const DEFAULT_SEED = 0x5eed;

/** A generator's complete state: JSON-serialisable, restores the exact stream. */
export interface RngState {
  /** The generator's algorithm, always 'xoshiro128**' (checked when a state is restored). */
  algorithm: 'xoshiro128**';
  /** The four state words, each an integer in [0, 2^32). */
  s: [number, number, number, number];
  /** The second value of the last Box-Muller pair, not yet returned (null when none). */
  spare: number | null;
}

// murmur3's finaliser: spreads the bits of a seed across the state words.
function fmix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded pseudo-random generator (xoshiro128**): uniform(), normal(), int(n), shuffle(); its state can be saved with
 * getState() and restored exactly. globalRng is the one nodegrad draws from unless given another.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** seed: any safe integer (its low 53 bits are used). */
  constructor(seed: number = DEFAULT_SEED) {
    this.seed(seed);
  }

  /** Resets the state from a seed (a safe integer). */
  seed(seed: number): this {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO32) >>> 0;
    // a splitmix-style walk: successive Weyl steps, each finalised, so nearby seeds give
    // unrelated states
    let x = (lo ^ fmix32((hi + 0x9e3779b9) >>> 0)) >>> 0;
    x = (x + 0x9e3779b9) >>> 0;
    this.s0 = fmix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s1 = fmix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s2 = fmix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s3 = fmix32(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
    this.spare = null;
    return this;
  }

  /** The next 32 random bits, as an integer in [0, 2^32). */
  nextUint32(): number {
    const s0 = this.s0,
      s1 = this.s1,
      s2 = this.s2,
      s3 = this.s3;
    // result = rotl(s1 * 5, 7) * 9
    const t5 = Math.imul(s1, 5);
    const result = Math.imul((t5 << 7) | (t5 >>> 25), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = (n3 << 11) | (n3 >>> 21);
    this.s0 = n0 >>> 0;
    this.s1 = n1 >>> 0;
    this.s2 = n2 >>> 0;
    this.s3 = n3 >>> 0;
    return result;
  }

  /** A double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / TWO53;
  }

  /** A standard normal deviate (mean 0, std 1). */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    // 1 - u is in (0, 1], so the log is finite
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = TWO_PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** An integer uniform in [0, n), n an integer in [1, 2^32]; unbiased (rejection). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO32) throw new RangeError(`n must be an integer in [1, 2^32], got ${n}`);
    // accept only draws below the largest multiple of n, so every residue is equally likely
    const limit = TWO32 - (TWO32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher-Yates shuffle in place; returns its argument. */
  shuffle<T extends Uint32Array | Int32Array | number[]>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** Fills out with normal(mean, std) deviates (the same stream as repeated normal() calls). */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fills out with uniform deviates in [low, high). */
  fillUniform(out: Float32Array | Float64Array, low = 0, high = 1): typeof out {
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * this.uniform();
    return out;
  }

  /** The full state (a plain JSON-serialisable object). */
  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  /** Restores a state from getState(); the stream continues exactly where it was saved. */
  setState(state: RngState): this {
    if (state === null || typeof state !== 'object') throw new TypeError('state must be an object from getState()');
    if (state.algorithm !== 'xoshiro128**') {
      throw new RangeError(`state.algorithm must be 'xoshiro128**', got '${String(state.algorithm)}'`);
    }
    const s = state.s;
    if (!Array.isArray(s) || s.length !== 4 || !s.every((w) => Number.isInteger(w) && w >= 0 && w < TWO32)) {
      throw new RangeError('state.s must be four integers in [0, 2^32)');
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) throw new RangeError('state.s must not be all zero');
    if (state.spare !== null && typeof state.spare !== 'number')
      throw new TypeError('state.spare must be a number or null');
    this.s0 = s[0];
    this.s1 = s[1];
    this.s2 = s[2];
    this.s3 = s[3];
    this.spare = state.spare;
    return this;
  }

  /** An independent copy in the same state. */
  clone(): Rng {
    return new Rng().setState(this.getState());
  }
}

/** The global default generator, used wherever no seed or generator is given. */
export const globalRng = new Rng(DEFAULT_SEED);

/** Re-seeds the global generator in place (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  globalRng.seed(seed);
}
