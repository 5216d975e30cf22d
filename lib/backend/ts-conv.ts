// The TS backend's convolution and pooling kernels (kernel-table.ts documents each): the
// simplest loops that define the numbers, in NCHW. Sums run in JS doubles and are rounded to
// float32 once, when stored; the native kernels (native/kernels/conv.cc, pool.cc) sum in float32
// in a blocked order, so the two agree to float32 accumulation error (test/conv.test.ts argues
// the tolerance).
//
// Dimensions: convolution x is N x (G*Cg) x H x W, weight (G*Kg) x Cg x kH x kW, y and dy
// N x (G*Kg) x Ho x Wo; pooling works on NC planes, x H x W, y Ho x Wo. Window geometry:
// output (oh, ow) reads input row oh*strideH - padH + i*dilationH, column likewise.

/** conv2d: y = bias + weight * x over each window (then ReLU when relu). */
export function conv2d(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
  N: number,
  G: number,
  Cg: number,
  H: number,
  W: number,
  Kg: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  _hasBias: boolean,
  relu: boolean,
  y: Float32Array,
): void {
  const C = G * Cg,
    K = G * Kg;
  for (let n = 0; n < N; n++) {
    for (let ko = 0; ko < K; ko++) {
      const g = Math.floor(ko / Kg);
      const yo = (n * K + ko) * Ho * Wo;
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let s = bias !== null ? bias[ko] : 0;
          for (let c = 0; c < Cg; c++) {
            const xo = (n * C + g * Cg + c) * H * W;
            const wo = (ko * Cg + c) * kH * kW;
            for (let i = 0; i < kH; i++) {
              const h = oh * strideH - padH + i * dilationH;
              if (h < 0 || h >= H) continue;
              for (let j = 0; j < kW; j++) {
                const w = ow * strideW - padW + j * dilationW;
                if (w < 0 || w >= W) continue;
                s += weight[wo + i * kW + j] * x[xo + h * W + w];
              }
            }
          }
          y[yo + oh * Wo + ow] = relu && s <= 0 ? 0 : s; // NaN stays NaN, as relu
        }
      }
    }
  }
}

/** Calls fn(xIndex, yIndex, wIndex) for every (input element, output element, weight) a convolution pairs. */
function forEachTap(
  N: number,
  G: number,
  Cg: number,
  H: number,
  W: number,
  Kg: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  fn: (xi: number, yi: number, wi: number) => void,
): void {
  const C = G * Cg,
    K = G * Kg;
  for (let n = 0; n < N; n++)
    for (let ko = 0; ko < K; ko++) {
      const g = Math.floor(ko / Kg);
      for (let c = 0; c < Cg; c++) {
        const xo = (n * C + g * Cg + c) * H * W;
        const wo = (ko * Cg + c) * kH * kW;
        for (let oh = 0; oh < Ho; oh++)
          for (let i = 0; i < kH; i++) {
            const h = oh * strideH - padH + i * dilationH;
            if (h < 0 || h >= H) continue;
            for (let ow = 0; ow < Wo; ow++)
              for (let j = 0; j < kW; j++) {
                const w = ow * strideW - padW + j * dilationW;
                if (w < 0 || w >= W) continue;
                fn(xo + h * W + w, (n * K + ko) * Ho * Wo + oh * Wo + ow, wo + i * kW + j);
              }
          }
      }
    }
}

let acc = new Float64Array(1024);
function scratch(n: number): Float64Array {
  if (acc.length < n) acc = new Float64Array(n);
  acc.fill(0, 0, n);
  return acc;
}

/** conv2dBackwardInput: dx (+)= the transposed convolution of dy. */
export function conv2dBackwardInput(
  dy: Float32Array,
  weight: Float32Array,
  N: number,
  G: number,
  Cg: number,
  H: number,
  W: number,
  Kg: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  accumulate: boolean,
  dx: Float32Array,
): void {
  const n = N * G * Cg * H * W;
  const s = scratch(n);
  forEachTap(N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, (xi, yi, wi) => {
    s[xi] += weight[wi] * dy[yi];
  });
  for (let i = 0; i < n; i++) dx[i] = accumulate ? dx[i] + s[i] : s[i];
}

