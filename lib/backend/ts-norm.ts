// Batch normalisation kernels of the TS backend: the living spec of native/kernels/batchnorm.cc.
//
// Dimensions: x, y, dy, dx are [N, C, L] row-major (L = 1 for [N, C] input, H*W for images);
// weight, bias, running and saved statistics, dweight, dbias have C entries. M = N * L values
// share a channel.
//
// Every sum over a channel runs in double in one fixed order, which the native kernel follows
// too, so both backends give the same bits: rows (n, c) in n ascending; within a row, four
// lanes (element l goes to lane l % 4) over the first L - L % 4 elements, combined as
// (lane0 + lane1) + (lane2 + lane3), then the tail in order. The lanes are what lets the native
// loop vectorise. Elementwise results are computed in double from float32 inputs and rounded
// once. The saved mean and invstd are the float32 values, and the forward normalises with
// those same rounded values, so the backward sees exactly the statistics the forward used.

const f = Math.fround;

// Sum of row[o .. o + L) in the lane order above.
function rowSum(x: Float32Array, o: number, L: number): number {
  const L4 = L - (L % 4);
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let l = 0; l < L4; l += 4) {
    a0 += x[o + l];
    a1 += x[o + l + 1];
    a2 += x[o + l + 2];
    a3 += x[o + l + 3];
  }
  let s = a0 + a1 + (a2 + a3);
  for (let l = L4; l < L; l++) s += x[o + l];
  return s;
}

// Sum of (x - m) * w over a row, w = x itself (squares) when wt is null, in the lane order above.
function rowDot(x: Float32Array, wt: Float32Array | null, o: number, L: number, m: number): number {
  const w = wt ?? x;
  const L4 = L - (L % 4);
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let l = 0; l < L4; l += 4) {
    a0 += (x[o + l] - m) * (wt === null ? x[o + l] - m : w[o + l]);
    a1 += (x[o + l + 1] - m) * (wt === null ? x[o + l + 1] - m : w[o + l + 1]);
    a2 += (x[o + l + 2] - m) * (wt === null ? x[o + l + 2] - m : w[o + l + 2]);
    a3 += (x[o + l + 3] - m) * (wt === null ? x[o + l + 3] - m : w[o + l + 3]);
  }
  let s = a0 + a1 + (a2 + a3);
  for (let l = L4; l < L; l++) s += (x[o + l] - m) * (wt === null ? x[o + l] - m : w[o + l]);
  return s;
}

// y[n, c, :] = x[n, c, :] * a + b for every n (a, b doubles); y may be x.
function affineChannel(
  x: Float32Array,
  y: Float32Array,
  c: number,
  N: number,
  C: number,
  L: number,
  a: number,
  b: number,
) {
  for (let n = 0; n < N; n++) {
    const o = (n * C + c) * L;
    for (let l = 0; l < L; l++) y[o + l] = x[o + l] * a + b;
  }
}

export function batchNormTrain(
  x: Float32Array,
  weight: Float32Array | null,
  bias: Float32Array | null,
  runningMean: Float32Array | null,
  runningVar: Float32Array | null,
  N: number,
  C: number,
  L: number,
  momentum: number,
  eps: number,
  affine: boolean,
  trackRunningStats: boolean,
  y: Float32Array,
  saveMean: Float32Array,
  saveInvstd: Float32Array,
): void {
  const M = N * L;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += rowSum(x, (n * C + c) * L, L);
    const mean = f(s / M);
    // two passes (the squares of deviations from the mean), so no cancellation for large means
    let q = 0;
    for (let n = 0; n < N; n++) q += rowDot(x, null, (n * C + c) * L, L, mean);
    const invstd = f(1 / Math.sqrt(q / M + eps));
    saveMean[c] = mean;
    saveInvstd[c] = invstd;
    if (trackRunningStats) {
      // PyTorch moves the running variance with the unbiased estimate
      runningMean![c] = (1 - momentum) * runningMean![c] + momentum * mean;
      runningVar![c] = (1 - momentum) * runningVar![c] + (momentum * q) / (M - 1);
    }
    const a = affine ? invstd * weight![c] : invstd;
    const b = affine ? bias![c] - mean * a : -mean * a;
    affineChannel(x, y, c, N, C, L, a, b);
  }
}

export function batchNormEval(
  x: Float32Array,
  runningMean: Float32Array,
  runningVar: Float32Array,
  weight: Float32Array | null,
  bias: Float32Array | null,
  N: number,
  C: number,
  L: number,
  eps: number,
  affine: boolean,
  y: Float32Array,
  saveInvstd: Float32Array,
): void {
  for (let c = 0; c < C; c++) {
    const invstd = f(1 / Math.sqrt(runningVar[c] + eps));
    saveInvstd[c] = invstd;
    const a = affine ? invstd * weight![c] : invstd;
    const b = affine ? bias![c] - runningMean[c] * a : -runningMean[c] * a;
    affineChannel(x, y, c, N, C, L, a, b);
  }
}

export function batchNormBackward(
  dy: Float32Array,
  x: Float32Array,
  weight: Float32Array | null,
  mean: Float32Array,
  invstd: Float32Array,
  N: number,
  C: number,
  L: number,
  affine: boolean,
  training: boolean,
  dx: Float32Array,
  dweight: Float32Array | null,
  dbias: Float32Array | null,
): void {
  const M = N * L;
  for (let c = 0; c < C; c++) {
    const m = mean[c];
    const is = invstd[c];
    let sdy = 0;
    let dot = 0;
    if (training || affine) {
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * L;
        sdy += rowSum(dy, o, L);
        dot += rowDot(x, dy, o, L, m);
      }
    }
    if (affine) {
      dweight![c] = dot * is;
      dbias![c] = sdy;
    }
    const ws = affine ? is * weight![c] : is;
    if (!training) {
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * L;
        for (let l = 0; l < L; l++) dx[o + l] = dy[o + l] * ws;
      }
      continue;
    }
    // the batch statistics depend on x: remove the mean of dy and the part along xhat
    const mdy = sdy / M;
    const k = (dot * is * is) / M;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * L;
      for (let l = 0; l < L; l++) dx[o + l] = (dy[o + l] - mdy - (x[o + l] - m) * k) * ws;
    }
  }
}
