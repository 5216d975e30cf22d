/**
 * Pooling with autograd (NCHW, or one [C, H, W] image), PyTorch's functional forms:
 * maxPool2d, avgPool2d (stride defaults to the kernel size) and adaptiveAvgPool2d. Each is one
 * kernel call forward and one backward (max pooling's backward finds each window's maximum
 * again from the saved input instead of keeping indices).
 */
import { kernels } from '../backend/index.js';
import { checkOptions, optionKeys, quote } from '../options.js';
import { pair, outSize, type Size2 } from './conv.js';
import { gradOut, uninitialized } from './grad-buffers.js';
import { makeResult } from './graph.js';
import { fmtShape } from './shape.js';
import { checkTensor, type Tensor } from './tensor.js';

/** Options of maxPool2d (torch.nn.functional.max_pool2d's keyword arguments). */
export interface MaxPool2dOptions {
  /** Step of the window. @defaultValue the kernel size */
  stride?: Size2;
  /** -Infinity padding on each side, at most half the kernel size. @defaultValue 0 */
  padding?: Size2;
  /** Spacing between the window's taps. @defaultValue 1 */
  dilation?: Size2;
  /** Round the output size up (a last, partial window), not down. @defaultValue false */
  ceilMode?: boolean;
}
export const MAX_POOL2D_KEYS = optionKeys<MaxPool2dOptions>()('stride', 'padding', 'dilation', 'ceilMode');

