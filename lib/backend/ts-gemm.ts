// GEMM for the TypeScript backend, the BLIS way: cache blocking, packed panels, one register-
// blocked micro-kernel.
//
// Dimensions: C is M x N, op(A) is M x K, op(B) is K x N; row-major and contiguous, so
//   lda = transA ? M : K,  ldb = transB ? K : N,  ldc = N.
// Blocking: jc over NC columns, pc over K in equal blocks of <= KC, ic over MC rows, jr over
// NR columns, ir over MR rows, then the MR x NR micro-kernel on packed panels.
//
// Why these choices (measured with Node 20 / V8 on a Zen x86-64; see bench/kernels.mjs):
// - The micro-kernel keeps its MR x NR = 16 sums in locals; V8 keeps them in (double)
//   registers. 4 x 4 ran as fast as 4 x 8 or 8 x 4 on square shapes (~5 GFLOPS) and wastes less
//   on narrow edges (N = 10: 12 columns computed, not 16).
// - Packing puts both operands of the inner loop in sequential order (op(A) as MR-row
//   micro-panels, op(B) as NR-column micro-panels, zero-padded), so transposes cost nothing in
//   the inner loop and edge tiles run the same code.
// - Sums run in JS doubles: within a k-block the result is more accurate than float32 math.
//   Between k-blocks the partial result is stored in C (float32), as BLIS and the native
//   kernels do.
//
// Determinism: the blocking depends only on M, N, K, so the same inputs give the same bits.

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 2048;

// Scratch reused across calls (JS runs one call at a time per thread; each worker has its own
// module instance). packB grows with the widest column block seen, packA is fixed.
const packA = new Float32Array(MC * KC);
let packB: Float32Array = new Float32Array(KC * 64);
const tile = new Float64Array(MR * NR);

/**
 * C = alpha * op(A) * op(B) + beta * C (see types.ts). Arguments are assumed validated.
 * alpha and beta are used as float32 values, as the native kernels do. With beta = 0, C is not
 * read; with K = 0 or alpha = 0, A and B are not read (BLAS convention).
 */
export function gemmTs(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  alpha: number, A: Float32Array, B: Float32Array, beta: number, C: Float32Array,
): void {
  if (M === 0 || N === 0) return;
  alpha = Math.fround(alpha);
  beta = Math.fround(beta);
  if (K === 0 || alpha === 0) {
    scaleC(C, M * N, beta);
    return;
  }
  // Equal k-blocks, so no tiny last block.
  const kblocks = Math.ceil(K / KC);
  const kcs = Math.ceil(K / kblocks);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += kcs) {
      const kc = Math.min(kcs, K - pc);
      const betaEff = pc === 0 ? beta : 1;
      packB = packPanelsB(packB, transB, B, N, K, pc, kc, jc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packBlockA(packA, transA, A, M, K, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, packA, ir * kc, packB, jr * kc, C, (ic + ir) * N + jc + jr, N, alpha, betaEff,
              Math.min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}

// C = beta * C over n elements; beta = 0 writes zeros (C may hold NaN).
function scaleC(C: Float32Array, n: number, beta: number): void {
  if (beta === 0) C.fill(0, 0, n);
  else if (beta !== 1) for (let i = 0; i < n; i++) C[i] = beta * C[i];
}

// Packs op(B)[pc .. pc+kc, jc .. jc+nc] as ceil(nc / NR) micro-panels of kc x NR (row k of a
// panel is NR consecutive values), zero-padding the last panel. Returns the (maybe grown) buffer.
function packPanelsB(
  pb: Float32Array, transB: boolean, B: Float32Array, N: number, K: number,
  pc: number, kc: number, jc: number, nc: number,
): Float32Array {
  const need = Math.ceil(nc / NR) * NR * kc;
  if (pb.length < need) pb = new Float32Array(Math.max(need, 2 * pb.length));
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const o = jr * kc;
    const j0 = jc + jr;
    if (!transB) {
      // op(B)(k, j) = B[k * N + j]: a panel row is a contiguous slice of a row of B.
      for (let p = 0, q = o, r = pc * N + j0; p < kc; p++, q += NR, r += N) {
        for (let j = 0; j < nr; j++) pb[q + j] = B[r + j];
        for (let j = nr; j < NR; j++) pb[q + j] = 0;
      }
    } else {
      // op(B)(k, j) = B[j * K + k]: read each stored row contiguously, write with stride NR.
      for (let j = 0; j < NR; j++) {
        if (j < nr) {
          const r = (j0 + j) * K + pc;
          for (let p = 0; p < kc; p++) pb[o + p * NR + j] = B[r + p];
        } else {
          for (let p = 0; p < kc; p++) pb[o + p * NR + j] = 0;
        }
      }
    }
  }
  return pb;
}

// Packs op(A)[ic .. ic+mc, pc .. pc+kc] as ceil(mc / MR) micro-panels of MR x kc, stored
// k-major (the MR values of one k are consecutive), zero-padding the last panel.
function packBlockA(
  pa: Float32Array, transA: boolean, A: Float32Array, M: number, K: number,
  ic: number, mc: number, pc: number, kc: number,
): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    const o = ir * kc;
    const i0 = ic + ir;
    if (transA) {
      // op(A)(i, k) = A[k * M + i]: the MR values of one k are contiguous in A.
      for (let p = 0, q = o, r = pc * M + i0; p < kc; p++, q += MR, r += M) {
        for (let i = 0; i < mr; i++) pa[q + i] = A[r + i];
        for (let i = mr; i < MR; i++) pa[q + i] = 0;
      }
    } else {
      // op(A)(i, k) = A[i * K + k]: read each row contiguously, write with stride MR.
      for (let i = 0; i < MR; i++) {
        if (i < mr) {
          const r = (i0 + i) * K + pc;
          for (let p = 0; p < kc; p++) pa[o + p * MR + i] = A[r + p];
        } else {
          for (let p = 0; p < kc; p++) pa[o + p * MR + i] = 0;
        }
      }
    }
  }
}

