/** Layers: Linear, the activations, Dropout, Flatten and Sequential. */
import { checkOptions, optionKeys, quote } from '../options.js';
import { Tensor, linear, linearRelu, relu, sigmoid, tanh, reshape, mul, fmtShape } from '../tensor/index.js';
import { checkTensor } from '../tensor/tensor.js';
import { normalizedDims } from '../tensor/layer-ops.js';
import { globalRng } from '../random.js';
import { Module, type ModuleSpec, rethrowFromChild } from './module.js';
import { uniform_, kaimingUniform_ } from './init.js';
import { LayerNorm } from './layer-norm.js';
import { Embedding } from './embedding.js';
import { Dropout2d } from './dropout2d.js';
import { batchNormFromSpec } from './norm.js';
import { Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './conv.js';
import { conv2dRelu } from '../tensor/conv.js';

export const LINEAR_KEYS = optionKeys<ConstructorParameters<typeof Linear>[2]>()('bias');

function checkSize(name: string, v: number): void {
  if (Number.isInteger(v) && v >= 1) return;
  const E = typeof v === 'number' ? RangeError : TypeError;
  throw new E(`${name} must be an integer >= 1, got ${quote(v)}`);
}

/**
 * y = x W^T + b, W of shape [outFeatures, inFeatures] (PyTorch's layout). Initialised like
 * torch.nn.Linear: W ~ kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)), and
 * b ~ U(-1/sqrt(in), 1/sqrt(in)).
 */
export class Linear extends Module {
  /** Features of each input sample (the last dimension of x). */
  readonly inFeatures: number;
  /** Features of each output sample. */
  readonly outFeatures: number;
  /** The weight, shape [outFeatures, inFeatures] (PyTorch's layout). */
  weight: Tensor;
  /** The bias, shape [outFeatures], or null when built with `{ bias: false }` (the default is true). */
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    checkOptions('Linear', opts, LINEAR_KEYS);
    checkSize('inFeatures', inFeatures);
    checkSize('outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Tensor(new Float32Array(outFeatures * inFeatures), [outFeatures, inFeatures]);
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    this.registerParameter('weight', this.weight);
    this.bias = null;
    if (opts.bias ?? true) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.bias = uniform_(new Tensor(new Float32Array(outFeatures), [outFeatures]), -bound, bound);
      this.registerParameter('bias', this.bias);
    }
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return linear(x, this.weight, this.bias);
  }

  /** Throws unless x is a tensor whose last dimension is inFeatures; the message names this layer. */
  checkInput(x: Tensor): void {
    checkTensor(x, this.describe(), 'the input');
    const n = x.shape.at(-1);
    if (n !== this.inFeatures) {
      throw new RangeError(
        `${this.describe()} got an input with ${n ?? 'no'} features where ${this.inFeatures} were expected ` +
          `(input shape ${fmtShape(x.shape)}, features are the last dimension)`,
      );
    }
  }

  override describe(): string {
    return `Linear(${this.inFeatures} -> ${this.outFeatures})`;
  }

  spec(): ModuleSpec {
    return { type: 'Linear', inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}`;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
  spec(): ModuleSpec {
    return { type: 'ReLU' };
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
  spec(): ModuleSpec {
    return { type: 'Sigmoid' };
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
  spec(): ModuleSpec {
    return { type: 'Tanh' };
  }
}

/** Flattens every dimension after the first: [N, ...] -> [N, prod(...)]. */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    if (x.shape.length <= 2) return x;
    return reshape(x, [x.shape[0], -1]);
  }
  spec(): ModuleSpec {
    return { type: 'Flatten' };
  }
}

/**
 * Inverted dropout: in training mode each element is zeroed with probability p and the rest
 * are scaled by 1 / (1 - p), so eval mode is the identity. The mask comes from the global
 * generator, so a seeded run drops the same elements.
 */
export class Dropout extends Module {
  /** Probability of zeroing an element in training mode, in [0, 1] (default 0.5). */
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (typeof p !== 'number') throw new TypeError(`dropout probability must be a number in [0, 1], got ${quote(p)}`);
    if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout probability must be a number in [0, 1], got ${quote(p)}`);
    this.p = p;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const mask = new Float32Array(x.numel);
    if (this.p < 1) {
      const scale = 1 / (1 - this.p);
      for (let i = 0; i < mask.length; i++) mask[i] = globalRng.uniform() >= this.p ? scale : 0;
    }
    return mul(x, new Tensor(mask, x.shape));
  }

  spec(): ModuleSpec {
    return { type: 'Dropout', p: this.p };
  }

  protected override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}

