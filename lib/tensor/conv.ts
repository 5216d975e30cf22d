/**
 * conv2d with autograd (NCHW), PyTorch's torch.nn.functional.conv2d: weight [outC, inC/groups,
 * kH, kW], stride / padding / dilation as a number or [h, w], padding also 'valid' (0) or
 * 'same' (stride 1: the output keeps the input's size; an odd total padding puts the extra row
 * or column at the bottom/right, as PyTorch does). An unbatched [C, H, W] input gives a
 * [outC, Ho, Wo] output.
 *
 * The forward is one conv2d kernel call (bias and, for conv2dRelu, the ReLU in its epilogue);
 * the backward one call for the parameters' gradients and one for the input's, each writing
 * into the gradient buffers (accumulating when they already hold a gradient).
 */
import { kernels } from '../backend/index.js';
import { windowOut } from '../backend/kernel-table.js';
import { checkOptions, optionKeys, quote } from '../options.js';
import { gradOut, gradScratch, uninitialized } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { fmtShape } from './shape.js';
import { pad as padOp } from './shape-ops.js';
import { reshape } from './ops.js';
import { checkTensor, type Tensor } from './tensor.js';

/** A size given once for both spatial dims or as [h, w]. */
export type Size2 = number | readonly [number, number];

/** Options of conv2d (torch.nn.functional.conv2d's keyword arguments). */
export interface Conv2dOptions {
  /** Step of the window. @defaultValue 1 */
  stride?: Size2;
  /** Zeros added on each side, or 'valid' (none) or 'same' (output size = input size; stride 1). @defaultValue 0 */
  padding?: Size2 | 'same' | 'valid';
  /** Spacing between the kernel's taps. @defaultValue 1 */
  dilation?: Size2;
  /** Channels split into this many groups, each convolved with its own filters. @defaultValue 1 */
  groups?: number;
}
export const CONV2D_KEYS = optionKeys<Conv2dOptions>()('stride', 'padding', 'dilation', 'groups');

/** @internal [h, w] from a Size2 option, each an integer >= min. */
export function pair(owner: string, name: string, v: unknown, min: number): [number, number] {
  const both = Array.isArray(v) ? v : [v, v];
  if (both.length !== 2) throw new RangeError(`${owner}: ${name} must be a number or [h, w], got ${quote(v)}`);
  for (const d of both) {
    if (typeof d !== 'number') throw new TypeError(`${owner}: ${name} must be a number or [h, w], got ${quote(v)}`);
    if (!Number.isInteger(d) || d < min || d > 0xffffff) {
      throw new RangeError(
        `${owner}: ${name} must be an integer >= ${min}${Array.isArray(v) ? ' each' : ''}, got ${quote(d)}`,
      );
    }
  }
  return [both[0] as number, both[1] as number];
}

/** @internal The output size of a window along one dim, or a RangeError naming the op. */
export function outSize(
  owner: string,
  dim: string,
  size: number,
  k: number,
  stride: number,
  padding: number,
  dilation: number,
  ceil: boolean,
): number {
  const o = windowOut(size, k, stride, padding, dilation, ceil);
  if (o < 1) {
    throw new RangeError(
      `${owner}: the ${dim} of the padded input (${size} + 2*${padding}) is smaller than the kernel's ` +
        `(${dilation * (k - 1) + 1})`,
    );
  }
  return o;
}

/**
 * @internal Checks a convolution's options for a kH x kW kernel: strides, dilations and the
 * symmetric padding, plus the extra bottom/right row and column 'same' needs for an odd total.
 */
export function convParams(op: string, options: Conv2dOptions, kH: number, kW: number) {
  const [sH, sW] = pair(op, 'stride', options.stride ?? 1, 1);
  const [dH, dW] = pair(op, 'dilation', options.dilation ?? 1, 1);
  const padding = options.padding ?? 0;
  let pH = 0,
    pW = 0,
    extraH = 0,
    extraW = 0;
  if (padding === 'same') {
    if (sH !== 1 || sW !== 1)
      throw new RangeError(`${op}: padding 'same' needs stride 1, got ${quote(options.stride)}`);
    const tH = dH * (kH - 1),
      tW = dW * (kW - 1);
    [pH, pW, extraH, extraW] = [Math.floor(tH / 2), Math.floor(tW / 2), tH % 2, tW % 2];
  } else if (typeof padding === 'string' && padding !== 'valid') {
    throw new RangeError(`${op}: padding must be a number, [h, w], 'same' or 'valid', got ${quote(padding)}`);
  } else if (padding !== 'valid') {
    [pH, pW] = pair(op, 'padding', padding, 0);
  }
  return { sH, sW, dH, dW, pH, pW, extraH, extraW };
}