/** conv2dBackwardParams: dweight (+)= sum of dy * x over the taps, dbias (+)= sum of dy. */
export function conv2dBackwardParams(
  dy: Float32Array,
  x: Float32Array,
  N: number,
  G: number,
  Cg: number,
  H: number,
  W: number,
  Kg: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  _hasBias: boolean,
  accumulate: boolean,
  accumulateBias: boolean,
  dweight: Float32Array,
  dbias: Float32Array | null,
): void {
  const nw = G * Kg * Cg * kH * kW;
  const s = scratch(nw);
  forEachTap(N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, (xi, yi, wi) => {
    s[wi] += x[xi] * dy[yi];
  });
  for (let i = 0; i < nw; i++) dweight[i] = accumulate ? dweight[i] + s[i] : s[i];
  if (dbias === null) return;
  const K = G * Kg,
    P = Ho * Wo;
  for (let k = 0; k < K; k++) {
    let b = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * K + k) * P;
      for (let q = 0; q < P; q++) b += dy[o + q];
    }
    dbias[k] = accumulateBias ? dbias[k] + b : b;
  }
}

/**
 * The element maxPool2d picks in plane p at output (oh, ow): the index into x, or -1 when the
 * window holds no input element. The first maximum wins, a NaN beats everything (the last
 * NaN), as PyTorch's loop `if (v > max || isnan(v))`; an all -Infinity window picks its first
 * element.
 */
function maxIndex(
  x: Float32Array,
  base: number,
  H: number,
  W: number,
  oh: number,
  ow: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
): number {
  let best = -1;
  let m = -Infinity;
  for (let i = 0; i < kH; i++) {
    const h = oh * strideH - padH + i * dilationH;
    if (h < 0 || h >= H) continue;
    for (let j = 0; j < kW; j++) {
      const w = ow * strideW - padW + j * dilationW;
      if (w < 0 || w >= W) continue;
      const idx = base + h * W + w;
      const v = x[idx];
      if (best < 0 || v > m || Number.isNaN(v)) {
        best = idx;
        m = v;
      }
    }
  }
  return best;
}

export function maxPool2d(
  x: Float32Array,
  NC: number,
  H: number,
  W: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  _ceilMode: boolean,
  y: Float32Array,
): void {
  for (let p = 0; p < NC; p++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        const i = maxIndex(x, p * H * W, H, W, oh, ow, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW);
        y[(p * Ho + oh) * Wo + ow] = i < 0 ? -Infinity : x[i];
      }
}

export function maxPool2dBackward(
  dy: Float32Array,
  x: Float32Array,
  NC: number,
  H: number,
  W: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  dilationH: number,
  dilationW: number,
  _ceilMode: boolean,
  accumulate: boolean,
  dx: Float32Array,
): void {
  const n = NC * H * W;
  const s = scratch(n);
  for (let p = 0; p < NC; p++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        const i = maxIndex(x, p * H * W, H, W, oh, ow, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW);
        if (i >= 0) s[i] += dy[(p * Ho + oh) * Wo + ow];
      }
  for (let i = 0; i < n; i++) dx[i] = accumulate ? dx[i] + s[i] : s[i];
}

/** One output's window of avgPool2d along one axis: [start, end) in the input and the padded length. */
function avgSpan(o: number, stride: number, pad: number, k: number, size: number): [number, number, number] {
  const start = o * stride - pad;
  const end = Math.min(start + k, size + pad);
  return [Math.max(start, 0), Math.min(end, size), end - start];
}

function avgDivisor(
  h0: number,
  h1: number,
  ph: number,
  w0: number,
  w1: number,
  pw: number,
  countIncludePad: boolean,
  divisor: number,
): number {
  if (divisor !== 0) return divisor;
  return countIncludePad ? ph * pw : (h1 - h0) * (w1 - w0);
}

