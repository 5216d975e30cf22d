/** Convolution and pooling layers: Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (NCHW). */
import { checkOptions, optionKeys, quote } from '../options.js';
import {
  Tensor,
  conv2d,
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  type Conv2dOptions,
  type MaxPool2dOptions,
  type AvgPool2dOptions,
  type Size2,
} from '../tensor/index.js';
import { convParams } from '../tensor/conv.js';
import { poolParams, MAX_POOL2D_KEYS, AVG_POOL2D_KEYS } from '../tensor/pool.js';
import { Module, type ModuleSpec } from './module.js';
import { uniform_, kaimingUniform_ } from './init.js';

/** Options of nn.Conv2d: conv2d's, and whether the layer has a bias. */
export interface Conv2dLayerOptions extends Conv2dOptions {
  /** Add a learnable bias per output channel. @defaultValue true */
  bias?: boolean;
}
export const CONV2D_LAYER_KEYS = optionKeys<Conv2dLayerOptions>()('stride', 'padding', 'dilation', 'groups', 'bias');

function checkCount(owner: string, name: string, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return v;
  throw new (typeof v === 'number' ? RangeError : TypeError)(
    `${owner}: ${name} must be an integer >= 1, got ${quote(v)}`,
  );
}

const show = (v: Size2): string => (Array.isArray(v) ? `(${v.join(', ')})` : `(${v}, ${v})`);
const asPair = (v: Size2): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v as number, v as number]);

/**
 * 2-D convolution over [N, inChannels, H, W], weight [outChannels, inChannels/groups, kH, kW]
 * (PyTorch's layout and state-dict keys weight/bias). Initialised like torch.nn.Conv2d:
 * weight ~ kaiming_uniform(a = sqrt(5)) and bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn =
 * inChannels/groups * kH * kW.
 */
export class Conv2d extends Module {
  /** Channels of the input (C of [N, C, H, W]). */
  readonly inChannels: number;
  /** Channels of the output: the number of filters. */
  readonly outChannels: number;
  /** [kH, kW]. */
  readonly kernelSize: [number, number];
  /** stride, padding, dilation and groups, with their defaults filled in. */
  readonly options: Required<Conv2dOptions>;
  /** The filters, shape [outChannels, inChannels / groups, kH, kW]. */
  weight: Tensor;
  /** The bias, shape [outChannels], or null when built with `{ bias: false }`. */
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dLayerOptions = {}) {
    super();
    checkOptions('Conv2d', opts, CONV2D_LAYER_KEYS);
    checkCount('Conv2d', 'inChannels', inChannels);
    checkCount('Conv2d', 'outChannels', outChannels);
    const groups = checkCount('Conv2d', 'groups', opts.groups ?? 1);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(
        `Conv2d: groups = ${groups} must divide inChannels (${inChannels}) and outChannels (${outChannels})`,
      );
    }
    const [kH, kW] = asPair(kernelSize);
    checkCount('Conv2d', 'kernelSize', kH);
    checkCount('Conv2d', 'kernelSize', kW);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = [kH, kW];
    this.options = {
      stride: opts.stride ?? 1,
      padding: opts.padding ?? 0,
      dilation: opts.dilation ?? 1,
      groups,
    };
    const cg = inChannels / groups;
    this.weight = new Tensor(new Float32Array(outChannels * cg * kH * kW), [outChannels, cg, kH, kW]);
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    this.registerParameter('weight', this.weight);
    this.bias = null;
    if (opts.bias ?? true) {
      const bound = 1 / Math.sqrt(cg * kH * kW);
      this.bias = uniform_(new Tensor(new Float32Array(outChannels), [outChannels]), -bound, bound);
      this.registerParameter('bias', this.bias);
    }
    convParams('Conv2d', this.options, kH, kW); // a bad stride, padding or dilation fails here, not at the first forward
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }

  override describe(): string {
    return `Conv2d(${this.inChannels} -> ${this.outChannels}, ${this.kernelSize.join('x')})`;
  }

  spec(): ModuleSpec {
    return {
      type: 'Conv2d',
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      stride: this.options.stride,
      padding: this.options.padding,
      dilation: this.options.dilation,
      groups: this.options.groups,
      bias: this.bias !== null,
    };
  }

  protected override extraRepr(): string {
    const o = this.options;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${show(this.kernelSize)}, stride=${show(o.stride)}`;
    if (o.padding !== 0) s += `, padding=${typeof o.padding === 'string' ? `'${o.padding}'` : show(o.padding)}`;
    if (o.dilation !== 1) s += `, dilation=${show(o.dilation)}`;
    if (o.groups !== 1) s += `, groups=${o.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

/** torch.nn.MaxPool2d: maxPool2d with fixed options (stride defaults to the kernel size). */
export class MaxPool2d extends Module {
  /** The window: kH = kW, or [kH, kW]. */
  readonly kernelSize: Size2;
  /** As given to the constructor (stride defaults to kernelSize). */
  readonly options: MaxPool2dOptions;

  constructor(kernelSize: Size2, opts: MaxPool2dOptions = {}) {
    super();
    checkOptions('MaxPool2d', opts, MAX_POOL2D_KEYS);
    poolParams('MaxPool2d', kernelSize, opts);
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }

  spec(): ModuleSpec {
    return { type: 'MaxPool2d', kernelSize: this.kernelSize, ...this.options };
  }

  protected override extraRepr(): string {
    const o = this.options;
    return (
      `kernel_size=${this.kernelSize}, stride=${o.stride ?? this.kernelSize}, padding=${o.padding ?? 0}, ` +
      `dilation=${o.dilation ?? 1}, ceil_mode=${o.ceilMode ? 'True' : 'False'}`
    );
  }
}

/** torch.nn.AvgPool2d: avgPool2d with fixed options (stride defaults to the kernel size). */
export class AvgPool2d extends Module {
  /** The window: kH = kW, or [kH, kW]. */
  readonly kernelSize: Size2;
  /** As given to the constructor (stride defaults to kernelSize). */
  readonly options: AvgPool2dOptions;

  constructor(kernelSize: Size2, opts: AvgPool2dOptions = {}) {
    super();
    checkOptions('AvgPool2d', opts, AVG_POOL2D_KEYS);
    poolParams('AvgPool2d', kernelSize, opts);
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }

  spec(): ModuleSpec {
    return { type: 'AvgPool2d', kernelSize: this.kernelSize, ...this.options };
  }

  protected override extraRepr(): string {
    return `kernel_size=${this.kernelSize}, stride=${this.options.stride ?? this.kernelSize}, padding=${this.options.padding ?? 0}`;
  }
}

/** torch.nn.AdaptiveAvgPool2d: any input size to outputSize ([h, w] or one number). */
export class AdaptiveAvgPool2d extends Module {
  /** [Ho, Wo] or one number for both; null keeps the input's size on that axis. */
  readonly outputSize: number | [number | null, number | null];

  constructor(outputSize: number | readonly [number | null, number | null]) {
    super();
    this.outputSize = Array.isArray(outputSize) ? [outputSize[0], outputSize[1]] : (outputSize as number);
    adaptiveAvgPool2d(new Tensor(new Float32Array(0), [0, 1, 1, 1]), this.outputSize);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  spec(): ModuleSpec {
    return { type: 'AdaptiveAvgPool2d', outputSize: this.outputSize };
  }

  protected override extraRepr(): string {
    return `output_size=${Array.isArray(this.outputSize) ? `(${this.outputSize.map((v) => v ?? 'None').join(', ')})` : this.outputSize}`;
  }
}
