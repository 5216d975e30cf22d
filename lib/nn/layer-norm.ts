/** nn.LayerNorm: layer normalisation over the trailing dims with a learnable scale and shift. */
import { checkOptions, optionKeys, quote } from '../options.js';
import { Tensor } from '../tensor/index.js';
import { checkEps, layerNorm, normalizedDims, type NormalizedShape } from '../tensor/layer-ops.js';
import { Module, type ModuleSpec } from './module.js';
import { pyFloat } from './py-repr.js';

/** Options of LayerNorm (torch.nn.LayerNorm's eps, elementwise_affine and, from PyTorch 2.1, bias). */
export interface LayerNormOptions {
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** Learn a weight (init 1) and a bias (init 0) of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, learn the bias too (default true; PyTorch >= 2.1's `bias`). */
  bias?: boolean;
}

export const LAYER_NORM_KEYS = optionKeys<LayerNormOptions>()('eps', 'elementwiseAffine', 'bias');

/**
 * Normalises each sample over its last dims (normalizedShape) to mean 0 and variance 1, then
 * scales by `weight` and shifts by `bias` (torch.nn.LayerNorm, same state-dict keys). The
 * statistics are the sample's own, so train and eval behave the same.
 */
export class LayerNorm extends Module {
  /** The trailing dims normalised over. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance (default 1e-5). */
  readonly eps: number;
  /** Whether weight (and bias, unless built without) are learned. */
  readonly elementwiseAffine: boolean;
  /** The scale, shape normalizedShape (init 1), or null without elementwiseAffine. */
  weight: Tensor | null = null;
  /** The shift, shape normalizedShape (init 0), or null without elementwiseAffine or bias. */
  bias: Tensor | null = null;

  constructor(normalizedShape: NormalizedShape, opts: LayerNormOptions = {}) {
    super();
    checkOptions('LayerNorm', opts, LAYER_NORM_KEYS);
    this.normalizedShape = Object.freeze(normalizedDims('LayerNorm', normalizedShape));
    this.eps = checkEps('LayerNorm', opts.eps ?? 1e-5);
    this.elementwiseAffine = flag('elementwiseAffine', opts.elementwiseAffine);
    const withBias = flag('bias', opts.bias);
    const D = this.normalizedShape.reduce((a, b) => a * b, 1);
    if (this.elementwiseAffine) {
      this.weight = new Tensor(new Float32Array(D).fill(1), this.normalizedShape);
      this.registerParameter('weight', this.weight);
      if (withBias) {
        this.bias = new Tensor(new Float32Array(D), this.normalizedShape);
        this.registerParameter('bias', this.bias);
      }
    }
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  spec(): ModuleSpec {
    return {
      type: 'LayerNorm',
      normalizedShape: [...this.normalizedShape],
      eps: this.eps,
      elementwiseAffine: this.elementwiseAffine,
      bias: this.bias !== null,
    };
  }

  protected override extraRepr(): string {
    const shape =
      this.normalizedShape.length === 1 ? `(${this.normalizedShape[0]},)` : `(${this.normalizedShape.join(', ')})`;
    return `${shape}, eps=${pyFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

function flag(name: string, v: unknown): boolean {
  if (v === undefined) return true;
  if (typeof v !== 'boolean') throw new TypeError(`LayerNorm: ${name} must be a boolean, got ${quote(v)}`);
  return v;
}
