// The TS specification of the layer kernels: layer normalisation and embedding (their native twins
// are native/kernels/layernorm.cc and embedding.cc).
//
// Dimensions: layerNorm's x, y, dy, dx are N rows of D; mean and rstd have N entries, weight,
// bias, dweight, dbias D. embedding's weight and dweight are V x D (V rows, one per index),
// indices has N entries, y and dy are N x D.
//
// The numbers are defined exactly, so that the native kernels can give the same bits: a row's
// sums run in doubles over four interleaved lanes (element d goes to lane d % 4) that are then
// added as (l0 + l1) + (l2 + l3), the order a 4-wide SIMD loop has; mean and rstd are rounded to
// float32 once and those float values are what both forward and backward use; every output is
// computed in doubles and rounded once. The column sums of dweight and dbias run over n
// ascending in doubles, and the embedding's scatter-add adds in float32, n ascending: orders that
// do not depend on how the rows are split among threads.

const f = Math.fround;

// The lane sums of one row, reused between calls.
const lanes = new Float64Array(8);

/** sum_d v(d) over d in [0, D) in the four-lane order described above. */
function laneSum(D: number, v: (d: number) => number): number {
  lanes.fill(0, 0, 4);
  for (let d = 0; d < D; d++) lanes[d & 3] += v(d);
  return lanes[0] + lanes[1] + (lanes[2] + lanes[3]);
}

export function layerNorm(
  x: Float32Array,
  weight: Float32Array | null,
  bias: Float32Array | null,
  N: number,
  D: number,
  eps: number,
  _affine: boolean,
  _hasBias: boolean,
  y: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * D;
    const mu = f(laneSum(D, (d) => x[o + d]) / D);
    const variance = laneSum(D, (d) => (x[o + d] - mu) * (x[o + d] - mu)) / D;
    const r = f(1 / Math.sqrt(variance + eps));
    mean[n] = mu;
    rstd[n] = r;
    for (let d = 0; d < D; d++) {
      let v = (x[o + d] - mu) * r;
      if (weight !== null) v *= weight[d];
      if (bias !== null) v += bias[d];
      y[o + d] = v;
    }
  }
}

export function layerNormBackward(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  weight: Float32Array | null,
  N: number,
  D: number,
  _affine: boolean,
  _hasBias: boolean,
  dx: Float32Array,
  dweight: Float32Array | null,
  dbias: Float32Array | null,
  accumulate: boolean,
): void {
  // The parameter gradients first: dx may be dy itself and is written below.
  for (let d = 0; d < D; d++) {
    let sw = dweight !== null && accumulate ? dweight[d] : 0;
    let sb = dbias !== null && accumulate ? dbias[d] : 0;
    for (let n = 0; n < N; n++) {
      const g = dy[n * D + d];
      sw += g * ((x[n * D + d] - mean[n]) * rstd[n]);
      sb += g;
    }
    if (dweight !== null) dweight[d] = sw;
    if (dbias !== null) dbias[d] = sb;
  }
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight: PyTorch's formula.
  const w = weight;
  for (let n = 0; n < N; n++) {
    const o = n * D;
    const mu = mean[n],
      r = rstd[n];
    const g = w === null ? (d: number) => dy[o + d] : (d: number) => dy[o + d] * w[d];
    const a = laneSum(D, g) / D;
    const b = laneSum(D, (d) => g(d) * ((x[o + d] - mu) * r)) / D;
    for (let d = 0; d < D; d++) dx[o + d] = r * (g(d) - a - (x[o + d] - mu) * r * b);
  }
}

export function embedding(
  weight: Float32Array,
  indices: Int32Array,
  N: number,
  _V: number,
  D: number,
  y: Float32Array,
): void {
  for (let n = 0; n < N; n++) {
    const src = indices[n] * D;
    for (let d = 0; d < D; d++) y[n * D + d] = weight[src + d];
  }
}

export function embeddingBackward(
  dy: Float32Array,
  indices: Int32Array,
  N: number,
  V: number,
  D: number,
  paddingIdx: number,
  dweight: Float32Array,
  accumulate: boolean,
): void {
  if (!accumulate) dweight.fill(0, 0, V * D);
  for (let n = 0; n < N; n++) {
    const i = indices[n];
    if (i === paddingIdx) continue;
    for (let d = 0; d < D; d++) dweight[i * D + d] = f(dweight[i * D + d] + dy[n * D + d]);
  }
}
