// Image transforms (lib/data/transforms.ts) on small hand-checked images, and in the DataLoader:
// seeded, reproducible, resumable, allocation-free per batch, training-only in fit.
import { describe, expect, it } from 'vitest';
import { DataLoader, Dataset } from '../lib/data/index.js';
import { Compose, Normalize, RandomCrop, RandomHorizontalFlip, type Transform } from '../lib/data/transforms.js';
import { Flatten, Linear, Sequential } from '../lib/nn/index.js';
import type { Rng } from '../lib/random.js';
import { fit } from '../lib/train/fit.js';

/** A generator that returns scripted draws, to place a crop exactly. */
function scripted(ints: number[], uniforms: number[] = []): Rng {
  return { int: () => ints.shift()!, uniform: () => uniforms.shift()! } as unknown as Rng;
}

function run(t: Transform, src: number[], shape: [number, number, number], rng: Rng): number[] {
  const out = t.outputShape(shape);
  const dst = new Float32Array(out[0] * out[1] * out[2]).fill(Number.NaN);
  t.apply(Float32Array.from(src), 0, dst, 0, shape, rng);
  return Array.from(dst);
}

const img = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 1 x 3 x 3

describe('RandomCrop', () => {
  it('pads with zeros and cuts the window at the drawn top and left of the padded image', () => {
    const crop = new RandomCrop(3, { padding: 1 });
    expect(run(crop, img, [1, 3, 3], scripted([0, 0]))).toEqual([0, 0, 0, 0, 1, 2, 0, 4, 5]);
    expect(run(crop, img, [1, 3, 3], scripted([2, 1]))).toEqual([4, 5, 6, 7, 8, 9, 0, 0, 0]);
    expect(run(crop, img, [1, 3, 3], scripted([1, 1]))).toEqual(img);
  });

  it('crops every channel at the same place, to a smaller size, with the given fill', () => {
    const crop = new RandomCrop([2, 1], { padding: [0, 1], fill: -1 });
    const two = [...img, ...img.map((v) => v * 10)];
    expect(crop.outputShape([2, 3, 3])).toEqual([2, 2, 1]);
    // top 1 of 0..1, left 0 of 0..4 (padded column -1)
    expect(run(crop, two, [2, 3, 3], scripted([1, 0]))).toEqual([-1, -1, -1, -1]);
    expect(run(crop, two, [2, 3, 3], scripted([0, 3]))).toEqual([3, 6, 30, 60]);
  });

  it('draws top then left uniformly over every window position', () => {
    const bounds: number[] = [];
    const rng = {
      int: (n: number) => {
        bounds.push(n);
        return 0;
      },
    } as unknown as Rng;
    run(new RandomCrop(2, { padding: 4 }), img, [1, 3, 3], rng);
    expect(bounds).toEqual([10, 10]); // 3 + 8 - 2 + 1 positions each way
  });

  it('refuses a crop larger than the padded image, bad sizes and unknown options', () => {
    expect(() => new RandomCrop(6, { padding: 1 }).outputShape([1, 3, 3])).toThrow(
      new RangeError('RandomCrop: a 6x6 crop does not fit a 3x3 image padded by 1, 1 (5x5)'),
    );
    expect(() => new RandomCrop(0)).toThrow(RangeError);
    expect(() => new RandomCrop(2, { padding: -1 })).toThrow(RangeError);
    expect(() => new RandomCrop(2, { pad: 1 } as never)).toThrow(TypeError);
  });
});

describe('RandomHorizontalFlip', () => {
  it('mirrors each row of each channel when the draw is below p, copies otherwise', () => {
    const flip = new RandomHorizontalFlip(0.5);
    const two = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // 2 x 2 x 3
    expect(run(flip, two, [2, 2, 3], scripted([], [0.49]))).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
    expect(run(flip, two, [2, 2, 3], scripted([], [0.5]))).toEqual(two);
  });

  it('twice is the identity', () => {
    const flip = new RandomHorizontalFlip(1);
    const src = Array.from({ length: 2 * 3 * 5 }, (_, i) => i * 1.5);
    const once = run(flip, src, [2, 3, 5], scripted([], [0]));
    expect(once).not.toEqual(src);
    expect(run(flip, once, [2, 3, 5], scripted([], [0]))).toEqual(src);
    expect(() => new RandomHorizontalFlip(2)).toThrow(RangeError);
  });
});

describe('Normalize', () => {
  it("computes torchvision's (x - mean[c]) / std[c] in float32, channel by channel", () => {
    const norm = new Normalize([0.4914, 0.4822], [0.247, 0.2435]);
    const src = [0, 0.5, 1, 0.25, 0.1, 0.9, 0.3, 0.7];
    const want = src.map((x, i) => {
      const c = i < 4 ? 0 : 1;
      return Math.fround(Math.fround(Math.fround(x) - Math.fround(norm.mean[c])) / Math.fround(norm.std[c]));
    });
    expect(run(norm, src, [2, 2, 2], scripted([]))).toEqual(want);
    expect(run(new Normalize(0.5, 0.25), [0.5, 1, 0, 0.75], [1, 2, 2], scripted([]))).toEqual([0, 2, -2, 1]);
  });

  it('refuses a zero std and a channel count that does not match', () => {
    expect(() => new Normalize([0], [0])).toThrow(RangeError);
    expect(() => new Normalize([0, 0], [1, 1]).outputShape([3, 2, 2])).toThrow(
      new RangeError('Normalize: mean has 2 values for 3 channels'),
    );
  });
});