// The MR x NR micro-kernel: C[ci.., MR x NR tile] = alpha * (panelA . panelB) + beta * C, the
// k-sum in double. Only the top-left mr x nr of the tile is written (edge tiles); C is not read
// when beta = 0. Fully unrolled: the 16 sums stay in registers.
function micro(
  kc: number, pa: Float32Array, ia: number, pb: Float32Array, ib: number, C: Float32Array, ci: number,
  ldc: number, alpha: number, beta: number, mr: number, nr: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++, ia += MR, ib += NR) {
    const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
    let b = pb[ib];
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
    b = pb[ib + 1];
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
    b = pb[ib + 2];
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
    b = pb[ib + 3];
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
  }
  if (mr === MR && nr === NR) {
    if (beta === 0) {
      C[ci] = alpha * c00; C[ci + 1] = alpha * c01; C[ci + 2] = alpha * c02; C[ci + 3] = alpha * c03;
      ci += ldc;
      C[ci] = alpha * c10; C[ci + 1] = alpha * c11; C[ci + 2] = alpha * c12; C[ci + 3] = alpha * c13;
      ci += ldc;
      C[ci] = alpha * c20; C[ci + 1] = alpha * c21; C[ci + 2] = alpha * c22; C[ci + 3] = alpha * c23;
      ci += ldc;
      C[ci] = alpha * c30; C[ci + 1] = alpha * c31; C[ci + 2] = alpha * c32; C[ci + 3] = alpha * c33;
    } else {
      C[ci] = alpha * c00 + beta * C[ci];
      C[ci + 1] = alpha * c01 + beta * C[ci + 1];
      C[ci + 2] = alpha * c02 + beta * C[ci + 2];
      C[ci + 3] = alpha * c03 + beta * C[ci + 3];
      ci += ldc;
      C[ci] = alpha * c10 + beta * C[ci];
      C[ci + 1] = alpha * c11 + beta * C[ci + 1];
      C[ci + 2] = alpha * c12 + beta * C[ci + 2];
      C[ci + 3] = alpha * c13 + beta * C[ci + 3];
      ci += ldc;
      C[ci] = alpha * c20 + beta * C[ci];
      C[ci + 1] = alpha * c21 + beta * C[ci + 1];
      C[ci + 2] = alpha * c22 + beta * C[ci + 2];
      C[ci + 3] = alpha * c23 + beta * C[ci + 3];
      ci += ldc;
      C[ci] = alpha * c30 + beta * C[ci];
      C[ci + 1] = alpha * c31 + beta * C[ci + 1];
      C[ci + 2] = alpha * c32 + beta * C[ci + 2];
      C[ci + 3] = alpha * c33 + beta * C[ci + 3];
    }
    return;
  }
  // Edge tile: park the sums, write the part inside C.
  const t = tile;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let i = 0; i < mr; i++, ci += ldc) {
    for (let j = 0; j < nr; j++) {
      const v = alpha * t[i * NR + j];
      C[ci + j] = beta === 0 ? v : v + beta * C[ci + j];
    }
  }
}