/** Options of avgPool2d (torch.nn.functional.avg_pool2d's keyword arguments). */
export interface AvgPool2dOptions {
  /** Step of the window. @defaultValue the kernel size */
  stride?: Size2;
  /** Zero padding on each side, at most half the kernel size. @defaultValue 0 */
  padding?: Size2;
  /** Round the output size up (a last, partial window), not down. @defaultValue false */
  ceilMode?: boolean;
  /** Count the padding's zeros in the average. @defaultValue true */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead of its size. @defaultValue null (the window's size) */
  divisorOverride?: number | null;
}
export const AVG_POOL2D_KEYS = optionKeys<AvgPool2dOptions>()(
  'stride',
  'padding',
  'ceilMode',
  'countIncludePad',
  'divisorOverride',
);

function bool(owner: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${owner}: ${name} must be a boolean, got ${quote(v)}`);
  return v;
}

/** The planes (N*C, or C for one image) and H, W of a pooling input. */
function planes(op: string, x: Tensor): [number, number, number] {
  checkTensor(x, op, 'x');
  const s = x.shape;
  if (s.length !== 3 && s.length !== 4)
    throw new RangeError(`${op}: x must be [N, C, H, W] or [C, H, W], got ${fmtShape(s)}`);
  const H = s[s.length - 2],
    W = s[s.length - 1];
  let NC = 1;
  for (let i = 0; i < s.length - 2; i++) NC *= s[i];
  return [NC, H, W];
}

interface Window {
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  dH: number;
  dW: number;
  Ho: number;
  Wo: number;
}

/** @internal Checks a pooling layer's geometry (what nn's pooling modules check at construction). */
export function poolParams(
  op: string,
  kernelSize: unknown,
  o: { stride?: Size2; padding?: Size2; dilation?: Size2 },
): Omit<Window, 'Ho' | 'Wo'> {
  const [kH, kW] = pair(op, 'kernelSize', kernelSize, 1);
  const [sH, sW] = o.stride === undefined || o.stride === null ? [kH, kW] : pair(op, 'stride', o.stride, 1);
  const [pH, pW] = pair(op, 'padding', o.padding ?? 0, 0);
  const [dH, dW] = pair(op, 'dilation', o.dilation ?? 1, 1);
  if (pH > kH / 2 || pW > kW / 2) {
    throw new RangeError(`${op}: padding (${pH}, ${pW}) must be at most half the kernel size (${kH}, ${kW})`);
  }
  return { kH, kW, sH, sW, pH, pW, dH, dW };
}

function window(
  op: string,
  H: number,
  W: number,
  kernelSize: unknown,
  o: { stride?: Size2; padding?: Size2; dilation?: Size2 },
  ceil: boolean,
): Window {
  const w = poolParams(op, kernelSize, o);
  return {
    ...w,
    Ho: outSize(op, 'height', H, w.kH, w.sH, w.pH, w.dH, ceil),
    Wo: outSize(op, 'width', W, w.kW, w.sW, w.pW, w.dW, ceil),
  };
}

function outShape(x: Tensor, Ho: number, Wo: number): number[] {
  return [...x.shape.slice(0, -2), Ho, Wo];
}

/** Max over each window of every channel plane. */
export function maxPool2d(x: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): Tensor {
  const op = 'maxPool2d';
  checkOptions(op, options, MAX_POOL2D_KEYS);
  const [NC, H, W] = planes(op, x);
  const ceil = bool(op, 'ceilMode', options.ceilMode, false);
  const w = window(op, H, W, kernelSize, options, ceil);
  const dims = [NC, H, W, w.Ho, w.Wo, w.kH, w.kW, w.sH, w.sW, w.pH, w.pW, w.dH, w.dW, ceil] as const;
  const y = uninitialized(NC * w.Ho * w.Wo); // written whole by the kernel
  kernels().maxPool2d(x.data, ...dims, y);
  return makeResult(
    y,
    outShape(x, w.Ho, w.Wo),
    op,
    [x],
    (g) => {
      const t = gradOut(x);
      kernels().maxPool2dBackward(g, x.data, ...dims, t.beta === 1, t.buf);
    },
    [x.data],
  );
}

/** Mean over each window of every channel plane. */
export function avgPool2d(x: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): Tensor {
  const op = 'avgPool2d';
  checkOptions(op, options, AVG_POOL2D_KEYS);
  const [NC, H, W] = planes(op, x);
  const ceil = bool(op, 'ceilMode', options.ceilMode, false);
  const include = bool(op, 'countIncludePad', options.countIncludePad, true);
  const div = options.divisorOverride ?? 0;
  if (options.divisorOverride !== undefined && options.divisorOverride !== null) {
    if (typeof div !== 'number') throw new TypeError(`${op}: divisorOverride must be a number, got ${quote(div)}`);
    if (!Number.isInteger(div) || div < 1 || div > 0xffffff) {
      throw new RangeError(`${op}: divisorOverride must be an integer >= 1, got ${quote(div)}`);
    }
  }
  const w = window(op, H, W, kernelSize, options, ceil);
  const dims = [NC, H, W, w.Ho, w.Wo, w.kH, w.kW, w.sH, w.sW, w.pH, w.pW, ceil, include, div] as const;
  const y = uninitialized(NC * w.Ho * w.Wo); // written whole by the kernel
  kernels().avgPool2d(x.data, ...dims, y);
  return makeResult(y, outShape(x, w.Ho, w.Wo), op, [x], (g) => {
    const t = gradOut(x);
    kernels().avgPool2dBackward(g, ...dims, t.beta === 1, t.buf);
  });
}

/**
 * Mean over PyTorch's adaptive windows, giving an outputSize ([h, w], or one number for both;
 * null keeps the input's size along that dim) whatever the input's size.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = 'adaptiveAvgPool2d';
  const [NC, H, W] = planes(op, x);
  const given = Array.isArray(outputSize) ? outputSize : [outputSize, outputSize];
  const [Ho, Wo] = pair(
    op,
    'outputSize',
    [given[0] ?? H, given[1] ?? W].map((v) => (v === undefined ? Number.NaN : v)),
    1,
  );
  if (H < 1 || W < 1)
    throw new RangeError(`${op}: the input's height and width must be >= 1, got ${fmtShape(x.shape)}`);
  const y = uninitialized(NC * Ho * Wo); // written whole by the kernel
  kernels().adaptiveAvgPool2d(x.data, NC, H, W, Ho, Wo, y);
  return makeResult(y, outShape(x, Ho, Wo), op, [x], (g) => {
    const t = gradOut(x);
    kernels().adaptiveAvgPool2dBackward(g, NC, H, W, Ho, Wo, t.beta === 1, t.buf);
  });
}