describe('in the DataLoader', () => {
  // 10 samples of 1 x 4 x 4, each holding its index times 100 plus its pixel number
  const data = () =>
    new Dataset({
      x: Float32Array.from({ length: 10 * 16 }, (_, i) => Math.floor(i / 16) * 100 + (i % 16) + 1),
      y: Int32Array.from({ length: 10 }, (_, i) => i % 3),
      shape: [1, 4, 4],
    });
  const augment = () =>
    new Compose([new RandomCrop(4, { padding: 2 }), new RandomHorizontalFlip(), new Normalize(1, 2)]);
  const epochs = (loader: DataLoader, n: number) => {
    const out: number[][] = [];
    for (let e = 0; e < n; e++) for (const b of loader) out.push([...b.shape, ...b.x]);
    return out;
  };

  it('gives the same crops and flips for the same seed, others for another', () => {
    const a = epochs(new DataLoader(data(), { batchSize: 4, shuffle: true, seed: 7, transforms: augment() }), 2);
    const b = epochs(new DataLoader(data(), { batchSize: 4, shuffle: true, seed: 7, transforms: augment() }), 2);
    const c = epochs(new DataLoader(data(), { batchSize: 4, shuffle: true, seed: 8, transforms: augment() }), 2);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    // and epochs differ from each other
    expect(a.slice(0, 3)).not.toEqual(a.slice(3, 6));
  });

  it('resumes the same stream from a state saved mid-epoch', () => {
    const whole = new DataLoader(data(), { batchSize: 3, shuffle: true, seed: 1, transforms: augment() });
    const all = epochs(whole, 2);
    const first = new DataLoader(data(), { batchSize: 3, shuffle: true, seed: 1, transforms: augment() });
    const it1 = first[Symbol.iterator]();
    it1.next();
    it1.next();
    const state = first.state();
    const resumed = new DataLoader(data(), { batchSize: 3, shuffle: true, seed: 99, transforms: augment() });
    resumed.setState(state);
    expect(epochs(resumed, 2).slice(0, 6)).toEqual(all.slice(2, 8));
  });

  it('fills the same batch buffer every time, with the transformed shape', () => {
    const loader = new DataLoader(data(), {
      batchSize: 5,
      transforms: [new RandomCrop(2), new RandomHorizontalFlip()],
    });
    const buffers = new Set<Float32Array>();
    for (const b of loader) {
      expect(b.shape).toEqual([5, 1, 2, 2]);
      expect(b.x.length).toBe(20);
      buffers.add(b.x);
    }
    for (const b of loader) buffers.add(b.x);
    expect(buffers.size).toBe(1);
  });

  it('crops each sample from its own pixels (the window of sample k lies inside sample k)', () => {
    const loader = new DataLoader(data(), { batchSize: 10, transforms: [new RandomCrop(2)] });
    for (const b of loader) {
      for (let k = 0; k < 10; k++) {
        for (const v of b.x.subarray(k * 4, k * 4 + 4)) expect(Math.floor((v - 1) / 100)).toBe(k);
      }
    }
  });

  it('refuses transforms on samples that are not images', () => {
    const flat = new Dataset({ x: new Float32Array(8), y: new Int32Array(2), shape: [4] });
    expect(() => new DataLoader(flat, { transforms: [new RandomHorizontalFlip()] })).toThrow(
      new RangeError('transforms need image samples [C, H, W] or [H, W], got samples of shape [4]'),
    );
    expect(() => new DataLoader(flat, { transforms: [{}] as never })).toThrow(TypeError);
  });

  it('fit augments the training batches only: validation gets the deterministic transforms', () => {
    const seen: number[] = [];
    const model = new Sequential(new Flatten(), new Linear(16, 3));
    const forward = model.forward.bind(model);
    model.forward = (x) => {
      seen.push(x.data[0]);
      return forward(x);
    };
    const ds = data();
    // Normalize(1, 2) maps pixel 1 of sample 0 to 0; a flip or a shifted crop would move it.
    fit(model, {
      train: ds,
      validation: ds,
      epochs: 1,
      batchSize: 10,
      shuffle: false,
      seed: 3,
      progress: false,
      transforms: [new RandomCrop(4, { padding: 2 }), new Normalize(1, 2)],
    });
    expect(seen[0]).not.toBe(0); // the training batch was cropped (this seed moves sample 0)
    expect(seen.at(-1)).toBe(0); // the validation batch only normalised
  });
});