/** Applies its modules in order; they are named '0', '1', ... like torch.nn.Sequential. */
export class Sequential extends Module {
  /** The modules in the order they are applied (registered as '0', '1', ...). */
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    let y = x;
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      const m = layers[i];
      try {
        // A plain Linear then a plain ReLU run as one fused op (same values and gradients).
        if (i + 1 < layers.length && plain(m, Linear) && plain(layers[i + 1], ReLU)) {
          const lin = m as Linear;
          lin.checkInput(y);
          y = linearRelu(y, lin.weight, lin.bias);
          i++;
          continue;
        }
        // so do a plain Conv2d and a plain ReLU (the ReLU in the convolution's epilogue)
        if (i + 1 < layers.length && plain(m, Conv2d) && plain(layers[i + 1], ReLU)) {
          const conv = m as Conv2d;
          y = conv2dRelu(y, conv.weight, conv.bias, conv.options);
          i++;
          continue;
        }
        y = m.forward(y);
      } catch (e) {
        rethrowFromChild(e, String(i), m);
      }
    }
    return y;
  }

  spec(): ModuleSpec {
    return { type: 'Sequential', layers: this.layers.map((m) => m.spec()) };
  }
}

/** m is an instance of exactly cls with the class's own forward (summary() wraps forward per instance). */
function plain(m: Module, cls: typeof Linear | typeof ReLU | typeof Conv2d): boolean {
  return m.forward === cls.prototype.forward && m.constructor === cls;
}

/** Builds a module (with fresh parameters) from its spec. */
export function moduleFromSpec(spec: ModuleSpec): Module {
  switch (spec?.type) {
    case 'Linear':
      return new Linear(spec.inFeatures, spec.outFeatures, { bias: spec.bias });
    case 'ReLU':
      return new ReLU();
    case 'Sigmoid':
      return new Sigmoid();
    case 'Tanh':
      return new Tanh();
    case 'Flatten':
      return new Flatten();
    case 'Dropout':
      return new Dropout(spec.p);
    case 'Sequential':
      if (!Array.isArray(spec.layers)) throw new TypeError('Sequential spec needs a layers array');
      return new Sequential(...spec.layers.map(moduleFromSpec));
    case 'LayerNorm':
      return new LayerNorm(spec.normalizedShape, {
        eps: spec.eps,
        elementwiseAffine: spec.elementwiseAffine,
        bias: spec.bias,
      });
    case 'Embedding':
      return new Embedding(spec.numEmbeddings, spec.embeddingDim, {
        paddingIdx: spec.paddingIdx,
        maxNorm: spec.maxNorm,
        normType: spec.normType,
      });
    case 'Dropout2d':
      return new Dropout2d(spec.p);
    case 'BatchNorm1d':
    case 'BatchNorm2d':
      return batchNormFromSpec(spec);
    case 'Conv2d': {
      const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias } = spec;
      return new Conv2d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, bias });
    }
    case 'MaxPool2d': {
      const { type: _, kernelSize, ...opts } = spec;
      return new MaxPool2d(kernelSize, opts);
    }
    case 'AvgPool2d': {
      const { type: _, kernelSize, ...opts } = spec;
      return new AvgPool2d(kernelSize, opts);
    }
    case 'AdaptiveAvgPool2d':
      return new AdaptiveAvgPool2d(spec.outputSize);
    default:
      throw new RangeError(`unknown module type in spec: ${JSON.stringify((spec as { type?: unknown })?.type)}`);
  }
}

/**
 * The parameters `moduleFromSpec(spec)` would create, by dotted name, without allocating them:
 * a file's weights are checked against its architecture before anything is built, so a spec
 * that claims a huge layer costs nothing when its weights do not match.
 */
