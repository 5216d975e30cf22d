// Image transforms for the DataLoader, torchvision's names and rules: RandomCrop (with padding),
// RandomHorizontalFlip, Normalize, Compose. They work on [C, H, W] samples ([H, W] is one
// channel) of float32, as the loader fills a batch.
//
// Each transform maps one sample from a source buffer to a destination buffer (never the same
// memory): the loader passes the dataset's own samples as the first source, two scratch samples
// it allocated once in between, and the batch buffer last, so a batch allocates nothing.
//
// Randomness is drawn from a generator the loader re-seeds before each batch from (its seed,
// epoch, batch): the same seed gives the same crops and flips, and a loader state saved
// mid-epoch and restored resumes the same stream, as the shuffle does.
import { checkOptions, optionKeys, quote } from '../options.js';
import type { Rng } from '../random.js';

/** A sample's shape as [C, H, W]. */
export type ImageShape = readonly [number, number, number];
type Chw = ImageShape;

/** One step of a loader's per-sample pipeline. */
export interface Transform {
  /** Whether it draws random numbers (a data augmentation: applied in training only). */
  readonly random: boolean;
  /** The shape of its output for a [C, H, W] input; throws when it cannot take that input. */
  outputShape(shape: Chw): Chw;
  /**
   * Writes the transformed sample at dst[dstOff...] from the one at src[srcOff...] of the given
   * shape (src and dst never overlap), drawing what it needs from rng.
   */
  apply(src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number, shape: Chw, rng: Rng): void;
}