export function avgPool2d(
  x: Float32Array,
  NC: number,
  H: number,
  W: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  _ceilMode: boolean,
  countIncludePad: boolean,
  divisor: number,
  y: Float32Array,
): void {
  for (let p = 0; p < NC; p++)
    for (let oh = 0; oh < Ho; oh++) {
      const [h0, h1, ph] = avgSpan(oh, strideH, padH, kH, H);
      for (let ow = 0; ow < Wo; ow++) {
        const [w0, w1, pw] = avgSpan(ow, strideW, padW, kW, W);
        let s = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += x[(p * H + h) * W + w];
        const d = avgDivisor(h0, h1, ph, w0, w1, pw, countIncludePad, divisor);
        y[(p * Ho + oh) * Wo + ow] = d === 0 ? 0 : s / d;
      }
    }
}

export function avgPool2dBackward(
  dy: Float32Array,
  NC: number,
  H: number,
  W: number,
  Ho: number,
  Wo: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
  _ceilMode: boolean,
  countIncludePad: boolean,
  divisor: number,
  accumulate: boolean,
  dx: Float32Array,
): void {
  const n = NC * H * W;
  const s = scratch(n);
  for (let p = 0; p < NC; p++)
    for (let oh = 0; oh < Ho; oh++) {
      const [h0, h1, ph] = avgSpan(oh, strideH, padH, kH, H);
      for (let ow = 0; ow < Wo; ow++) {
        const [w0, w1, pw] = avgSpan(ow, strideW, padW, kW, W);
        const d = avgDivisor(h0, h1, ph, w0, w1, pw, countIncludePad, divisor);
        if (d === 0) continue;
        const g = dy[(p * Ho + oh) * Wo + ow] / d;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s[(p * H + h) * W + w] += g;
      }
    }
  for (let i = 0; i < n; i++) dx[i] = accumulate ? dx[i] + s[i] : s[i];
}

/** PyTorch's adaptive window along one axis: [floor(o*size/out), ceil((o+1)*size/out)). */
function adaptiveSpan(o: number, out: number, size: number): [number, number] {
  return [Math.floor((o * size) / out), Math.ceil(((o + 1) * size) / out)];
}

export function adaptiveAvgPool2d(
  x: Float32Array,
  NC: number,
  H: number,
  W: number,
  Ho: number,
  Wo: number,
  y: Float32Array,
): void {
  for (let p = 0; p < NC; p++)
    for (let oh = 0; oh < Ho; oh++) {
      const [h0, h1] = adaptiveSpan(oh, Ho, H);
      for (let ow = 0; ow < Wo; ow++) {
        const [w0, w1] = adaptiveSpan(ow, Wo, W);
        if (h0 === h1 || w0 === w1) {
          y[(p * Ho + oh) * Wo + ow] = Number.NaN; // an empty input: 0 / 0, without looping over the other axis
          continue;
        }
        let s = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += x[(p * H + h) * W + w];
        y[(p * Ho + oh) * Wo + ow] = s / ((h1 - h0) * (w1 - w0));
      }
    }
}

export function adaptiveAvgPool2dBackward(
  dy: Float32Array,
  NC: number,
  H: number,
  W: number,
  Ho: number,
  Wo: number,
  accumulate: boolean,
  dx: Float32Array,
): void {
  const n = NC * H * W;
  const s = scratch(n);
  for (let p = 0; p < NC; p++)
    for (let oh = 0; oh < Ho; oh++) {
      const [h0, h1] = adaptiveSpan(oh, Ho, H);
      for (let ow = 0; ow < Wo; ow++) {
        const [w0, w1] = adaptiveSpan(ow, Wo, W);
        if (h0 === h1 || w0 === w1) continue; // no input element to receive it
        const g = dy[(p * Ho + oh) * Wo + ow] / ((h1 - h0) * (w1 - w0));
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s[(p * H + h) * W + w] += g;
      }
    }
  for (let i = 0; i < n; i++) dx[i] = accumulate ? dx[i] + s[i] : s[i];
}