export function specParameterShapes(spec: ModuleSpec, prefix = ''): Map<string, number[]> {
  const out = new Map<string, number[]>();
  switch (spec?.type) {
    case 'Linear':
      checkSize('inFeatures', spec.inFeatures);
      checkSize('outFeatures', spec.outFeatures);
      out.set(`${prefix}weight`, [spec.outFeatures, spec.inFeatures]);
      if (spec.bias ?? true) out.set(`${prefix}bias`, [spec.outFeatures]);
      return out;
    case 'Conv2d': {
      const [kH, kW] = Array.isArray(spec.kernelSize) ? spec.kernelSize : [spec.kernelSize, spec.kernelSize];
      for (const [name, v] of [
        ['inChannels', spec.inChannels],
        ['outChannels', spec.outChannels],
        ['groups', spec.groups],
        ['kernelSize', kH],
        ['kernelSize', kW],
      ] as const)
        checkSize(name, v);
      if (spec.inChannels % spec.groups !== 0) throw new RangeError('Conv2d spec: groups must divide inChannels');
      out.set(`${prefix}weight`, [spec.outChannels, spec.inChannels / spec.groups, kH, kW]);
      if (spec.bias ?? true) out.set(`${prefix}bias`, [spec.outChannels]);
      return out;
    }
    case 'Sequential':
      if (!Array.isArray(spec.layers)) throw new TypeError('Sequential spec needs a layers array');
      spec.layers.forEach((layer, i) => {
        for (const [name, shape] of specParameterShapes(layer, `${prefix}${i}.`)) out.set(name, shape);
      });
      return out;
    case 'LayerNorm': {
      // The constructor's checks, on the spec's numbers alone (no parameters allocated).
      const m = normalizedDims('LayerNorm', spec.normalizedShape);
      if (spec.elementwiseAffine ?? true) {
        out.set(`${prefix}weight`, m);
        if (spec.bias ?? true) out.set(`${prefix}bias`, m);
      }
      return out;
    }
    case 'Embedding':
      checkSize('numEmbeddings', spec.numEmbeddings);
      checkSize('embeddingDim', spec.embeddingDim);
      out.set(`${prefix}weight`, [spec.numEmbeddings, spec.embeddingDim]);
      return out;
    case 'BatchNorm1d':
    case 'BatchNorm2d':
      checkSize('numFeatures', spec.numFeatures);
      if (spec.affine ?? true) {
        out.set(`${prefix}weight`, [spec.numFeatures]);
        out.set(`${prefix}bias`, [spec.numFeatures]);
      }
      return out;
    default:
      moduleFromSpec(spec); // the parameterless layers: cheap, and it names an unknown type
      return out;
  }
}

/** The persistent buffers `moduleFromSpec(spec)` would create, by dotted name (as specParameterShapes). */
export function specBufferShapes(spec: ModuleSpec, prefix = ''): Map<string, number[]> {
  const out = new Map<string, number[]>();
  switch (spec?.type) {
    case 'Sequential':
      if (!Array.isArray(spec.layers)) throw new TypeError('Sequential spec needs a layers array');
      spec.layers.forEach((layer, i) => {
        for (const [name, shape] of specBufferShapes(layer, `${prefix}${i}.`)) out.set(name, shape);
      });
      return out;
    case 'BatchNorm1d':
    case 'BatchNorm2d':
      checkSize('numFeatures', spec.numFeatures);
      if (spec.trackRunningStats ?? true) {
        out.set(`${prefix}running_mean`, [spec.numFeatures]);
        out.set(`${prefix}running_var`, [spec.numFeatures]);
        out.set(`${prefix}num_batches_tracked`, []);
      }
      return out;
    default:
      return out;
  }
}

/** An MLP as nodegrad's CLI builds it: Linear-ReLU pairs then a Linear to the classes. */
export function mlp(inFeatures: number, hidden: readonly number[], outFeatures: number): Sequential {
  const layers: Module[] = [];
  let prev = inFeatures;
  for (const h of hidden) {
    layers.push(new Linear(prev, h), new ReLU());
    prev = h;
  }
  layers.push(new Linear(prev, outFeatures));
  return new Sequential(...layers);
}