function size(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${quote(v)}`);
  }
  return v;
}

/** An (h, w) pair from a number or a two-element array. */
function pair(name: string, v: number | readonly [number, number], min: number): [number, number] {
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new RangeError(`${name} must be a number or [h, w], got ${v.length} numbers`);
    return [size(`${name}[0]`, v[0], min), size(`${name}[1]`, v[1], min)];
  }
  const n = size(name, v, min);
  return [n, n];
}

/** Options of RandomCrop (torchvision's padding and fill). */
export interface RandomCropOptions {
  /** Pixels added to each side before cropping: one number, or [top/bottom, left/right] (default 0). */
  padding?: number | readonly [number, number];
  /** The value of the added pixels (default 0). */
  fill?: number;
}

export const RANDOM_CROP_KEYS = optionKeys<RandomCropOptions>()('padding', 'fill');

/**
 * torchvision's RandomCrop(size, padding): pads each side of every channel with `padding`
 * pixels of `fill` (default 0), then takes a size[0] x size[1] window at a uniformly drawn top
 * in [0, H + 2 padding - size[0]] and left in [0, W + 2 padding - size[1]] (top drawn first).
 */
export class RandomCrop implements Transform {
  /** A random transform: applied to training batches only. */
  readonly random = true;
  /** Output height and width. */
  readonly size: readonly [number, number];
  /** Pixels added to each side before cropping (top/bottom, left/right). */
  readonly padding: readonly [number, number];
  /** The value of the added pixels. */
  readonly fill: number;

  constructor(size: number | readonly [number, number], opts: RandomCropOptions = {}) {
    checkOptions('RandomCrop', opts, RANDOM_CROP_KEYS);
    this.size = pair('RandomCrop: size', size, 1);
    this.padding = pair('RandomCrop: padding', opts.padding ?? 0, 0);
    const fill = opts.fill ?? 0;
    if (typeof fill !== 'number') throw new TypeError(`RandomCrop: fill must be a number, got ${quote(fill)}`);
    this.fill = fill;
  }

  outputShape([C, H, W]: Chw): Chw {
    const [h, w] = this.size,
      [ph, pw] = this.padding;
    if (h > H + 2 * ph || w > W + 2 * pw) {
      throw new RangeError(
        `RandomCrop: a ${h}x${w} crop does not fit a ${H}x${W} image padded by ${ph}, ${pw} (${H + 2 * ph}x${W + 2 * pw})`,
      );
    }
    return [C, h, w];
  }

  apply(src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number, [C, H, W]: Chw, rng: Rng): void {
    const [h, w] = this.size,
      [ph, pw] = this.padding;
    // Window origin in the padded image, then in the source's coordinates (may be negative).
    const top = rng.int(H + 2 * ph - h + 1) - ph;
    const left = rng.int(W + 2 * pw - w + 1) - pw;
    let o = dstOff;
    for (let c = 0; c < C; c++) {
      const plane = srcOff + c * H * W;
      for (let i = 0; i < h; i++) {
        const r = top + i;
        if (r < 0 || r >= H) {
          dst.fill(this.fill, o, o + w);
          o += w;
          continue;
        }
        const row = plane + r * W;
        for (let j = 0; j < w; j++, o++) {
          const col = left + j;
          dst[o] = col >= 0 && col < W ? src[row + col] : this.fill;
        }
      }
    }
  }
}

/** torchvision's RandomHorizontalFlip(p): mirrors the sample left-right with probability p. */
export class RandomHorizontalFlip implements Transform {
  /** A random transform: applied to training batches only. */
  readonly random = true;
  /** Probability of a flip (default 0.5). */
  readonly p: number;

  constructor(p = 0.5) {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new RangeError(`RandomHorizontalFlip: p must be a number in [0, 1], got ${quote(p)}`);
    }
    this.p = p;
  }

  outputShape(shape: Chw): Chw {
    return shape;
  }

  apply(src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number, [C, H, W]: Chw, rng: Rng): void {
    // One draw a sample, flip or not (torchvision: torch.rand(1) < p).
    const flip = rng.uniform() < this.p;
    const n = C * H * W;
    if (!flip) {
      for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
      return;
    }
    for (let row = 0; row < C * H; row++) {
      const s = srcOff + row * W,
        d = dstOff + row * W + W - 1;
      for (let j = 0; j < W; j++) dst[d - j] = src[s + j];
    }
  }
}

/**
 * torchvision's Normalize(mean, std): channel c becomes (x - mean[c]) / std[c]. One value each
 * applies to every channel. Deterministic, so a model's evaluation data gets it too.
 */
export class Normalize implements Transform {
  /** Deterministic: evaluation data gets it too. */
  readonly random = false;
  /** Per-channel means subtracted (one value: every channel). */
  readonly mean: readonly number[];
  /** Per-channel standard deviations divided by (one value: every channel). */
  readonly std: readonly number[];

  constructor(mean: number | readonly number[], std: number | readonly number[]) {
    this.mean = numbers('Normalize: mean', mean);
    this.std = numbers('Normalize: std', std);
    for (const s of this.std) {
      if (!(s !== 0)) throw new RangeError(`Normalize: std must not hold 0, got ${this.std.join(', ')}`);
    }
  }

  outputShape(shape: Chw): Chw {
    for (const [name, v] of [
      ['mean', this.mean],
      ['std', this.std],
    ] as const) {
      if (v.length !== 1 && v.length !== shape[0]) {
        throw new RangeError(`Normalize: ${name} has ${v.length} values for ${shape[0]} channels`);
      }
    }
    return shape;
  }

  apply(src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number, [C, H, W]: Chw): void {
    const plane = H * W;
    for (let c = 0; c < C; c++) {
      // torchvision computes (x - mean) / std in float32: subtract, then divide (no reciprocal).
      const m = Math.fround(this.mean.length === 1 ? this.mean[0] : this.mean[c]);
      const s = Math.fround(this.std.length === 1 ? this.std[0] : this.std[c]);
      const o = c * plane;
      for (let i = 0; i < plane; i++) dst[dstOff + o + i] = Math.fround(src[srcOff + o + i] - m) / s;
    }
  }
}

function numbers(name: string, v: number | readonly number[]): number[] {
  const list = typeof v === 'number' ? [v] : Array.isArray(v) ? v.slice() : null;
  if (list === null || list.length === 0 || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new TypeError(`${name} must be a finite number or a non-empty array of them, got ${quote(v)}`);
  }
  return list;
}

/** torchvision's Compose: the transforms in order, each one's output the next one's input. */
export class Compose {
  /** The steps, in the order they run. */
  readonly transforms: readonly Transform[];

  constructor(transforms: readonly Transform[]) {
    if (!Array.isArray(transforms))
      throw new TypeError(`Compose: transforms must be an array, got ${quote(transforms)}`);
    transforms.forEach((t, i) => {
      if (t === null || typeof t !== 'object' || typeof (t as Transform).apply !== 'function') {
        throw new TypeError(
          `Compose: transforms[${i}] must be a transform (RandomCrop, Normalize, ...), got ${quote(t)}`,
        );
      }
    });
    this.transforms = Object.freeze(transforms.slice());
  }

  /** The deterministic ones only (Normalize): what evaluation data gets. */
  deterministic(): Compose {
    return new Compose(this.transforms.filter((t) => !t.random));
  }
}

/** The transforms of a Compose or an array (checked by the Compose that takes them). */
export function transformList(t: Compose | readonly Transform[]): readonly Transform[] {
  return t instanceof Compose ? t.transforms : t;
}

/** A sample shape as [C, H, W] ([H, W] is one channel); throws for other ranks. */
export function imageShape(shape: readonly number[]): Chw {
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  if (shape.length === 2) return [1, shape[0], shape[1]];
  throw new RangeError(`transforms need image samples [C, H, W] or [H, W], got samples of shape [${shape.join(', ')}]`);
}

// murmur3's finaliser.
function mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The seed of batch `batch` of epoch `epoch` for a loader seeded `seed`: a 53-bit hash of the
 * three, so each batch's draws depend on them alone (a resumed loader draws the same).
 */
export function batchSeed(seed: number, epoch: number, batch: number): number {
  const a = mix((seed ^ 0x7f4a7c15) >>> 0);
  const b = mix((a + mix((epoch + 0x9e3779b9) >>> 0)) >>> 0);
  const lo = mix((b ^ mix((batch + 0x3c6ef372) >>> 0)) >>> 0);
  const hi = mix((lo + 0x165667b1) >>> 0) & 0x1fffff;
  return hi * 2 ** 32 + lo;
}