/** 2-D convolution over a batch [N, C, H, W] (or one [C, H, W] image). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  return convOp('conv2d', x, weight, bias ?? null, options, false);
}

/**
 * relu(conv2d(x, weight, bias, options)), fused: the same values and gradients with the ReLU in
 * the convolution's epilogue. nn.Sequential runs a Conv2d followed by a ReLU this way.
 */
export function conv2dRelu(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  return convOp('conv2dRelu', x, weight, bias ?? null, options, true);
}

function convOp(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  options: Conv2dOptions,
  relu: boolean,
): Tensor {
  checkTensor(x, op, 'x');
  checkTensor(weight, op, 'weight');
  checkOptions(op, options, CONV2D_KEYS);
  if (x.shape.length === 3) {
    const y = convOp(op, reshape(x, [1, ...x.shape]), weight, bias, options, relu);
    return reshape(y, y.shape.slice(1));
  }
  if (x.shape.length !== 4)
    throw new RangeError(`${op}: x must be [N, C, H, W] or [C, H, W], got ${fmtShape(x.shape)}`);
  const groups = options.groups ?? 1;
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
    throw new (typeof groups === 'number' ? RangeError : TypeError)(
      `${op}: groups must be an integer >= 1, got ${quote(groups)}`,
    );
  }
  const [N, C, H, W] = x.shape;
  if (weight.shape.length !== 4) {
    throw new RangeError(`${op}: weight must be [outC, inC/groups, kH, kW], got ${fmtShape(weight.shape)}`);
  }
  const [K, Cg, kH, kW] = weight.shape;
  if (C % groups !== 0 || K % groups !== 0) {
    throw new RangeError(
      `${op}: groups = ${groups} must divide the input channels (${C}) and the output channels (${K})`,
    );
  }
  if (Cg !== C / groups) {
    throw new RangeError(
      `${op}: weight ${fmtShape(weight.shape)} expects ${Cg * groups} input channels (${Cg} per group), x has ${C}`,
    );
  }
  if (kH < 1 || kW < 1) throw new RangeError(`${op}: the kernel must be at least 1 x 1, got ${kH} x ${kW}`);
  if (bias !== null) {
    checkTensor(bias, op, 'bias');
    if (bias.shape.length !== 1 || bias.shape[0] !== K) {
      throw new RangeError(`${op}: bias must be [outC] with outC = ${K}, got ${fmtShape(bias.shape)}`);
    }
  }
  const { sH, sW, dH, dW, pH, pW, extraH, extraW } = convParams(op, options, kH, kW);
  if (extraH + extraW > 0) {
    // 'same' with an odd total: the odd row / column of padding goes at the bottom / right, as in PyTorch
    const xp = padOp(x, [0, extraW, 0, extraH]);
    return convOp(op, xp, weight, bias, { ...options, padding: [pH, pW] }, relu);
  }
  const G = groups,
    Kg = K / G;
  const Ho = outSize(op, 'height', H, kH, sH, pH, dH, false);
  const Wo = outSize(op, 'width', W, kW, sW, pW, dW, false);
  const dims = [N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, sH, sW, pH, pW, dH, dW] as const;
  const y = uninitialized(N * K * Ho * Wo); // conv2d writes every element
  kernels().conv2d(x.data, weight.data, bias?.data ?? null, ...dims, bias !== null, relu, y);
  const parents = bias !== null ? [x, weight, bias] : [x, weight];
  return makeResult(
    y,
    [N, K, Ho, Wo],
    op,
    parents,
    (g) => {
      const k = kernels();
      if (relu) k.reluBackward(g, y, g.length, g); // g becomes the gradient before the ReLU
      const db = bias?.requiresGrad === true;
      if (weight.requiresGrad || db) {
        const tw = weight.requiresGrad ? gradOut(weight) : { buf: gradScratch(weight.data.length), beta: 0 };
        const tb = db ? gradOut(bias!) : null;
        k.conv2dBackwardParams(g, x.data, ...dims, db, tw.beta === 1, tb?.beta === 1, tw.buf, tb?.buf ?? null);
      }
      // the first layer's input needs no gradient: dx is skipped then
      if (x.requiresGrad) {
        const t = gradOut(x);
        k.conv2dBackwardInput(g, weight.data, ...dims, t.beta === 1, t.buf);
      }
    },
    // what the closure reads: x for the parameters' gradients, weight for the input's
    weight.requiresGrad || bias?.requiresGrad ? (x.requiresGrad ? [x.data, weight.data] : [x.data]) : [weight.data],
  );
}
